// The amlfs wire protocol, MDS replicas: their status, namespace digests
// and membership changes (amlfs mds ...). See protocol_base.h for
// the conventions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/protocol_base.h"

namespace amlfs {

// One replica's view of the replicated MDS (amlfs mds status). A lone MDS
// answers as the leader of a group of one, term 0.
struct MdsMember {
  uint32_t id = 0;
  std::string address;
  AMLFS_FIELDS(id, address)
};
struct MdsStatusRsp {
  bool replicated = false;
  uint32_t id = 0;
  std::string role;  // "leader", "follower", "candidate", "pre-candidate"
  uint64_t term = 0;
  uint32_t leader = 0;                                    // 0: none known
  uint64_t commit = 0, applied = 0, first = 0, last = 0;  // Raft log indexes
  bool serving = false;  // answers clients now (leads, current, within its lease)
  std::vector<MdsMember> members;
  AMLFS_FIELDS(replicated, id, role, term, leader, commit, applied, first, last, serving, members)
};
struct MdsStatusReq {
  static constexpr Opcode kOp = Opcode::kMdsStatus;
  using Response = MdsStatusRsp;
  AMLFS_FIELDS()
};

// A digest of the namespace a replica holds, as of log index `applied`:
// replicas at the same index must have the same digest.
struct MdsDigestRsp {
  uint64_t applied = 0;
  uint64_t keys = 0;
  std::string digest;  // 16 hex digits
  AMLFS_FIELDS(applied, keys, digest)
};
struct MdsDigestReq {
  static constexpr Opcode kOp = Opcode::kMdsDigest;
  using Response = MdsDigestRsp;
  AMLFS_FIELDS()
};

// A membership change of the replicated MDS, one replica at a time: adds
// replica `id` at `address`, or removes it when `address` is empty. The
// answer comes once the change is committed.
struct MdsMembersReq {
  static constexpr Opcode kOp = Opcode::kMdsMembers;
  using Response = EmptyRsp;
  uint32_t id = 0;
  std::string address;
  AMLFS_FIELDS(id, address)
};

}  // namespace amlfs
