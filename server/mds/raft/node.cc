#include "server/mds/raft/node.h"

#include <algorithm>

#include "common/log.h"

namespace amlfs::raft {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

Node::Node(Config cfg, HardState hs, std::vector<Entry> log, Index applied)
    : Node(std::move(cfg), hs, SnapshotPoint{}, std::move(log), applied) {}

Node::Node(Config cfg, HardState hs, SnapshotPoint snap, std::vector<Entry> log, Index applied)
    : cfg_(std::move(cfg)),
      rng_(cfg_.seed ^ (0x9e3779b97f4a7c15ull * cfg_.id)),
      term_(hs.term),
      vote_(hs.vote),
      snap_index_(snap.index),
      snap_term_(snap.term),
      log_(std::move(log)),
      persisted_(hs) {
  snap_members_ = snap.members;
  if (snap_members_.empty()) {
    for (NodeId v : cfg_.voters) {
      auto it = cfg_.addresses.find(v);
      snap_members_[v] = it == cfg_.addresses.end() ? std::string() : it->second;
    }
  }
  ReloadMembers();
  commit_ = applied_ = std::clamp<Index>(applied, snap_index_, last_index());
  durable_ = last_index();
  unstable_ = last_index() + 1;
  ResetElectionTimer();
}

void Node::ResetElectionTimer() {
  election_elapsed_ = 0;
  election_timeout_ =
      cfg_.election_ticks + static_cast<int>(rng_() % static_cast<uint64_t>(cfg_.election_ticks));
}

// Also true for the first election_ticks after a (re)start: the replica may
// have answered a leader just before it crashed, and that leader's lease
// counts on this replica's vote being held back.
bool Node::LeaderRecentlySeen() const {
  return (leader_ != 0 && election_elapsed_ < cfg_.election_ticks) ||
         ticks_since_start_ < cfg_.election_ticks;
}

bool Node::UpToDate(Index index, Term term) const {
  const Term last = term_at(last_index());
  return term > last || (term == last && index >= last_index());
}

void Node::Send(Message m) {
  m.from = cfg_.id;
  if (m.term == 0) m.term = term_;
  msgs_.push_back(std::move(m));
}

void Node::Refuse(const std::string& what) {
  if (violation_.empty()) violation_ = what;
  AMLFS_LOG(kError) << "raft " << cfg_.id << ": refused: " << what;
}

// --- time ---------------------------------------------------------------------

void Node::Tick() {
  if (ticks_since_start_ < cfg_.election_ticks) ++ticks_since_start_;
  if (role_ == Role::kLeader) {
    if (++heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      BroadcastAppends(true);
    }
    // Check-quorum: a leader that heard from no majority during an election
    // timeout may be cut off; it stops acting as leader, so that it never
    // acknowledges anything a newer leader does not know about.
    if (++election_elapsed_ >= cfg_.election_ticks) {
      election_elapsed_ = 0;
      active_.insert(cfg_.id);
      if (CountMembers(active_) < Majority()) {
        AMLFS_LOG(kWarn) << "raft " << cfg_.id << ": lost the majority in term " << term_
                         << "; stepping down";
        BecomeFollower(term_, 0);
      }
      active_.clear();
    }
    return;
  }
  if (++election_elapsed_ >= election_timeout_) StartPreVote();
}

// --- roles --------------------------------------------------------------------

void Node::BecomeFollower(Term term, NodeId leader) {
  if (role_ == Role::kLeader) {
    FailReads();
    snapshot_requests_.clear();
  }
  if (term > term_) {
    term_ = term;
    vote_ = 0;
  }
  role_ = Role::kFollower;
  leader_ = leader;
  ResetElectionTimer();
}

// Pre-vote: ask whether a majority would vote before raising the term, so a
// replica that was cut off cannot disrupt a working leader when it returns.
void Node::StartPreVote() {
  // A replica outside the configuration (removed, or not yet added) never
  // campaigns.
  if (!IsMember(cfg_.id)) return;
  role_ = Role::kPreCandidate;
  leader_ = 0;
  granted_ = {cfg_.id};
  rejected_.clear();
  ResetElectionTimer();
  if (CountMembers(granted_) >= Majority()) return StartElection();
  for (auto& [p, addr] : members_) {
    if (p == cfg_.id) continue;
    Message m;
    m.type = MsgType::kPreVote;
    m.to = p;
    m.term = term_ + 1;
    m.index = last_index();
    m.log_term = term_at(last_index());
    Send(std::move(m));
  }
}

void Node::StartElection() {
  role_ = Role::kCandidate;
  ++term_;
  vote_ = cfg_.id;
  leader_ = 0;
  granted_ = {cfg_.id};
  rejected_.clear();
  ResetElectionTimer();
  if (CountMembers(granted_) >= Majority()) return BecomeLeader();
  for (auto& [p, addr] : members_) {
    if (p == cfg_.id) continue;
    Message m;
    m.type = MsgType::kVote;
    m.to = p;
    m.index = last_index();
    m.log_term = term_at(last_index());
    Send(std::move(m));
  }
}

void Node::BecomeLeader() {
  role_ = Role::kLeader;
  leader_ = cfg_.id;
  heartbeat_elapsed_ = election_elapsed_ = 0;
  active_.clear();
  next_.clear();
  match_.clear();
  acked_round_.clear();
  snapshotting_.clear();
  snapshot_requests_.clear();
  for (auto& [p, addr] : members_) {
    next_[p] = last_index() + 1;
    match_[p] = 0;
  }
  // A no-op of the new term: committing it commits every earlier entry
  // (a leader never counts replicas for an earlier term's entry).
  log_.push_back(Entry{term_, last_index() + 1, EntryType::kNoop, {}});
  BroadcastAppends(true);  // a new round: its answers start this leader's lease
  MaybeCommit();
}

// --- messages -------------------------------------------------------------------

void Node::Step(const Message& m) {
  if (m.term > term_) {
    const bool pre = m.type == MsgType::kPreVote || (m.type == MsgType::kPreVoteRsp && m.ok);
    if (m.type == MsgType::kVote && LeaderRecentlySeen()) return;  // a leader is alive
    if (!pre) {
      const bool from_leader = m.type == MsgType::kAppend || m.type == MsgType::kSnapshot;
      BecomeFollower(m.term, from_leader ? m.from : 0);
    }
  } else if (m.term < term_) {
    // Tell a stale leader or pre-candidate about the newer term.
    if (m.type == MsgType::kAppend || m.type == MsgType::kPreVote || m.type == MsgType::kSnapshot) {
      Message r;
      r.type = m.type == MsgType::kAppend     ? MsgType::kAppendRsp
               : m.type == MsgType::kSnapshot ? MsgType::kSnapshotRsp
                                              : MsgType::kPreVoteRsp;
      r.to = m.from;
      r.round = m.round;
      r.done = m.type == MsgType::kSnapshot;
      Send(std::move(r));
    }
    return;
  }
  switch (m.type) {
    case MsgType::kPreVote: return OnVoteRequest(m, true);
    case MsgType::kVote: return OnVoteRequest(m, false);
    case MsgType::kPreVoteRsp:
    case MsgType::kVoteRsp: return OnVoteResponse(m);
    case MsgType::kAppend: return OnAppend(m);
    case MsgType::kAppendRsp: return OnAppendResponse(m);
    case MsgType::kSnapshot: return OnSnapshot(m);
    case MsgType::kSnapshotRsp: return OnSnapshotResponse(m);
  }
}

void Node::OnVoteRequest(const Message& m, bool pre) {
  bool grant;
  if (pre) {
    // No state changes: only "would I vote for you in m.term?".
    grant = m.term > term_ && !LeaderRecentlySeen() && UpToDate(m.index, m.log_term);
  } else {
    grant = (vote_ == 0 || vote_ == m.from) && UpToDate(m.index, m.log_term);
    if (grant) {
      vote_ = m.from;  // persisted before the reply leaves (the Ready contract)
      ResetElectionTimer();
    }
  }
  Message r;
  r.type = pre ? MsgType::kPreVoteRsp : MsgType::kVoteRsp;
  r.to = m.from;
  r.term = grant && pre ? m.term : term_;
  r.ok = grant;
  Send(std::move(r));
}

void Node::OnVoteResponse(const Message& m) {
  const bool pre = m.type == MsgType::kPreVoteRsp;
  if (role_ != (pre ? Role::kPreCandidate : Role::kCandidate)) return;
  (m.ok ? granted_ : rejected_).insert(m.from);
  if (CountMembers(granted_) >= Majority()) {
    if (pre)
      StartElection();
    else
      BecomeLeader();
  } else if (CountMembers(rejected_) >= Majority()) {
    BecomeFollower(term_, 0);
  }
}

void Node::OnAppend(const Message& m) {
  if (role_ != Role::kFollower || leader_ != m.from) BecomeFollower(term_, m.from);
  election_elapsed_ = 0;
  Message r;
  r.type = MsgType::kAppendRsp;
  r.to = m.from;
  r.round = m.round;
  if (m.index < commit_) {
    // Older than what is known committed here: the prefix matches by
    // definition; only what lies past commit_ needs checking.
    for (const Entry& e : m.entries) {
      if (e.index > commit_) break;
      if (e.index < snap_index_) continue;  // compacted, and committed: the same entry
      if (term_at(e.index) != e.term) {
        Refuse("leader " + std::to_string(m.from) + " conflicts with committed entry " +
               std::to_string(e.index));
        r.match = commit_;
        return Send(std::move(r));
      }
    }
    r.ok = true;
    r.match = commit_;
    Index end = m.index + m.entries.size();
    if (end > commit_) {
      Message rest = m;
      rest.entries.assign(m.entries.begin() + static_cast<std::ptrdiff_t>(commit_ - m.index),
                          m.entries.end());
      rest.index = commit_;
      rest.log_term = term_at(commit_);
      return OnAppend(rest);
    }
    return Send(std::move(r));
  }
  if (m.index > last_index() || term_at(m.index) != m.log_term) {
    r.ok = false;
    r.match = std::min(last_index(), m.index > 0 ? m.index - 1 : 0);
    return Send(std::move(r));
  }
  for (const Entry& e : m.entries) {
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;  // already here: never cut what follows
      if (e.index <= commit_) {
        Refuse("leader " + std::to_string(m.from) + " conflicts with committed entry " +
               std::to_string(e.index));
        r.ok = false;
        r.match = commit_;
        return Send(std::move(r));
      }
      Truncate(e.index);  // the first conflicting index, and only there
    }
    log_.push_back(e);
    if (e.type == EntryType::kConfig) {
      if (auto next = DecodeMembers(e.data); next.ok()) {
        members_ = std::move(*next);  // in use from now on, committed or not
        config_index_ = e.index;
      }
    }
  }
  const Index last_new = m.index + m.entries.size();
  commit_ = std::max(commit_, std::min(m.commit, last_new));
  r.ok = true;
  r.match = last_new;
  Send(std::move(r));
}

