#include "tools/amlfs/cluster_stats.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>

#include "common/codec.h"
#include "common/net/net_context.h"
#include "common/net/rpc_client.h"

namespace amlfs::tools {

namespace {

// The first call, FsInfo, waits this long for a replica that serves (an
// election takes a few seconds).
constexpr std::chrono::seconds kConnectTimeout{5};

bool HasLabels(const metrics::Sample& s, const metrics::Labels& match) {
  for (const auto& [k, v] : match)
    if (s.Label(k) != v) return false;
  return true;
}

// The OSTs the serving MDS lists (amlfs_mds_ost_up{ost}), by name.
std::set<std::string> ListedOsts(const ServerStats& mds) {
  std::set<std::string> out;
  for (const auto& [ost, up] : mds.SumBy("amlfs_mds_ost_up", "ost")) out.insert(ost);
  return out;
}

std::string ErrorText(const Status& st) {
  std::string text = st.message().empty() ? CodeName(st.code()) : st.message();
  if (st.code() != Code::kTimeout) return text;
  return "no answer within " + std::to_string(kStatsTimeout.count()) + " s: " + text;
}

}  // namespace

double ServerStats::Sum(std::string_view name, const metrics::Labels& match) const {
  double sum = 0;
  for (const auto& s : samples)
    if (s.name == name && HasLabels(s, match)) sum += s.value;
  return sum;
}

std::map<std::string, double> ServerStats::SumBy(std::string_view name,
                                                 std::string_view key) const {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    for (const auto& [k, v] : s.labels)
      if (k == key) out[v] += s.value;
  }
  return out;
}

size_t ClusterStats::down() const {
  return static_cast<size_t>(
      std::count_if(servers.begin(), servers.end(), [](const ServerStats& s) { return !s.up; }));
}

const ServerStats* ClusterStats::ServingMds() const {
  for (const auto& s : servers)
    if (s.role == "mds" && s.up && s.Sum("amlfs_mds_serving") > 0) return &s;
  return nullptr;
}

const ServerStats* ClusterStats::Find(std::string_view role, std::string_view address) const {
  for (const auto& s : servers)
    if (s.role == role && s.address == address) return &s;
  return nullptr;
}

Result<Mount> ChooseMount(const std::string& path) {
  if (!path.empty()) return MountOf(path);
  auto all = AllMounts();
  if (all.empty()) return Error(Code::kInvalid, "no amlfs file system is mounted on this node");
  if (all.size() > 1)
    return Error(Code::kInvalid, "several amlfs file systems are mounted: name one");
  return all.front();
}

Result<std::unique_ptr<ClusterScraper>> ClusterScraper::Connect(const Mount& m) {
  std::unique_ptr<ClusterScraper> c(new ClusterScraper());
  auto s = Session::Connect(m, kConnectTimeout);
  if (!s.ok())
    return Error(s.status().code(),
                 "cannot reach the metadata server of " + m.root + ": " + s.status().message());
  c->session_ = std::move(*s);
  c->osts_ = c->session_->info().osts;
  c->map_time_ = std::chrono::steady_clock::now();
  c->net_ = std::make_unique<NetContext>(1);
  return c;
}

ClusterScraper::~ClusterScraper() = default;

// Asks the MDS for the OST map; on failure keeps the one it has (the MDS
// rows say why) and tries again at the next refresh.
void ClusterScraper::RefreshMap() {
  auto done = std::make_shared<std::promise<Result<OstMapRsp>>>();
  auto answer = done->get_future();
  session_->mds().CallAsync(
      OstMapReq{}, session_->creds(),
      [done](Result<OstMapRsp> r) { done->set_value(std::move(r)); }, kStatsTimeout);
  auto map = answer.get();
  if (map.ok()) {
    osts_ = std::move(map->osts);
    std::sort(osts_.begin(), osts_.end(),
              [](const OstInfo& a, const OstInfo& b) { return a.index < b.index; });
  }
  map_time_ = std::chrono::steady_clock::now();
  map_stale_ = false;
}

