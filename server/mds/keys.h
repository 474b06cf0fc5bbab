// The MDS's whole LevelDB key schema. Keys are a one-byte prefix followed by
// big-endian ids, so one directory's entries form one contiguous, name-ordered
// range and readdir is a single iterator seek. Prefixes are never reused.
//
//   'S' name                          superblock values (kSuper*)
//   'I' ino:be64                      InodeRec (records.h)
//   'D' parent:be64 name              DentryRec
//   'X' ino:be64 name                 xattr value (raw bytes)
//   'O' ino:be64                      orphan: nlink 0 but open somewhere
//   'Q' seq:be64                      QueueRec: objects waiting to be destroyed
//   'T' index:be32                    OstRec: a registered OST
//   'R' client:be64 seq:be64          recorded reply of a mutation (at-most-once)
//   'M' ino:be64 comp:be32 stripe:be32  a Data-on-MDT object's bytes (whole)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace amlfs::mds {

inline constexpr char kSuperNextIno[] = "next_ino";
inline constexpr char kSuperNextQueue[] = "next_queue";
inline constexpr char kSuperUsedInodes[] = "used_inodes";
inline constexpr char kSuperFsUuid[] = "fs_uuid";
inline constexpr char kSuperRaftApplied[] =
    "raft_applied";  // last log index applied (replicated MDS)

inline void AppendBe64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
inline void AppendBe32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
inline uint64_t ReadBe64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

inline std::string SuperKey(std::string_view name) {
  std::string k = "S";
  k += name;
  return k;
}
inline std::string InodeKey(uint64_t ino) {
  std::string k = "I";
  AppendBe64(&k, ino);
  return k;
}
inline std::string DirPrefix(uint64_t parent) {
  std::string k = "D";
  AppendBe64(&k, parent);
  return k;
}
inline std::string DentryKey(uint64_t parent, std::string_view name) {
  return DirPrefix(parent) + std::string(name);
}
inline std::string XattrPrefix(uint64_t ino) {
  std::string k = "X";
  AppendBe64(&k, ino);
  return k;
}
inline std::string XattrKey(uint64_t ino, std::string_view name) {
  return XattrPrefix(ino) + std::string(name);
}
inline std::string OrphanKey(uint64_t ino) {
  std::string k = "O";
  AppendBe64(&k, ino);
  return k;
}
inline std::string QueueKey(uint64_t seq) {
  std::string k = "Q";
  AppendBe64(&k, seq);
  return k;
}
inline std::string OstKey(uint32_t index) {
  std::string k = "T";
  AppendBe32(&k, index);
  return k;
}
// The prefixes of the key families scanned whole (the OST table, the
// orphans, the destroy queue), and the ids their keys hold.
inline constexpr char kOrphanPrefix[] = "O";
inline constexpr char kQueuePrefix[] = "Q";
inline constexpr char kOstPrefix[] = "T";
inline constexpr size_t kOrphanKeySize = 9, kOstKeySize = 5;
inline uint32_t ReadBe32(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

inline std::string MdtObjectKey(uint64_t ino, uint32_t comp, uint32_t stripe) {
  std::string k = "M";
  AppendBe64(&k, ino);
  AppendBe32(&k, comp);
  AppendBe32(&k, stripe);
  return k;
}

inline std::string ReplyKey(uint64_t client, uint64_t seq) {
  std::string k = "R";
  AppendBe64(&k, client);
  AppendBe64(&k, seq);
  return k;
}

}  // namespace amlfs::mds
