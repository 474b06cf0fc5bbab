// amlfs mds status|digest [PATH]: the replicas of a replicated metadata
// server, asked one by one (followers answer too). amlfs mds add ID=HOST:PORT
// and amlfs mds remove ID: a membership change, one replica at a time, sent
// to the serving leader.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "common/config.h"
#include "common/net/rpc_client.h"
#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::mds_admin {

namespace {

constexpr auto kAskTimeout = std::chrono::seconds(3);

struct Options {
  std::string path;
  std::string mds;  // comma-separated addresses; overrides the mount's
  double wait = 10;
  std::string member;  // add: ID=HOST:PORT; remove: ID
};

struct Replica {
  uint32_t id = 0;
  std::string address;
  std::unique_ptr<RpcClient> rpc;
};

// One RPC client per replica: the addresses given (or the mount's), and
// every member the first replica that answers names.
class Replicas {
 public:
  explicit Replicas(std::vector<std::string> addresses) : net_(1) {
    for (auto& a : addresses) Add(0, a);
  }

  // Asks every known replica for its status, learning members on the way.
  std::map<std::string, Result<MdsStatusRsp>> Status() {
    std::map<std::string, Result<MdsStatusRsp>> out;
    for (size_t i = 0; i < list_.size(); ++i) {  // grows as members are learned
      auto r = list_[i].rpc->Call(MdsStatusReq{}, kAskTimeout);
      if (r.ok()) {
        list_[i].id = r->id;
        for (const MdsMember& m : r->members) Add(m.id, m.address);
      }
      out.emplace(list_[i].address, std::move(r));
    }
    return out;
  }
  Result<MdsDigestRsp> Digest(const std::string& address) {
    for (auto& r : list_)
      if (r.address == address) return r.rpc->Call(MdsDigestReq{}, std::chrono::seconds(60));
    return Error(Code::kNotFound, address + " is not a known replica");
  }
  // Asks the replica that serves (the leader) to change the membership.
  Result<EmptyRsp> ChangeMembers(const MdsMembersReq& req) {
    auto st = Status();
    for (auto& r : list_) {
      auto it = st.find(r.address);
      if (it == st.end() || !it->second.ok() || !it->second->serving) continue;
      if (!it->second->replicated)
        return Error(Code::kNotSupported, r.address + " is a lone MDS, not replicated");
      return r.rpc->Call(req, std::chrono::seconds(30));
    }
    return Error(Code::kUnavailable, "no replica serves: no leader is elected");
  }
  const std::vector<Replica>& list() const { return list_; }

 private:
  void Add(uint32_t id, const std::string& address) {
    for (auto& r : list_)
      if (r.address == address) {
        if (id) r.id = id;
        return;
      }
    RpcClient::Options o;
    o.role = "client";
    o.name = "amlfs-mds";
    o.connect_timeout = kAskTimeout;
    o.fail_fast = true;
    list_.push_back(Replica{id, address, std::make_unique<RpcClient>(net_, address, o)});
  }

