// LockTable: the cluster's byte-range (fcntl) and flock locks, held by the
// MDS in memory.
//
// An owner is (client node, lock owner id the node's kernel gave): locks of
// one owner never conflict with each other, and setting a lock replaces the
// owner's locks over that range (splitting or merging them), as POSIX says.
// flock locks live in their own space and never conflict with fcntl locks,
// as on Linux. A blocked request (wait) is kept and answered when it can be
// granted, in arrival order, so a waiter is woken once, by the release that
// frees it, with no polling. A client that stops renewing its lease loses
// its locks and its waiters, so a crashed node never wedges the others.
// Locks do not survive an MDS restart.
//
// Thread-safe. Callbacks run after the table's mutex is released.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "common/protocol.h"
#include "common/status.h"

namespace amlfs::mds {

class LockTable {
 public:
  using Done = std::function<void(Status)>;
  using Clock = std::chrono::steady_clock;

  // The lock of another owner that would block `want` (type kLockUnlock in
  // `want` is never blocked), or nullopt.
  std::optional<LockSpec> Test(uint64_t ino, const LockSpec& want);

  // Sets (or with kLockUnlock, releases) `want`. `done` gets OK when it is
  // done; kAgain when it conflicts and !want.wait; for a waiting request,
  // OK once granted, or kInterrupted when cancelled, kUnavailable when the
  // owner's lease ends meanwhile.
  void Set(uint64_t ino, const LockSpec& want, Done done);

  // Cancels the waiting requests of (client, owner) on `ino`.
  void Cancel(uint64_t ino, ClientId client, uint64_t owner);

  // Releases every lock (fcntl or flock, per `flock`) of (client, owner)
  // on `ino`: what close does.
  void ReleaseOwner(uint64_t ino, ClientId client, uint64_t owner, bool flock);

  // The client is alive: renews its lease.
  void Renew(ClientId client, Clock::time_point now = Clock::now());
  // Drops every lock and waiter of clients not renewed since `before`,
  // and of `client` when given (a clean unmount). Returns how many clients.
  size_t Expire(Clock::time_point before);
  void DropClient(ClientId client);

  // Locks held on `ino`, for tests and diagnostics.
  std::vector<LockSpec> Held(uint64_t ino);

 private:
  struct Waiter {
    LockSpec want;
    Done done;
  };
  struct File {
    std::vector<LockSpec> locks;
    std::list<Waiter> waiters;
  };
  using Fired = std::vector<std::pair<Done, Status>>;

  const LockSpec* ConflictLocked(const File& f, const LockSpec& want) const;
  static void ApplyLocked(File& f, const LockSpec& want);
  // Grants the waiters of `f` that no longer conflict, in order.
  void WakeLocked(File& f, Fired* fired);
  void DropClientsLocked(const std::vector<ClientId>& gone, Fired* fired);
  static void Fire(Fired& fired);

  std::mutex mu_;
  std::map<uint64_t, File> files_;
  std::map<ClientId, Clock::time_point> leases_;
};

}  // namespace amlfs::mds
