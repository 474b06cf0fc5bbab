// raft::Replica's internals, shared by replica.cc (the replica's loop, its
// messages and the public methods) and replica_snapshot.cc (taking,
// sending and installing snapshots). Not for use outside the Replica.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <limits>
#include <mutex>

#include "common/log.h"
#include "common/net/net_context.h"
#include "common/net/rpc_client.h"
#include "server/mds/raft/log_store.h"
#include "server/mds/raft/replica.h"
#include "server/mds/raft/snapshot_transfer.h"

namespace amlfs::raft {

namespace asio = boost::asio;

// Posted handlers, the timer and the RPC callbacks hold a plain Impl*: the
// Replica owns the Impl, and after Stop() (on the replica's thread) every
// handler returns at once; the thread is joined when the Impl is destroyed
// (handlers still queued then are destroyed without running).
struct Replica::Impl {
  Options opt;
  StateMachine sm;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Node> node;
  bool stopped = false;  // set on the thread by Stop(); handlers then do nothing
  bool stop_requested = false;
  // The replica's thread: the one network thread of its connections to the
  // other members. The I/O objects below are destroyed before it.
  std::unique_ptr<NetContext> net;
  asio::io_context* io = nullptr;
  std::unique_ptr<asio::steady_timer> timer;
  std::map<NodeId, std::unique_ptr<RpcClient>> peers;
  // The kRaft requests not answered yet, by sender (the latest only): the
  // next message to the sender rides on the answer (see Send).
  std::map<NodeId, std::function<void(std::string)>> replies;
  std::map<NodeId, std::string> peer_address;  // what each of peers connects to
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
  Status failed;         // a disk error: the replica stops taking part
  bool leading = false;  // led at the end of the last Process
  Term ready_term = 0;   // the last StateMachine::lead call's argument
  bool kicked = false;   // a Process is queued

  std::optional<SnapshotFile> snap;                           // the latest snapshot
  std::map<NodeId, std::unique_ptr<SnapshotSender>> sending;  // leader: transfers under way
  std::map<NodeId, std::string> sending_config;  // the configuration each transfer carries
  std::unique_ptr<SnapshotReceiver> receiving;
  Index save_failed_at = 0;  // a failed save is retried snapshot_entries later

  mutable std::mutex info_mu;
  Info snapshot;
  bool running = false;

  std::string AddressOf(NodeId id) const {
    if (node) {
      auto m = node->members().find(id);
      if (m != node->members().end() && !m->second.empty()) return m->second;
    }
    auto it = opt.members.find(id);
    return it == opt.members.end() ? std::string() : it->second;
  }

  // Messages come from the configuration in use, or from a replica the
  // command line named (the leader that adds this one, before its entry
  // arrives here).
  bool Knows(NodeId id) const {
    return node->members().count(id) != 0 || opt.members.count(id) != 0;
  }

  // One RPC client per other member of the configuration in use (and the
  // leader, if it is none); clients of replicas that left are dropped.
  void SyncPeers() {
    std::map<NodeId, std::string> want;
    for (auto& [id, addr] : node->members())
      if (id != opt.id) want[id] = AddressOf(id);
    const NodeId l = node->leader();
    if (l != 0 && l != opt.id) want[l] = AddressOf(l);
    for (auto it = peers.begin(); it != peers.end();) {
      auto w = want.find(it->first);
      if (w == want.end() || w->second != peer_address[it->first]) {
        peer_address.erase(it->first);
        it = peers.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [id, addr] : want) {
      if (peers.count(id) || addr.empty()) continue;
      RpcClient::Options ro;
      ro.role = "mds";
      ro.name = "raft" + std::to_string(opt.id);
      ro.connect_timeout = opt.tick * opt.election_ticks;
      ro.fail_fast = true;  // Raft tolerates loss; a message to a dead member is dropped
      peers[id] = std::make_unique<RpcClient>(*net, addr, ro);
      peer_address[id] = addr;
    }
  }

  Status NotLeader() const {
    const NodeId l = node->leader();
    if (l != 0 && l != opt.id) return NotLeaderError(AddressOf(l));
    return Error(Code::kUnavailable, "no leader known");
  }

  void Arm() {
    timer->expires_after(opt.tick);
    timer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      node->Tick();
      TickTransfers();
      Process();
      Arm();
    });
  }