  NetContext net_;
  std::vector<Replica> list_;
};

Result<std::vector<std::string>> AddressesOf(const Options& o) {
  if (!o.mds.empty()) {
    auto list = Split(o.mds, ',');
    for (const auto& a : list) AMLFS_RETURN_IF_ERROR(ParseHostPort(a).status());
    return list;
  }
  if (!o.path.empty()) {
    AMLFS_ASSIGN_OR_RETURN(Mount m, MountOf(o.path));
    AMLFS_RETURN_IF_ERROR(UseMountKey(m));
    return m.mds;
  }
  auto all = AllMounts();
  if (all.empty())
    return Error(Code::kInvalid, "no amlfs file system is mounted (give a PATH or --mds)");
  AMLFS_RETURN_IF_ERROR(UseMountKey(all.front()));
  return all.front().mds;
}

std::string Num(uint64_t v) { return std::to_string(v); }

int RunStatus(const Options& o) {
  auto addrs = AddressesOf(o);
  if (!addrs.ok()) return Fail("mds status", addrs.status().message(), 2);
  Replicas reps(*addrs);
  auto st = reps.Status();
  // The commit index the leader reports, else the highest anyone reports:
  // a replica's lag is how far its applied index trails it.
  uint64_t commit = 0;
  const MdsStatusRsp* leader = nullptr;
  for (auto& [a, r] : st) {
    if (!r.ok()) continue;
    if (r->serving) leader = &*r;
    commit = std::max(commit, r->commit);
  }
  if (leader) commit = leader->commit;
  std::printf("%-3s %-22s %-13s %6s %10s %10s %10s %10s %8s %s\n", "ID", "ADDRESS", "ROLE", "TERM",
              "FIRST", "COMMIT", "APPLIED", "LAST", "LAG", "SERVING");
  for (const auto& rep : reps.list()) {
    const auto& r = st.at(rep.address);
    std::string id = rep.id ? Num(rep.id) : "?";
    if (!r.ok()) {
      std::printf("%-3s %-22s %-13s %6s %10s %10s %10s %10s %8s unreachable: %s\n", id.c_str(),
                  rep.address.c_str(), "-", "-", "-", "-", "-", "-", "-",
                  r.status().message().c_str());
      continue;
    }
    std::string role = r->replicated ? r->role : "alone";
    uint64_t lag = commit > r->applied ? commit - r->applied : 0;
    std::printf("%-3s %-22s %-13s %6s %10s %10s %10s %10s %8s %s\n", id.c_str(),
                rep.address.c_str(), role.c_str(), Num(r->term).c_str(), Num(r->first).c_str(),
                Num(r->commit).c_str(), Num(r->applied).c_str(), Num(r->last).c_str(),
                Num(lag).c_str(), r->serving ? "yes" : "no");
  }
  std::fflush(stdout);
  if (!leader) return Fail("mds status", "no replica serves: no leader is elected", 1);
  return 0;
}

// Asks every replica for its digest until all report the same applied
// index (writes in flight move it), then compares them.
int RunDigest(const Options& o) {
  auto addrs = AddressesOf(o);
  if (!addrs.ok()) return Fail("mds digest", addrs.status().message(), 2);
  Replicas reps(*addrs);
  reps.Status();  // learn every member
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(o.wait * 1000));
  std::map<std::string, Result<MdsDigestRsp>> got;
  for (;;) {
    got.clear();
    bool same_index = true;
    std::optional<uint64_t> index;
    for (const auto& rep : reps.list()) {
      auto d = reps.Digest(rep.address);
      if (d.ok()) {
        if (index && *index != d->applied) same_index = false;
        index = d->applied;
      }
      got.emplace(rep.address, std::move(d));
    }
    if (same_index || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  int bad = 0;
  std::string first;
  uint64_t first_index = 0;
  bool indexes_differ = false;
  for (const auto& rep : reps.list()) {
    const auto& d = got.at(rep.address);
    std::string id = rep.id ? Num(rep.id) : "?";
    if (!d.ok()) {
      std::printf("%-3s %-22s unreachable: %s\n", id.c_str(), rep.address.c_str(),
                  d.status().message().c_str());
      ++bad;
      continue;
    }
    std::printf("%-3s %-22s applied %-10s keys %-10s digest %s\n", id.c_str(), rep.address.c_str(),
                Num(d->applied).c_str(), Num(d->keys).c_str(), d->digest.c_str());
    if (first.empty()) {
      first = d->digest;
      first_index = d->applied;
    } else if (d->applied != first_index) {
      indexes_differ = true;
    } else if (d->digest != first) {
      ++bad;
    }
  }
  std::fflush(stdout);
  if (indexes_differ)
    return Fail("mds digest", "the replicas stayed at different log indexes for " +
                                  Num(static_cast<uint64_t>(o.wait)) +
                                  " s (writes in flight); not compared");
  if (bad) return Fail("mds digest", "the replicas' namespaces differ or a replica is unreachable");
  std::printf("identical: %zu replicas at log index %s\n", reps.list().size(),
              Num(first_index).c_str());
  return 0;
}

// "4" -> 4; IDs run from 1 to 255, like the MDS's --peers.
Result<uint32_t> ParseId(const std::string& s) {
  uint32_t id = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || id > 255) return Error(Code::kInvalid, "'" + s + "' is not an ID");
    id = id * 10 + static_cast<uint32_t>(c - '0');
  }
  if (s.empty() || id == 0 || id > 255)
    return Error(Code::kInvalid, "'" + s + "' is not an ID from 1 to 255");
  return id;
}

int RunChange(const Options& o, bool add) {
  const char* what = add ? "mds add" : "mds remove";
  MdsMembersReq req;
  if (add) {
    const size_t eq = o.member.find('=');
    auto id = ParseId(o.member.substr(0, eq));
    if (eq == std::string::npos || !id.ok())
      return Fail(what, "'" + o.member + "' is not ID=HOST:PORT", 2);
    req.id = *id;
    req.address = o.member.substr(eq + 1);
    if (auto hp = ParseHostPort(req.address); !hp.ok())
      return Fail(what, "'" + o.member + "': " + hp.status().message(), 2);
  } else {
    auto id = ParseId(o.member);
    if (!id.ok()) return Fail(what, id.status().message(), 2);
    req.id = *id;
  }
  auto addrs = AddressesOf(o);
  if (!addrs.ok()) return Fail(what, addrs.status().message(), 2);
  Replicas reps(*addrs);
  auto r = reps.ChangeMembers(req);
  if (!r.ok()) return Fail(what, r.status().message(), 1);
  if (add)
    std::printf("replica %u added at %s\n", req.id, req.address.c_str());
  else
    std::printf("replica %u removed\n", req.id);
  std::fflush(stdout);
  return 0;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto* mds = app.add_subcommand("mds", "The metadata server's replicas");
  mds->require_subcommand(1);
  auto opt = std::make_shared<Options>();
  auto common = [opt](CLI::App* sub) {
    sub->add_option("path", opt->path,
                    "A path on the file system (default: the first amlfs mount)");
    sub->add_option("--mds", opt->mds, "Ask these replicas instead: HOST:PORT,...");
  };
  auto* status = mds->add_subcommand(
      "status", "Each replica's role, term, commit and applied log index, and how far it trails");
  common(status);
  status->callback([opt, rc] { *rc = RunStatus(*opt); });
  auto* digest = mds->add_subcommand(
      "digest", "Compare digests of the replicas' namespaces (identical when in step)");
  common(digest);
  digest
      ->add_option("--wait", opt->wait,
                   "Seconds to wait for the replicas to reach the same log index")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  digest->callback([opt, rc] { *rc = RunDigest(*opt); });
  auto* add = mds->add_subcommand(
      "add", "Add a replica to the configuration (start it first, with an empty data directory)");
  add->add_option("member", opt->member, "ID=HOST:PORT of the new replica")->required();
  common(add);
  add->callback([opt, rc] { *rc = RunChange(*opt, true); });
  auto* remove = mds->add_subcommand("remove", "Remove a replica from the configuration");
  remove->add_option("id", opt->member, "ID of the replica")->required();
  common(remove);
  remove->callback([opt, rc] { *rc = RunChange(*opt, false); });
}

}  // namespace amlfs::tools::mds_admin
