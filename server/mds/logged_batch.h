// LoggedBatch: one mutation's changes as a replicated MDS writes them into
// the Raft log (Replicator::Replicate), and every replica reads them back
// (Mds::ApplyLogged). A persisted format: entries written by any earlier
// version must still decode.
//
// Format. Integers are little-endian fixed width; a string is u32 length +
// bytes; bool is u8 0/1 (common/codec.h). Versions are never renumbered.
//
//   batch     := v1 | versioned
//   v1        := count u32 | op*count        version 1 carries no version
//                                            on the wire: it is the form
//                                            every log so far holds, byte
//                                            for byte, and the one written
//   versioned := kVersioned u32 | version u8 | ...
//                                            version >= 2 (none yet);
//                                            kVersioned = 0xFFFFFFFF, a
//                                            count no v1 batch can have
//                                            (each op takes >= 9 bytes)
//   op        := key string | put bool | value string
//                                            put 0: delete key (value empty)
//
// Ops are in key order, each key once. Nothing may follow the last op.
//
// Plain values: no ownership, no locking; not thread-safe to share while
// one side changes it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/codec.h"
#include "common/status.h"

namespace amlfs::mds {

struct LoggedOp {
  std::string key;
  bool put = false;  // false: delete
  std::string value;
  AMLFS_FIELDS(key, put, value)  // version 1's op
  bool operator==(const LoggedOp&) const = default;
};

struct LoggedBatch {
  static constexpr uint8_t kVersion = 1;  // the version EncodeBatch writes
  static constexpr uint32_t kVersioned = 0xFFFFFFFF;

  uint8_t version = kVersion;
  std::vector<LoggedOp> ops;

  // The batch of a Txn's changes (key -> new value, nullopt: deleted).
  static LoggedBatch Of(const std::map<std::string, std::optional<std::string>>& changes);
};

// REQUIRES: b.version == LoggedBatch::kVersion (the only one written).
std::string EncodeBatch(const LoggedBatch& b);
// kCorrupt naming the damage for truncated or trailing bytes, and for a
// version this MDS does not know ("written by a newer MDS"); *b is then
// unspecified.
Status DecodeBatch(std::string_view in, LoggedBatch* b);

}  // namespace amlfs::mds