  // Runs Process once the handlers already queued have run: the proposals
  // and messages that arrived while the last Ready was being written go
  // out together, in one log write.
  void Kick() {
    if (kicked) return;
    kicked = true;
    asio::post(*io, [this] {
      kicked = false;
      if (!stopped) Process();
    });
  }

  // Carries out every Ready, then answers the requests that got no message
  // back with an empty response.
  void Process() {
    ProcessReadies();
    auto waiting = std::move(replies);
    replies.clear();
    for (auto& [from, reply] : waiting) reply({});
  }

  // Carries out every Ready: durable first, then messages, then apply.
  void ProcessReadies() {
    // Rounds start in Tick, ReadIndex or an election, always just before a
    // Process that sends their messages: stamped no later than they leave.
    if (node->role() == Role::kLeader &&
        (round_started.empty() || round_started.rbegin()->first < node->round()))
      round_started[node->round()] = std::chrono::steady_clock::now();
    while (failed.ok() && node->HasReady()) {
      Ready r = node->TakeReady();
      // A leader's appends may leave while it writes them itself (it counts
      // its own copy only once Advance says it is durable); anything that
      // stands for this replica's state (a vote, an acknowledgement) waits.
      const bool send_first = node->role() == Role::kLeader && !r.hard_state && !r.truncate_from;
      if (send_first)
        for (Message& m : r.messages) Send(std::move(m));
      Status st = r.snapshot ? Install(*r.snapshot) : Status::Ok();
      if (st.ok()) st = Persist(r);
      if (!st.ok()) return Stop(st);
      if (!send_first)
        for (Message& m : r.messages) Send(std::move(m));
      for (NodeId to : r.send_snapshot) StartTransfer(to);
      if (!r.committed.empty()) {
        if (sm.apply_all)
          sm.apply_all(r.committed);
        else
          for (const Entry& e : r.committed) sm.apply(e);
      }
      for (const Entry& e : r.committed) Applied(e);
      for (const ReadState& rs : r.reads) Confirmed(rs);
      node->Advance(r);
      if (Status sst = MaybeSnapshot(); !sst.ok()) return Stop(sst);
    }
    // Leadership ends in a Step, a Tick (check-quorum) or a Ready: what it
    // had proposed fails now, not at its callers' deadlines.
    if (leading && node->role() != Role::kLeader) {
      FailAll(NotLeader());
      sending.clear();
    }
    leading = node->role() == Role::kLeader;
    SyncPeers();
    ServeBarriers();
    const auto lease = LeaseUntil();
    const bool ready =
        node->role() == Role::kLeader && node->term_at(node->applied()) == node->term();
    {
      std::lock_guard lk(info_mu);
      snapshot = Info{opt.id,
                      node->role(),
                      node->term(),
                      node->leader(),
                      AddressOf(node->leader()),
                      node->commit(),
                      node->applied(),
                      node->last_index(),
                      node->first_index(),
                      snap ? snap->index : 0,
                      ready,
                      lease,
                      node->members()};
    }
    // Outside info_mu: the owner may read info() from the callback.
    const Term now_ready = ready ? node->term() : 0;
    if (now_ready != ready_term) {
      ready_term = now_ready;
      if (sm.lead) sm.lead(now_ready);
    }
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

  void Stop(const Status& st) {
    failed = st;
    AMLFS_LOG(kError) << "raft " << opt.id << ": " << st.ToString()
                      << "; this replica stops taking part";
    FailAll(st);
    sending.clear();
  }

  // --- snapshots (replica_snapshot.cc) --------------------------------------------

  // The snapshot received from the leader (already the latest file in the
  // directory) replaces the state machine; the log is compacted to it.
  Status Install(const SnapshotPoint& p);
  // Every snapshot_entries applied entries: save the state machine, then
  // compact the log up to keep_entries behind it.
  Status MaybeSnapshot();
  void StartTransfer(NodeId to);
  void SendChunk(NodeId to);
  // A transfer whose follower stopped answering is abandoned; the leader
  // asks for a new one if the follower still needs it.
  void TickTransfers();
  // kSnapshot and kSnapshotRsp carry the transfer; only a whole snapshot
  // (and its answer) reaches the node.
  void OnSnapshotChunk(Message& m);
  void OnSnapshotAck(const Message& m);

  Status Persist(const Ready& r) {
    if (r.truncate_from) AMLFS_RETURN_IF_ERROR(store->TruncateFrom(r.truncate_from));
    if (!r.entries.empty()) AMLFS_RETURN_IF_ERROR(store->Append(r.entries));
    // The hard state after the entries: a vote is never durable without the
    // log it was given for.
    if (r.hard_state) AMLFS_RETURN_IF_ERROR(store->SaveHardState(*r.hard_state));
    return Status::Ok();
  }

  // The first message to a member whose request is not answered yet goes
  // back in that answer; others are kRaft requests, whose answers may carry
  // the member's message back. Raft tolerates loss and duplicates: nothing
  // is resent.
  void Send(Message m) {
    if (auto r = replies.find(m.to); r != replies.end()) {
      auto reply = std::move(r->second);
      replies.erase(r);
      return reply(Encode(m));
    }
    auto it = peers.find(m.to);
    if (it == peers.end()) return;
    it->second->CallAsync(Opcode::kRaft, Encode(m), opt.tick * opt.election_ticks,
                          [this](Result<std::string> r) {
                            // On this replica's thread (the client's).
                            if (r.ok() && !r->empty() && !stopped) Deliver(*r, nullptr);
                          });
  }

  // A message from another member, on the replica's thread; `reply` as in
  // Replica::Receive.
  void Deliver(const std::string& body, std::function<void(std::string)> reply) {
    if (stopped) {
      if (reply) reply({});
      return;
    }
    Message m;
    Status st = Decode(body, &m);
    if (st.ok() &&
        (m.to != opt.id || !Knows(m.from) || m.from == m.to || m.type > MsgType::kSnapshotRsp))
      st = Error(Code::kProtocol, "misaddressed or unknown raft message");
    if (st.ok() && m.type == MsgType::kSnapshot &&
        (m.data.size() > kMaxSnapshotChunk || m.index == 0 ||
         m.offset > std::numeric_limits<uint64_t>::max() - m.data.size()))
      st = Error(Code::kProtocol, "malformed snapshot chunk (" + std::to_string(m.data.size()) +
                                      " bytes at offset " + std::to_string(m.offset) + ")");
    for (const Entry& e : m.entries)
      if (st.ok() && e.type > EntryType::kConfig) st = Error(Code::kProtocol, "unknown entry type");
    if (!st.ok()) AMLFS_LOG(kWarn) << "raft " << opt.id << ": dropped a message: " << st.ToString();
    if (!st.ok() || !failed.ok()) {
      if (reply) reply({});
      return;
    }
    if (reply) {
      // Only the latest request of a sender waits for an answer.
      if (auto old = replies.find(m.from); old != replies.end()) old->second({});
      replies[m.from] = std::move(reply);
    }
    if (m.type == MsgType::kSnapshot)
      OnSnapshotChunk(m);
    else if (m.type == MsgType::kSnapshotRsp)
      OnSnapshotAck(m);
    else
      node->Step(m);
    Kick();
  }

  // Entry `e` is applied: its proposal is answered.
  void Applied(const Entry& e) {
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

}  // namespace amlfs::raft