void Node::Truncate(Index from) {
  log_.resize(from - 1 - snap_index_);
  if (config_index_ >= from) ReloadMembers();  // back to the configuration before
  durable_ = std::min(durable_, from - 1);
  if (unstable_ > from) {
    // Entries already handed out for persisting are cut on disk too.
    truncate_from_ = truncate_from_ == 0 ? from : std::min(truncate_from_, from);
    unstable_ = from;
  }
}

void Node::OnAppendResponse(const Message& m) {
  if (role_ != Role::kLeader) return;
  active_.insert(m.from);
  auto& ack = acked_round_[m.from];
  ack = std::max(ack, m.round);
  Index& next = next_[m.from];
  Index& match = match_[m.from];
  if (m.ok) {
    match = std::max(match, m.match);
    next = std::max(next, match + 1);
    MaybeCommit();
  } else {
    // Back up to the follower's last entry (at least one step), never below
    // what it is known to hold.
    next = std::max(match + 1, std::min(next > 1 ? next - 1 : 1, m.match + 1));
    SendAppend(m.from, false);
  }
  ConfirmReads();
}

void Node::SendAppend(NodeId to, bool heartbeat) {
  Index& next = next_[to];
  if (next > last_index() + 1) next = last_index() + 1;
  Message m;
  m.type = MsgType::kAppend;
  m.to = to;
  m.commit = commit_;
  m.round = round_;
  if (next <= snap_index_) {
    // The entries it needs were compacted away: it gets the snapshot.
    if (snapshotting_.insert(to).second) snapshot_requests_.push_back(to);
    if (!heartbeat) return;
    // Meanwhile heartbeats keep it following and answering read rounds.
    m.index = snap_index_;
    m.log_term = snap_term_;
    return Send(std::move(m));
  }
  m.index = next - 1;
  m.log_term = term_at(m.index);
  if (!heartbeat || next <= last_index()) {
    Index end = std::min<Index>(last_index(), next - 1 + cfg_.max_append_entries);
    for (Index i = next; i <= end; ++i) m.entries.push_back(entry(i));
    next = end + 1;  // pipelined: a rejection moves it back
  }
  Send(std::move(m));
}

