// The amlfs wire protocol, locks: fcntl and flock locks, held by the MDS.
// See protocol_base.h for the conventions.
#pragma once

#include <cstdint>

#include "common/protocol_base.h"

namespace amlfs {

// A byte-range (fcntl) or flock lock. Types are Linux's F_RDLCK, F_WRLCK and
// F_UNLCK; `end` is inclusive (kLockEof: to the end of the file, and beyond).
// `client` is filled in by the MDS from the request's caller.
enum LockType : uint32_t { kLockRead = 0, kLockWrite = 1, kLockUnlock = 2 };
inline constexpr uint64_t kLockEof = ~uint64_t{0};
struct LockSpec {
  ClientId client;
  uint64_t owner = 0;  // the lock owner the client's kernel named
  uint32_t type = kLockUnlock;
  uint64_t start = 0;
  uint64_t end = kLockEof;
  uint32_t pid = 0;    // reported by F_GETLK
  bool flock = false;  // an flock(2) lock (whole file, its own space)
  bool wait = false;   // F_SETLKW / flock without LOCK_NB
  AMLFS_FIELDS(client, owner, type, start, end, pid, flock, wait)
};

// Locks (see LockSpec). GetLk answers the lock that blocks `lock`, or one
// of type kLockUnlock. SetLk sets or releases it; with `wait` the answer
// comes when it is granted (kInterrupted if LockCancel cancels it first).
// LockRelease drops every lock of an owner on a file (close). LockRenew is
// each client's heartbeat: the MDS drops the locks of a client it has not
// heard from for its lock lease; `bye` drops them at once (unmount).
struct LockRsp {
  LockSpec lock;
  AMLFS_FIELDS(lock)
};
struct GetLkReq {
  static constexpr Opcode kOp = Opcode::kGetLk;
  using Response = LockRsp;
  Caller caller;
  InodeId ino;
  LockSpec lock;
  AMLFS_FIELDS(caller, ino, lock)
};
struct SetLkReq {
  static constexpr Opcode kOp = Opcode::kSetLk;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  LockSpec lock;
  AMLFS_FIELDS(caller, ino, lock)
};
struct LockCancelReq {
  static constexpr Opcode kOp = Opcode::kLockCancel;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  uint64_t owner = 0;
  AMLFS_FIELDS(caller, ino, owner)
};
struct LockReleaseReq {
  static constexpr Opcode kOp = Opcode::kLockRelease;
  using Response = EmptyRsp;
  Caller caller;
  InodeId ino;
  uint64_t owner = 0;
  bool flock = false;
  AMLFS_FIELDS(caller, ino, owner, flock)
};
struct LockRenewRsp {
  uint32_t lease_ms = 0;  // the MDS's lock lease
  AMLFS_FIELDS(lease_ms)
};
struct LockRenewReq {
  static constexpr Opcode kOp = Opcode::kLockRenew;
  using Response = LockRenewRsp;
  Caller caller;
  bool bye = false;
  AMLFS_FIELDS(caller, bye)
};

}  // namespace amlfs
