#include "server/mds/raft/replica.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/net/net_context.h"
#include "common/net/rpc_client.h"
#include "server/mds/raft/log_store.h"

namespace amlfs::raft {

namespace asio = boost::asio;

// Posted handlers and the timer hold a plain Impl*: the Replica owns the
// Impl, and Stop() joins the thread before anything is destroyed (handlers
// still queued then are destroyed without running).
struct Replica::Impl {
  Options opt;
  Apply apply;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Node> node;
  asio::io_context io;
  asio::steady_timer timer{io};
  std::thread thread;
  std::unique_ptr<NetContext> net;
  std::map<NodeId, std::unique_ptr<RpcClient>> peers;
  struct Pending {
    Term term;
    Done done;
  };
  std::map<Index, Pending> proposals;  // by log index
  std::map<uint64_t, std::function<void(Status)>> barriers;
  struct Barrier {
    Index index;
    std::function<void(Status)> done;
  };
  std::vector<Barrier> confirmed;  // waiting for apply to reach index
  uint64_t next_ctx = 1;
  // When each heartbeat round began (a leader's, this term): the lease runs
  // from the start of the latest round a majority answered.
  std::map<uint64_t, std::chrono::steady_clock::time_point> round_started;
  Status failed;  // a disk error: the replica stops taking part
  bool leading = false;  // led at the end of the last Process

  mutable std::mutex info_mu;
  Info snapshot;
  bool running = false;

  std::string AddressOf(NodeId id) const {
    auto it = opt.members.find(id);
    return it == opt.members.end() ? std::string() : it->second;
  }

  Status NotLeader() const {
    const NodeId l = node->leader();
    if (l != 0 && l != opt.id) return Error(Code::kUnavailable, "not the leader; try " + AddressOf(l));
    return Error(Code::kUnavailable, "no leader known");
  }

  void Arm() {
    timer.expires_after(opt.tick);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      node->Tick();
      Process();
      Arm();
    });
  }

  // Carries out every Ready: durable first, then messages, then apply.
  void Process() {
    // Rounds start in Tick, ReadIndex or an election, always just before a
    // Process that sends their messages: stamped no later than they leave.
    if (node->role() == Role::kLeader &&
        (round_started.empty() || round_started.rbegin()->first < node->round()))
      round_started[node->round()] = std::chrono::steady_clock::now();
    while (failed.ok() && node->HasReady()) {
      const bool was_leader = node->role() == Role::kLeader;
      Ready r = node->TakeReady();
      // A leader's appends may leave while it writes them itself (it counts
      // its own copy only once Advance says it is durable); anything that
      // stands for this replica's state (a vote, an acknowledgement) waits.
      const bool send_first = node->role() == Role::kLeader && !r.hard_state && !r.truncate_from;
      if (send_first)
        for (Message& m : r.messages) Send(std::move(m));
      Status st = Persist(r);
      if (!st.ok()) {
        failed = st;
        AMLFS_LOG(kError) << "raft " << opt.id << ": " << st.ToString()
                          << "; this replica stops taking part";
        FailAll(st);
        return;
      }
      if (!send_first)
        for (Message& m : r.messages) Send(std::move(m));
      for (const Entry& e : r.committed) Applied(e);
      for (const ReadState& rs : r.reads) Confirmed(rs);
      node->Advance(r);
      if (was_leader && node->role() != Role::kLeader) FailAll(NotLeader());
    }
    // Leadership also ends in a Tick (check-quorum) or a Step, outside any
    // Ready: what it had proposed fails now, not at its callers' deadlines.
    if (leading && node->role() != Role::kLeader) FailAll(NotLeader());
    leading = node->role() == Role::kLeader;
    ServeBarriers();
    const auto lease = LeaseUntil();
    std::lock_guard lk(info_mu);
    snapshot = Info{opt.id,         node->role(),   node->term(),       node->leader(),
                    AddressOf(node->leader()), node->commit(), node->applied(), node->last_index(),
                    node->role() == Role::kLeader && node->term_at(node->applied()) == node->term(),
                    lease};
  }

  // A follower holds its vote for election_ticks of its ticks after hearing
  // from the leader; the first of them may come at once, and a timer never
  // fires early, so (election_ticks - 1) ticks of real time have passed
  // before it votes. 10% of that is left for clocks running at different rates.
  std::chrono::steady_clock::time_point LeaseUntil() {
    const uint64_t q = node->QuorumRound();
    if (q == 0) {
      round_started.clear();
      return {};
    }
    auto it = round_started.upper_bound(q);
    if (it == round_started.begin()) return {};  // answered only rounds of an earlier term
    --it;
    round_started.erase(round_started.begin(), it);
    return it->second + opt.tick * (opt.election_ticks - 1) * 9 / 10;
  }

  Status Persist(const Ready& r) {
    if (r.truncate_from) AMLFS_RETURN_IF_ERROR(store->TruncateFrom(r.truncate_from));
    if (!r.entries.empty()) AMLFS_RETURN_IF_ERROR(store->Append(r.entries));
    // The hard state after the entries: a vote is never durable without the
    // log it was given for.
    if (r.hard_state) AMLFS_RETURN_IF_ERROR(store->SaveHardState(*r.hard_state));
    return Status::Ok();
  }

  void Send(Message m) {
    auto it = peers.find(m.to);
    if (it == peers.end()) return;
    // Raft tolerates loss and duplicates: nothing waits for the answer.
    it->second->CallAsync(Opcode::kRaft, Encode(m), opt.tick * opt.election_ticks,
                          [](Result<std::string>) {});
  }

  void Applied(const Entry& e) {
    apply(e);
    auto it = proposals.find(e.index);
    if (it == proposals.end()) return;
    Pending p = std::move(it->second);
    proposals.erase(it);
    if (p.term == e.term)
      p.done(e.index);
    else
      p.done(Error(Code::kUnavailable, "the leadership changed before the entry committed"));
  }

  void Confirmed(const ReadState& rs) {
    auto it = barriers.find(rs.ctx);
    if (it == barriers.end()) return;
    auto done = std::move(it->second);
    barriers.erase(it);
    if (!rs.ok) return done(NotLeader());
    confirmed.push_back(Barrier{rs.index, std::move(done)});
  }

  void ServeBarriers() {
    for (size_t i = 0; i < confirmed.size();) {
      if (confirmed[i].index <= node->applied()) {
        auto done = std::move(confirmed[i].done);
        confirmed.erase(confirmed.begin() + static_cast<std::ptrdiff_t>(i));
        done(Status::Ok());
      } else {
        ++i;
      }
    }
  }

  void FailAll(const Status& st) {
    auto proposals_now = std::move(proposals);
    proposals.clear();
    for (auto& [i, p] : proposals_now) p.done(st);
    auto barriers_now = std::move(barriers);
    barriers.clear();
    for (auto& [c, d] : barriers_now) d(st);
    auto confirmed_now = std::move(confirmed);
    confirmed.clear();
    for (auto& b : confirmed_now) b.done(st);
  }
};