// --- snapshots ----------------------------------------------------------------

void Node::OnSnapshot(const Message& m) {
  if (role_ != Role::kFollower || leader_ != m.from) BecomeFollower(term_, m.from);
  election_elapsed_ = 0;
  if (!m.done) return;  // a chunk (the driver assembles the file): a live leader
  Message r;
  r.type = MsgType::kSnapshotRsp;
  r.to = m.from;
  r.index = m.index;
  r.done = true;
  r.ok = true;
  if (m.index <= commit_) {
    // Nothing new: the state machine already holds (or will apply) it all.
    r.match = commit_;
    return Send(std::move(r));
  }
  // Figure 13: keep the entries after the snapshot if the log holds its
  // last entry, else the whole log is another history.
  const bool keep = m.index <= last_index() && term_at(m.index) == m.log_term;
  // The disk holds the same entry at m.index (so LogStore::CompactTo keeps
  // the same suffix) unless it is still unwritten or about to be cut.
  const bool disk_agrees = m.index < unstable_ && (truncate_from_ == 0 || truncate_from_ > m.index);
  if (keep) {
    log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(m.index - snap_index_));
  } else {
    log_.clear();
  }
  snap_index_ = m.index;
  snap_term_ = m.log_term;
  if (!m.config.empty()) {
    if (auto c = DecodeMembers(m.config); c.ok()) snap_members_ = std::move(*c);
  } else if (keep) {
    snap_members_ = MembersAt(m.index);
  }
  ReloadMembers();
  commit_ = applied_ = m.index;
  if (!keep || !disk_agrees) {
    // Whatever the disk holds after the snapshot point goes; what this log
    // keeps there is written again.
    truncate_from_ = m.index + 1;
    unstable_ = m.index + 1;
    durable_ = m.index;
  } else {
    durable_ = std::max(durable_, m.index);
  }
  install_ = SnapshotPoint{m.index, m.log_term, snap_members_};
  r.match = m.index;
  Send(std::move(r));
}

