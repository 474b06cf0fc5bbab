#include "server/mds/raft/replica.h"

#include <future>

#include "server/mds/raft/replica_impl.h"

namespace amlfs::raft {

Result<std::unique_ptr<Replica>> Replica::Open(Options o, Index applied, Apply apply) {
  StateMachine sm;
  sm.apply = std::move(apply);
  return Open(std::move(o), applied, std::move(sm));
}

Result<std::unique_ptr<Replica>> Replica::Open(Options o, Index applied, StateMachine sm) {
  if (o.members.count(o.id) == 0)
    return Error(Code::kInvalid, "replica " + std::to_string(o.id) + " is not among the members");
  AMLFS_ASSIGN_OR_RETURN(auto store, LogStore::Open(o.dir));
  AMLFS_ASSIGN_OR_RETURN(std::optional<SnapshotFile> snap, FindSnapshot(o.dir));
  const Index compacted = store->first_index() - 1;
  if (compacted > 0 && (!snap || snap->index < compacted))
    return Error(Code::kCorrupt, o.dir + ": the log is compacted up to " +
                                     std::to_string(compacted) + " but no snapshot covers it");
  if (snap && applied < snap->index) {
    // The state machine is behind the snapshot (it was never synced, or a
    // crash cut an install short): it restarts from the snapshot.
    if (!sm.install)
      return Error(Code::kNotSupported, o.dir + ": a snapshot must be installed and cannot be");
    if (Status st = sm.install(snap->index, snap->path); !st.ok())
      return Error(st.code(), snap->path + ": " + st.message());
    AMLFS_LOG(kInfo) << "raft " << o.id << ": state restored from snapshot " << snap->index;
    applied = snap->index;
  }
  // The log must agree with the snapshot: a snapshot received from a
  // leader whose compaction did not happen yet replaces the log up to it.
  if (snap && store->term_at(snap->index) != snap->term) {
    // The configuration as of the snapshot: recorded beside it; else the
    // latest the log holds up to it, else the compaction point's.
    std::string config = snap->config;
    if (config.empty()) {
      config = store->compacted_config();
      for (Index i = store->first_index(); i <= std::min(snap->index, store->last_index()); ++i)
        if (store->at(i).type == EntryType::kConfig) config = store->at(i).data;
    }
    AMLFS_RETURN_IF_ERROR(store->CompactTo(snap->index, snap->term, std::move(config)));
  }
  auto impl = std::make_unique<Impl>();
  std::vector<Entry> log;
  for (Index i = store->first_index(); i <= store->last_index(); ++i) log.push_back(store->at(i));
  Config cfg;
  cfg.id = o.id;
  for (auto& [id, addr] : o.members) cfg.voters.push_back(id);
  cfg.addresses = o.members;
  cfg.election_ticks = o.election_ticks;
  cfg.heartbeat_ticks = o.heartbeat_ticks;
  cfg.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  SnapshotPoint point{store->first_index() - 1, store->term_at(store->first_index() - 1), {}};
  if (!store->compacted_config().empty()) {
    auto m = DecodeMembers(store->compacted_config());
    if (!m.ok())
      return Error(Code::kCorrupt,
                   o.dir + ": the compaction point's configuration: " + m.status().message());
    point.members = std::move(*m);
  }
  impl->node = std::make_unique<Node>(cfg, store->hard_state(), point, std::move(log), applied);
  impl->store = std::move(store);
  impl->snap = std::move(snap);
  impl->opt = std::move(o);
  impl->sm = std::move(sm);
  impl->net = std::make_unique<NetContext>(1);
  impl->io = &impl->net->io();
  impl->timer = std::make_unique<asio::steady_timer>(*impl->io);
  impl->SyncPeers();
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Replica::~Replica() {
  Stop();
  impl_->timer.reset();
  impl_->net.reset();  // joins the thread: queued handlers are destroyed unrun
}

void Replica::Start() {
  if (impl_->running) return;
  impl_->running = true;
  asio::post(*impl_->io, [i = impl_.get()] {
    if (i->stopped) return;
    i->Process();
    i->Arm();
  });
}

void Replica::Stop() {
  if (impl_->stop_requested) return;
  impl_->stop_requested = true;
  impl_->running = false;
  std::promise<void> done;
  asio::post(*impl_->io, [i = impl_.get(), &done] {
    i->stopped = true;
    i->timer->cancel();
    i->FailAll(Error(Code::kUnavailable, "the metadata replica is stopping"));
    auto replies = std::move(i->replies);
    i->replies.clear();
    for (auto& [from, reply] : replies) reply({});
    done.set_value();
  });
  done.get_future().wait();
  // From this thread: an RpcClient's destructor waits for the replica's.
  // Handlers that still run see `stopped` and touch nothing.
  impl_->peers.clear();
}

void Replica::Propose(std::string data, Term term, Done done) {
  asio::post(*impl_->io,
             [i = impl_.get(), data = std::move(data), term, done = std::move(done)]() mutable {
               if (i->stopped)
                 return done(Error(Code::kUnavailable, "the metadata replica is stopping"));
               if (!i->failed.ok()) return done(i->failed);
               if (term != 0 && i->node->term() != term) return done(i->NotLeader());
               auto idx = i->node->Propose(std::move(data));
               if (!idx.ok()) return done(i->NotLeader());
               i->proposals[*idx] = Impl::Pending{i->node->term(), std::move(done)};
               i->Kick();
             });
}

void Replica::ChangeMembers(NodeId id, std::string address, Done done) {
  asio::post(*impl_->io, [i = impl_.get(), id, address = std::move(address),
                          done = std::move(done)]() mutable {
    if (i->stopped) return done(Error(Code::kUnavailable, "the metadata replica is stopping"));
    if (!i->failed.ok()) return done(i->failed);
    if (i->node->role() != Role::kLeader) return done(i->NotLeader());
    Members next = i->node->members();
    if (address.empty()) {
      if (next.erase(id) == 0)
        return done(Error(Code::kInvalid, "replica " + std::to_string(id) + " is not a member"));
    } else if (next.count(id)) {
      return done(Error(Code::kInvalid, "replica " + std::to_string(id) + " is already a member"));
    } else {
      next[id] = std::move(address);
    }
    auto idx = i->node->ProposeMembers(next);
    if (!idx.ok()) return done(idx.status());
    AMLFS_LOG(kInfo) << "raft " << i->opt.id << ": configuration change at " << *idx << ": "
                     << (next.count(id) ? "adding " : "removing ") << id;
    i->proposals[*idx] = Impl::Pending{i->node->term(), std::move(done)};
    i->Kick();
  });
}

void Replica::ReadBarrier(std::function<void(Status)> done) {
  asio::post(*impl_->io, [i = impl_.get(), done = std::move(done)]() mutable {
    if (i->stopped) return done(Error(Code::kUnavailable, "the metadata replica is stopping"));
    if (!i->failed.ok()) return done(i->failed);
    const uint64_t ctx = i->next_ctx++;
    i->barriers[ctx] = std::move(done);
    i->node->ReadIndex(ctx);
    i->Kick();
  });
}

void Replica::Receive(std::string body, std::function<void(std::string)> reply) {
  asio::post(*impl_->io,
             [i = impl_.get(), body = std::move(body), reply = std::move(reply)]() mutable {
               i->Deliver(body, std::move(reply));
             });
}

Replica::Info Replica::info() const {
  std::lock_guard lk(impl_->info_mu);
  return impl_->snapshot;
}

}  // namespace amlfs::raft