Result<std::unique_ptr<Replica>> Replica::Open(Options o, Index applied, Apply apply) {
  if (o.members.count(o.id) == 0)
    return Error(Code::kInvalid, "replica " + std::to_string(o.id) + " is not among the members");
  AMLFS_ASSIGN_OR_RETURN(auto store, LogStore::Open(o.dir));
  if (store->first_index() > 1)
    return Error(Code::kNotSupported, o.dir + ": compacted logs are not supported yet");
  auto impl = std::make_unique<Impl>();
  std::vector<Entry> log;
  for (Index i = store->first_index(); i <= store->last_index(); ++i) log.push_back(store->at(i));
  Config cfg;
  cfg.id = o.id;
  for (auto& [id, addr] : o.members) cfg.voters.push_back(id);
  cfg.election_ticks = o.election_ticks;
  cfg.heartbeat_ticks = o.heartbeat_ticks;
  cfg.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  impl->node = std::make_unique<Node>(cfg, store->hard_state(), std::move(log), applied);
  impl->store = std::move(store);
  impl->opt = std::move(o);
  impl->apply = std::move(apply);
  impl->net = std::make_unique<NetContext>(1);
  for (auto& [id, addr] : impl->opt.members) {
    if (id == impl->opt.id) continue;
    RpcClient::Options ro;
    ro.role = "mds";
    ro.name = "raft" + std::to_string(impl->opt.id);
    ro.connect_timeout = impl->opt.tick * impl->opt.election_ticks;
    ro.fail_fast = true;  // Raft tolerates loss; a message to a dead member is dropped
    impl->peers[id] = std::make_unique<RpcClient>(*impl->net, addr, ro);
  }
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Replica::~Replica() { Stop(); }

void Replica::Start() {
  if (impl_->running) return;
  impl_->running = true;
  asio::post(impl_->io, [i = impl_.get()] {
    i->Process();
    i->Arm();
  });
  impl_->thread = std::thread([i = impl_.get()] {
    auto guard = asio::make_work_guard(i->io);
    i->io.run();
  });
}

void Replica::Stop() {
  if (!impl_->running) return;
  impl_->running = false;
  asio::post(impl_->io, [i = impl_.get()] {
    i->timer.cancel();
    i->FailAll(Error(Code::kUnavailable, "the metadata replica is stopping"));
    i->io.stop();
  });
  impl_->thread.join();
  impl_->peers.clear();
  impl_->net.reset();
}

void Replica::Propose(std::string data, Done done) {
  asio::post(impl_->io, [i = impl_.get(), data = std::move(data), done = std::move(done)]() mutable {
    if (!i->failed.ok()) return done(i->failed);
    auto idx = i->node->Propose(std::move(data));
    if (!idx.ok()) return done(i->NotLeader());
    i->proposals[*idx] = Impl::Pending{i->node->term(), std::move(done)};
    i->Process();
  });
}

void Replica::ReadBarrier(std::function<void(Status)> done) {
  asio::post(impl_->io, [i = impl_.get(), done = std::move(done)]() mutable {
    if (!i->failed.ok()) return done(i->failed);
    const uint64_t ctx = i->next_ctx++;
    i->barriers[ctx] = std::move(done);
    i->node->ReadIndex(ctx);
    i->Process();
  });
}

void Replica::Receive(std::string body) {
  asio::post(impl_->io, [i = impl_.get(), body = std::move(body)] {
    Message m;
    Status st = Decode(body, &m);
    if (st.ok() && (m.to != i->opt.id || i->opt.members.count(m.from) == 0 || m.from == m.to ||
                    m.type > MsgType::kAppendRsp))
      st = Error(Code::kProtocol, "misaddressed or unknown raft message");
    for (const Entry& e : m.entries)
      if (st.ok() && e.type > EntryType::kConfig) st = Error(Code::kProtocol, "unknown entry type");
    if (!st.ok()) {
      AMLFS_LOG(kWarn) << "raft " << i->opt.id << ": dropped a message: " << st.ToString();
      return;
    }
    if (!i->failed.ok()) return;
    i->node->Step(m);
    i->Process();
  });
}

Replica::Info Replica::info() const {
  std::lock_guard lk(impl_->info_mu);
  return impl_->snapshot;
}

}  // namespace amlfs::raft