void Node::OnSnapshotResponse(const Message& m) {
  if (role_ != Role::kLeader || !m.done) return;
  active_.insert(m.from);
  snapshotting_.erase(m.from);
  if (m.ok) {
    Index& match = match_[m.from];
    match = std::max(match, m.match);
    next_[m.from] = match + 1;
    MaybeCommit();
  }
  SendAppend(m.from, false);
}

void Node::Compact(Index index) {
  index = std::min(index, applied_);
  if (index <= snap_index_) return;
  const Term t = term_at(index);
  snap_members_ = MembersAt(index);
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(index - snap_index_));
  snap_index_ = index;
  snap_term_ = t;
  ReloadMembers();
}

void Node::SnapshotFailed(NodeId to) { snapshotting_.erase(to); }

void Node::BroadcastAppends(bool heartbeat) {
  if (heartbeat) ++round_;
  for (auto& [p, addr] : members_)
    if (p != cfg_.id) SendAppend(p, heartbeat);
  broadcast_ = false;
}

void Node::MaybeCommit() {
  if (role_ != Role::kLeader) return;
  std::vector<Index> matched;
  for (auto& [p, addr] : members_) matched.push_back(p == cfg_.id ? durable_ : match_[p]);
  std::sort(matched.begin(), matched.end(), std::greater<>());
  const Index n = matched[Majority() - 1];
  // Figure 8: only an entry of the current term is committed by counting.
  if (n > commit_ && term_at(n) == term_) {
    // Followers learn it from the next Append (new entries, or the next
    // heartbeat): an Append for it alone, and its answer, would double the
    // messages of a busy leader.
    commit_ = n;
    for (uint64_t ctx : early_reads_) ReadIndex(ctx);
    early_reads_.clear();
    StepDownIfRemoved();
  }
}

