// raft::Replica: taking snapshots of the state machine, compacting the
// log behind them, and sending and receiving them in chunks (see the
// snapshot part of replica.h).
#include <unistd.h>

#include "server/mds/raft/replica_impl.h"

namespace amlfs::raft {

Status Replica::Impl::Install(const SnapshotPoint& p) {
  if (!snap || snap->index != p.index || snap->term != p.term)
    return Error(Code::kInternal, "snapshot " + std::to_string(p.index) + " is not on disk");
  if (!sm.install) return Error(Code::kNotSupported, "this replica cannot install snapshots");
  if (Status st = sm.install(p.index, snap->path); !st.ok()) {
    ::unlink(snap->path.c_str());
    return Error(st.code(), "snapshot " + std::to_string(p.index) + " refused: " + st.message());
  }
  AMLFS_LOG(kInfo) << "raft " << opt.id << ": installed snapshot " << p.index << " (term " << p.term
                   << ") from the leader";
  AMLFS_RETURN_IF_ERROR(store->CompactTo(p.index, p.term, EncodeMembers(p.members)));
  RemoveOtherSnapshots(opt.dir, *snap);
  return Status::Ok();
}

Status Replica::Impl::MaybeSnapshot() {
  const Index applied = node->applied();
  const Index last_snap = std::max(snap ? snap->index : 0, save_failed_at);
  if (!sm.save || opt.snapshot_entries == 0 || applied < last_snap + opt.snapshot_entries)
    return Status::Ok();
  const std::string tmp = opt.dir + "/snapshot.tmp";
  if (Status st = sm.save(applied, tmp); !st.ok()) {
    // The log is untouched: try again after as many entries more.
    AMLFS_LOG(kWarn) << "raft " << opt.id << ": cannot save a snapshot at " << applied << ": "
                     << st.ToString();
    ::unlink(tmp.c_str());
    save_failed_at = applied;
    return Status::Ok();
  }
  AMLFS_ASSIGN_OR_RETURN(SnapshotFile f,
                         PublishSnapshot(opt.dir, tmp, applied, node->term_at(applied),
                                         EncodeMembers(node->MembersAt(applied))));
  snap = f;
  RemoveOtherSnapshots(opt.dir, f);
  const Index cut = applied > opt.keep_entries ? applied - opt.keep_entries : 0;
  if (cut >= node->first_index()) {
    AMLFS_RETURN_IF_ERROR(
        store->CompactTo(cut, node->term_at(cut), EncodeMembers(node->MembersAt(cut))));
    node->Compact(cut);
  }
  AMLFS_LOG(kInfo) << "raft " << opt.id << ": snapshot at " << applied << "; log compacted up to "
                   << node->first_index() - 1;
  return Status::Ok();
}

void Replica::Impl::StartTransfer(NodeId to) {
  if (node->role() != Role::kLeader) return;
  if (!snap) {
    AMLFS_LOG(kError) << "raft " << opt.id << ": follower " << to
                      << " needs a snapshot and there is none";
    return node->SnapshotFailed(to);
  }
  auto s = SnapshotSender::Open(*snap, opt.snapshot_chunk);
  if (!s.ok()) {
    AMLFS_LOG(kWarn) << "raft " << opt.id << ": " << s.status().ToString();
    return node->SnapshotFailed(to);
  }
  AMLFS_LOG(kInfo) << "raft " << opt.id << ": sending snapshot " << snap->index << " to follower "
                   << to;
  sending[to] = std::move(*s);
  // Taken now: a later compaction may drop the entries it is computed from.
  sending_config[to] = EncodeMembers(node->MembersAt(snap->index));
  SendChunk(to);
}

void Replica::Impl::SendChunk(NodeId to) {
  auto it = sending.find(to);
  auto m = it->second->Chunk();
  if (!m.ok()) {
    AMLFS_LOG(kWarn) << "raft " << opt.id << ": " << m.status().ToString();
    sending.erase(it);
    return node->SnapshotFailed(to);
  }
  m->to = to;
  m->from = opt.id;
  m->term = node->term();
  m->config = sending_config[to];
  Send(std::move(*m));
}

void Replica::Impl::TickTransfers() {
  for (auto it = sending.begin(); it != sending.end();) {
    if (++it->second->idle_ticks <= 2 * opt.election_ticks) {
      ++it;
      continue;
    }
    node->SnapshotFailed(it->first);
    it = sending.erase(it);
  }
}

void Replica::Impl::OnSnapshotChunk(Message& m) {
  if (m.term < node->term()) return node->Step(m);  // answers the stale leader
  if (!receiving) receiving = std::make_unique<SnapshotReceiver>(opt.dir);
  auto outcome = receiving->Take(m);
  Message r;
  r.type = MsgType::kSnapshotRsp;
  r.from = opt.id;
  r.to = m.from;
  r.term = m.term;
  r.index = m.index;
  if (!outcome.ok()) {
    AMLFS_LOG(kWarn) << "raft " << opt.id
                     << ": receiving a snapshot: " << outcome.status().ToString();
  } else if (*outcome == SnapshotReceiver::Outcome::kMismatch) {
    AMLFS_LOG(kInfo) << "raft " << opt.id << ": snapshot chunk at " << m.offset << " from "
                     << m.from << " is not the next one (have " << receiving->received()
                     << " bytes); asking for a restart";
  } else if (*outcome == SnapshotReceiver::Outcome::kAck) {
    r.ok = true;
    r.offset = receiving->received();
  } else if (*outcome == SnapshotReceiver::Outcome::kComplete) {
    m.data.clear();
    if (m.index > node->commit()) {
      auto f = PublishSnapshot(opt.dir, receiving->path(), m.index, m.log_term, m.config);
      if (!f.ok()) return Stop(f.status());
      snap = *f;
    } else {
      ::unlink(receiving->path().c_str());  // the node answers it is not needed
    }
    return node->Step(m);
  }
  Message live;  // the chunk, to the node: a live leader
  live.type = MsgType::kSnapshot;
  live.from = m.from;
  live.to = m.to;
  live.term = m.term;
  node->Step(live);
  Send(std::move(r));
}

void Replica::Impl::OnSnapshotAck(const Message& m) {
  if (m.done && m.term == node->term()) sending.erase(m.from);
  if (m.done || m.term > node->term()) return node->Step(m);
  auto it = sending.find(m.from);
  if (m.term < node->term() || it == sending.end()) return;
  if (!m.ok) {
    it->second->Restart();
    it->second->idle_ticks = 0;
    return SendChunk(m.from);
  }
  if (it->second->Acked(m.offset)) SendChunk(m.from);
}

}  // namespace amlfs::raft