RpcClient& ClusterScraper::ClientFor(const std::string& address) {
  auto& c = clients_[address];
  if (!c) {
    RpcClient::Options o;
    o.role = "client";
    o.name = "amlfs-stats";
    o.connect_timeout = kStatsTimeout;
    o.fail_fast = true;
    c = std::make_unique<RpcClient>(*net_, address, o);
  }
  return *c;
}

// Sends every server its Stats request at once and waits for every answer
// (each call ends by its deadline).
void ClusterScraper::Gather(std::vector<ServerStats>& servers) {
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
    std::vector<Result<std::string>> answers;
  };
  auto p = std::make_shared<Pending>();
  p->left = servers.size();
  p->answers.assign(servers.size(), Error(Code::kUnavailable, "not asked"));
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kStatsTimeout);
  for (size_t i = 0; i < servers.size(); ++i) {
    ClientFor(servers[i].address)
        .CallAsync(Opcode::kStats, Encode(StatsReq{}), timeout, [p, i](Result<std::string> body) {
          std::lock_guard lk(p->mu);
          p->answers[i] = std::move(body);
          if (--p->left == 0) p->cv.notify_all();
        });
  }
  std::unique_lock lk(p->mu);
  p->cv.wait(lk, [&] { return p->left == 0; });
  for (size_t i = 0; i < servers.size(); ++i) {
    StatsRsp rsp;
    Status st = p->answers[i].ok() ? Decode(*p->answers[i], &rsp) : p->answers[i].status();
    servers[i].up = st.ok();
    if (st.ok())
      servers[i].samples = metrics::ParseText(rsp.text);
    else
      servers[i].error = ErrorText(st);
  }
}

// A replica that answered is named by its metrics' `mds` label; one that
// did not, as it was before, else as the members list of one that did.
void ClusterScraper::NameReplicas(std::vector<ServerStats>& servers) {
  const ServerStats* asked = nullptr;
  for (auto& s : servers) {
    if (s.role != "mds" || !s.up) continue;
    for (const auto& sample : s.samples)
      if (auto id = sample.Label("mds"); !id.empty()) {
        replica_names_[s.address] = s.name = "mds" + id;
        break;
      }
    asked = &s;
  }
  for (auto& s : servers) {
    if (s.role != "mds" || s.up) continue;
    if (!replica_names_.contains(s.address) && asked) {
      if (auto st = ClientFor(asked->address).Call(MdsStatusReq{}, kStatsTimeout); st.ok()) {
        for (const MdsMember& m : st->members)
          replica_names_.try_emplace(m.address, "mds" + std::to_string(m.id));
        replica_names_.try_emplace(s.address, "mds?");  // not a member: not asked again
      }
      asked = nullptr;  // once a scrape
    }
    if (auto it = replica_names_.find(s.address); it != replica_names_.end()) s.name = it->second;
  }
}

ClusterStats ClusterScraper::Scrape() {
  if (map_stale_ || std::chrono::steady_clock::now() - map_time_ >= kMapRefresh) RefreshMap();
  ClusterStats out;
  out.time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  out.when = std::chrono::steady_clock::now();
  out.fs_name = session_->info().fs_name;
  auto add = [&](std::string name, const char* role, const std::string& address) {
    ServerStats& s = out.servers.emplace_back();
    s.name = std::move(name);
    s.role = role;
    s.address = address;
  };
  for (const auto& a : session_->mount().mds) add("mds?", "mds", a);
  for (const auto& o : osts_) add(OstName(o.index), "ost", o.address);
  Gather(out.servers);
  NameReplicas(out.servers);
  if (const ServerStats* mds = out.ServingMds()) {
    std::set<std::string> known;
    for (const auto& o : osts_) known.insert(OstName(o.index));
    map_stale_ = ListedOsts(*mds) != known;
  }
  return out;
}

std::string OstName(OstIndex index) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "OST%04x", index.value());
  return buf;
}

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t i = 0;
  while (bytes >= 1024 && i + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++i;
  }
  char buf[32];
  if (i == 0)
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
  else
    std::snprintf(buf, sizeof(buf), "%.1f %s", bytes, kUnits[i]);
  return buf;
}

}  // namespace amlfs::tools
