// Membership: the configuration entries in the log, and one change at a
// time (the Raft dissertation, 4.1-4.3). Part of Node (node.h); no I/O.
#include <algorithm>
#include <tuple>

#include "common/log.h"
#include "server/mds/raft/node.h"

namespace amlfs::raft {

std::string EncodeMembers(const Members& m) {
  Membership ms;
  for (auto& [id, addr] : m) ms.members.push_back(Member{id, addr});
  return Encode(ms);
}

Result<Members> DecodeMembers(std::string_view data) {
  Membership ms;
  AMLFS_RETURN_IF_ERROR(Decode(data, &ms));
  Members m;
  for (Member& x : ms.members) {
    if (x.id == 0 || !m.emplace(x.id, std::move(x.address)).second)
      return Error(Code::kProtocol,
                   "a configuration names replica " + std::to_string(x.id) + " twice or as 0");
  }
  return m;
}

std::pair<Members, Index> Node::ConfigAt(Index i) const {
  for (Index j = std::min(i, last_index()); j > snap_index_; --j) {
    const Entry& e = entry(j);
    if (e.type != EntryType::kConfig) continue;
    if (auto m = DecodeMembers(e.data); m.ok()) return {std::move(*m), j};
  }
  return {snap_members_, snap_index_};
}

Members Node::MembersAt(Index i) const { return ConfigAt(i).first; }

void Node::ReloadMembers() { std::tie(members_, config_index_) = ConfigAt(last_index()); }

size_t Node::CountMembers(const std::set<NodeId>& ids) const {
  size_t n = 0;
  for (NodeId id : ids) n += IsMember(id);
  return n;
}

// Dissertation 4.2.2: a leader outside the configuration it committed
// steps down; the others learn the commit index first.
void Node::StepDownIfRemoved() {
  if (role_ != Role::kLeader || IsMember(cfg_.id) || commit_ < config_index_) return;
  AMLFS_LOG(kInfo) << "raft " << cfg_.id << ": removed from the configuration at " << config_index_
                   << "; stepping down";
  BroadcastAppends(false);
  BecomeFollower(term_, 0);
}

Result<Index> Node::ProposeMembers(const Members& next) {
  if (role_ != Role::kLeader) return Error(Code::kUnavailable, "not the leader");
  size_t added = 0, removed = 0;
  for (auto& [id, addr] : next) {
    auto it = members_.find(id);
    if (it == members_.end())
      ++added;
    else if (it->second != addr)
      return Error(Code::kInvalid,
                   "replica " + std::to_string(id) + " is already a member at " + it->second);
  }
  for (auto& [id, addr] : members_) removed += next.count(id) == 0;
  if (added + removed != 1 || next.count(0))
    return Error(Code::kInvalid, "a configuration change adds or removes exactly one replica");
  if (config_index_ > commit_)
    return Error(Code::kBusy, "a membership change is already in progress");
  if (term_at(commit_) != term_)
    return Error(Code::kBusy, "the new leader has not committed an entry of its term yet");
  for (auto& [id, addr] : next) {
    if (members_.count(id)) continue;
    next_[id] = last_index() + 1;
    match_[id] = 0;
    acked_round_.erase(id);
  }
  log_.push_back(Entry{term_, last_index() + 1, EntryType::kConfig, EncodeMembers(next)});
  members_ = next;
  config_index_ = last_index();
  broadcast_ = true;
  MaybeCommit();
  return last_index();
}

}  // namespace amlfs::raft
