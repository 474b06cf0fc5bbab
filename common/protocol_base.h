// The amlfs wire protocol, its base: the opcodes (generated from the method
// table, protocol_methods.h), what the table says of each, the response
// envelope, and the messages and types shared by every family.
//
// Each request struct names its opcode (kOp) and response type (Response).
// Field layouts follow codec.h's grammar in declaration order. The message
// families each include this header, never the reverse:
// protocol_namespace.h (the MDS's namespace), protocol_lock.h,
// protocol_replica.h and protocol_ost.h; common/protocol.h includes them all.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/codec.h"
#include "common/protocol_methods.h"
#include "common/status.h"
#include "common/types.h"

namespace amlfs {

enum class Opcode : uint16_t {
#define AMLFS_OPCODE_ENUMERATOR(Name, number, label, Req, Rsp, flags) k##Name = number,
  AMLFS_METHODS(AMLFS_OPCODE_ENUMERATOR)
#undef AMLFS_OPCODE_ENUMERATOR
};

// Above every opcode in use (a table indexed by opcode has this many slots).
inline constexpr uint16_t kOpcodeLimit = [] {
  uint16_t limit = 0;
#define AMLFS_OPCODE_NUMBER(Name, number, label, Req, Rsp, flags) number,
  for (uint16_t n : {AMLFS_METHODS(AMLFS_OPCODE_NUMBER)})
    if (n >= limit) limit = static_cast<uint16_t>(n + 1);
#undef AMLFS_OPCODE_NUMBER
  return limit;
}();

// The method's label in logs and metrics ("lookup"); "unknown" for an
// opcode not in the table.
const char* OpcodeName(Opcode op);
// The method's MethodFlag bits; 0 for an opcode not in the table.
uint32_t MethodFlagsOf(Opcode op);
// Whether the MDS runs `op` on the connection's network thread (kInline,
// and kInlineUnlessSynced unless `synced_writes`: the MDS fsyncs each change
// of its own database, unreplicated with --sync-writes).
bool RunsInline(Opcode op, bool synced_writes);

// ---------------------------------------------------------------- handshake

// HelloReq: u16 version, string role ("client"|"ost"|"mds"), string name,
// string nonce. HelloRsp: u16 version, string role, string nonce, string
// proof. The handshake, sent first on every connection by the connecting
// side; with a cluster key it carries the challenge-response of
// common/net/auth.h (nonces of ClusterKey::kNonceBytes; empty without a key).
struct HelloRsp {
  uint16_t version = 0;
  std::string role;   // "mds" | "ost"
  std::string nonce;  // the server's
  std::string proof;  // the server's proof over both nonces
  AMLFS_FIELDS(version, role, nonce, proof)
};
struct HelloReq {
  static constexpr Opcode kOp = Opcode::kHello;
  using Response = HelloRsp;
  uint16_t version = 0;
  std::string role;
  std::string name;
  std::string nonce;  // the client's
  AMLFS_FIELDS(version, role, name, nonce)
};

// Who is asking, and which request this is (at-most-once): carried first
// in every metadata request. seq is 0 for read-only requests.
struct Caller {
  ClientId client;
  uint64_t seq = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary groups
  std::string job;               // the calling process's job id ("": none), for job statistics
  AMLFS_FIELDS(client, seq, uid, gid, groups, job)
};

// Inode attributes as the MDS stores and reports them.
struct Attr {
  InodeId ino;
  uint32_t mode = 0;  // S_IFMT | permission bits
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t rdev = 0;
  Timespec atime, mtime, ctime;
  uint64_t generation = 0;
  uint32_t blksize = 0;  // preferred I/O size: the stripe size for files
  AMLFS_FIELDS(ino, mode, nlink, uid, gid, size, rdev, atime, mtime, ctime, generation, blksize)
};

struct OstInfo {
  OstIndex index;
  std::string address;  // host:port
  bool up = false;
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t total_inodes = 0;  // of the OST's disk
  uint64_t free_inodes = 0;
  AMLFS_FIELDS(index, address, up, capacity_bytes, free_bytes, avail_bytes, total_inodes,
               free_inodes)
};

struct EmptyRsp {
  AMLFS_FIELDS()
};
struct AuthReq {
  static constexpr Opcode kOp = Opcode::kAuth;
  using Response = EmptyRsp;
  std::string proof;  // the client's proof over both nonces
  AMLFS_FIELDS(proof)
};

// The server's metrics, Prometheus text format (what /metrics serves).
struct StatsRsp {
  std::string text;
  AMLFS_FIELDS(text)
};
struct StatsReq {
  static constexpr Opcode kOp = Opcode::kStats;
  using Response = StatsRsp;
  AMLFS_FIELDS()
};

// ---------------------------------------------------------------- envelope

// Response payload: u32 code, string message, then the body when the code
// is kOk, else string leader (Status::leader(): the MDS replica to try
// instead, "" for none; protocol version 6). A reply recorded before that
// (server/mds/run.h) ends at the message: it reads as no leader.
std::string EncodeResponse(const Status& status, const std::string& body);
// Splits a response payload. On a non-OK code, returns that Status, with
// its leader.
Result<std::string> DecodeResponse(std::string_view payload);

// The answer of an MDS replica that does not lead, to a request only the
// leader serves: kUnavailable "not the leader; try HOST:PORT", naming
// `leader` (HOST:PORT) in the envelope too.
Status NotLeaderError(const std::string& leader);

template <typename Req>
Result<typename Req::Response> DecodeResponseAs(std::string_view payload) {
  AMLFS_ASSIGN_OR_RETURN(std::string body, DecodeResponse(payload));
  typename Req::Response rsp;
  AMLFS_RETURN_IF_ERROR(Decode(body, &rsp));
  return rsp;
}

}  // namespace amlfs
