// The vocabulary of the Raft module (server/mds/raft/): log entries, the
// state every replica keeps on disk, and the messages replicas exchange.
// Follows the extended Raft paper (Ongaro & Ousterhout), Figure 2.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/codec.h"

namespace amlfs::raft {

using NodeId = uint32_t;  // 0 is "nobody"
using Term = uint64_t;
using Index = uint64_t;  // log positions start at 1; 0 is "before the log"

// Entry types are stored on disk: never renumbered.
enum class EntryType : uint8_t {
  kNoop = 0,     // appended by each new leader (commits earlier terms' entries)
  kCommand = 1,  // opaque to Raft: the state machine's operation
  kConfig = 2,   // a membership change: data is the whole new Membership
};

// A configuration: the voters, each with its address ("host:port"; may be
// empty where no address is known, e.g. in tests).
using Members = std::map<NodeId, std::string>;

// A kConfig entry's data, and the configuration a snapshot point carries
// (on disk in the log's compaction record and in kSnapshot messages).
struct Member {
  NodeId id = 0;
  std::string address;
  AMLFS_FIELDS(id, address)
};
struct Membership {
  std::vector<Member> members;  // by increasing id
  AMLFS_FIELDS(members)
};
std::string EncodeMembers(const Members& m);
// kProtocol on malformed input, or a repeated or zero id.
Result<Members> DecodeMembers(std::string_view data);

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kCommand;
  std::string data;
  bool operator==(const Entry&) const = default;
  AMLFS_FIELDS(term, index, type, data)
};

// What a replica must have on disk before it answers anyone: its current
// term and whom it voted for in it.
struct HardState {
  Term term = 0;
  NodeId vote = 0;
  bool operator==(const HardState&) const = default;
};

enum class MsgType : uint8_t {
  kPreVote = 0,  // "would you vote for me in term+1?" (changes no state)
  kPreVoteRsp = 1,
  kVote = 2,  // RequestVote
  kVoteRsp = 3,
  kAppend = 4,  // AppendEntries (entries may be empty: a heartbeat)
  kAppendRsp = 5,
  kSnapshot = 6,  // InstallSnapshot: one chunk of the leader's snapshot file
  kSnapshotRsp = 7,
};

struct Message {
  MsgType type = MsgType::kAppend;
  NodeId from = 0;
  NodeId to = 0;
  Term term = 0;
  // kPreVote / kVote: the candidate's last log entry.
  // kAppend: the entry just before `entries`.
  // kSnapshot: the last entry the snapshot covers.
  Index index = 0;
  Term log_term = 0;
  std::vector<Entry> entries;  // kAppend
  Index commit = 0;            // kAppend: the leader's commit index
  bool ok = false;             // responses: granted / appended
  // kAppendRsp: ok -> the last index known to match the leader's log;
  // !ok -> the follower's last index (where the leader may retry from).
  // kSnapshotRsp with done: the follower's commit index after the snapshot.
  Index match = 0;
  // kAppend / kAppendRsp: echoed, so a leader matches replies to the
  // heartbeat round that confirms its leadership for reads.
  uint64_t round = 0;
  // kSnapshot: `data` is the snapshot file's bytes [offset, offset+size);
  // `done` marks the last chunk. The follower's replica assembles the file
  // and hands raft::Node one kSnapshot with done set and no data.
  // kSnapshotRsp: !done -> a chunk's acknowledgement: ok with `offset` the
  // bytes received so far, or !ok (a mismatch: start again from 0);
  // done -> the follower's Node answers the whole snapshot (ok, match).
  uint64_t offset = 0;
  std::string data;
  bool done = false;
  // kSnapshot: the configuration at `index` (an encoded Membership; empty
  // from a leader that records none).
  std::string config;
  // On the wire (opcode kRaft), in this order.
  AMLFS_FIELDS(type, from, to, term, index, log_term, entries, commit, ok, match, round, offset,
               data, done, config)
};

}  // namespace amlfs::raft