// --- proposals and reads -------------------------------------------------------------

Result<Index> Node::Propose(std::string data) {
  if (role_ != Role::kLeader) return Error(Code::kUnavailable, "not the leader");
  log_.push_back(Entry{term_, last_index() + 1, EntryType::kCommand, std::move(data)});
  broadcast_ = true;
  MaybeCommit();  // a single-replica group commits at once (once durable)
  return last_index();
}

void Node::ReadIndex(uint64_t ctx) {
  if (role_ != Role::kLeader) {
    reads_.push_back(ReadState{ctx, 0, false});
    return;
  }
  // Until this term's no-op commits, the leader does not know the latest
  // commit index.
  if (term_at(commit_) != term_) {
    early_reads_.push_back(ctx);
    return;
  }
  pending_reads_.push_back(PendingRead{ctx, commit_, round_ + 1});
  BroadcastAppends(true);  // the round that confirms leadership
  ConfirmReads();
}

void Node::ConfirmReads() {
  while (!pending_reads_.empty()) {
    size_t acks = IsMember(cfg_.id) ? 1 : 0;  // this leader
    for (auto& [p, r] : acked_round_)
      if (p != cfg_.id && IsMember(p) && r >= pending_reads_.front().round) ++acks;
    if (acks < Majority()) return;
    reads_.push_back(ReadState{pending_reads_.front().ctx, pending_reads_.front().index, true});
    pending_reads_.erase(pending_reads_.begin());
  }
}

uint64_t Node::QuorumRound() const {
  if (role_ != Role::kLeader) return 0;
  std::vector<uint64_t> rounds;
  for (auto& [p, addr] : members_) {
    auto it = acked_round_.find(p);
    rounds.push_back(p == cfg_.id ? round_ : it == acked_round_.end() ? 0 : it->second);
  }
  std::sort(rounds.begin(), rounds.end(), std::greater<>());
  return rounds[Majority() - 1];
}

void Node::FailReads() {
  for (auto& r : pending_reads_) reads_.push_back(ReadState{r.ctx, 0, false});
  for (uint64_t ctx : early_reads_) reads_.push_back(ReadState{ctx, 0, false});
  pending_reads_.clear();
  early_reads_.clear();
}

// --- ready ------------------------------------------------------------------------

bool Node::HasReady() const {
  return HardState{term_, vote_} != persisted_ || truncate_from_ != 0 ||
         unstable_ <= last_index() || !msgs_.empty() || broadcast_ || !reads_.empty() ||
         applied_ < std::min(commit_, durable_) || install_ || !snapshot_requests_.empty();
}

Ready Node::TakeReady() {
  if (broadcast_ && role_ == Role::kLeader) BroadcastAppends(false);
  broadcast_ = false;
  Ready r;
  r.snapshot = install_;
  install_.reset();
  if (HardState{term_, vote_} != persisted_) r.hard_state = HardState{term_, vote_};
  r.truncate_from = truncate_from_;
  for (Index i = unstable_; i <= last_index(); ++i) r.entries.push_back(entry(i));
  r.messages = std::move(msgs_);
  msgs_.clear();
  for (Index i = applied_ + 1; i <= std::min(commit_, durable_); ++i)
    r.committed.push_back(entry(i));
  r.reads = std::move(reads_);
  reads_.clear();
  r.send_snapshot = std::move(snapshot_requests_);
  snapshot_requests_.clear();
  ready_out_ = true;
  return r;
}

void Node::Advance(const Ready& r) {
  ready_out_ = false;
  if (r.hard_state) persisted_ = *r.hard_state;
  truncate_from_ = 0;
  if (!r.entries.empty()) {
    unstable_ = std::max(unstable_, r.entries.back().index + 1);
    durable_ = std::max(durable_, r.entries.back().index);
  }
  if (!r.committed.empty()) applied_ = std::max(applied_, r.committed.back().index);
  MaybeCommit();
}

}  // namespace amlfs::raft
