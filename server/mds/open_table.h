// OpenTable: the files clients have open, and the layout migrations under
// way, in the leader's memory.
//
// An open handle keeps an unlinked file alive (its inode dies at the last
// release), and makes `lfs setstripe`/`lfs migrate` refuse a file that
// someone else has open for writing. A migration (MigrateBegin ..
// MigrateCommit) is superseded by a newer one of the same file, and fails
// at commit if anyone opened the file for writing meanwhile (`dirty`).
// Handles live only here: after a restart or a change of leader, clients'
// old handles are unknown (a release of one does nothing).
//
// Thread-safe (one mutex; no call reaches out of the table). Owned by the
// Mds. The caller keeps the table in step with its batches: what it adds
// for a batch that fails it takes back (Txn::OnFailure).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "common/layout.h"
#include "common/status.h"
#include "common/types.h"

namespace amlfs::mds {

class OpenTable {
 public:
  // A new handle of `ino` (from 1, never reused). A writer's open marks
  // the file's migration, if one is under way, dirty.
  uint64_t Add(InodeId ino, ClientId client, bool writer);
  // Forgets `handle`. True when it was the last open handle of its file;
  // false for an unknown handle (one from before a restart) too.
  bool Drop(uint64_t handle);
  bool IsOpen(InodeId ino) const;
  // True when a client other than `me` (any client, if `me` is 0) has `ino`
  // open (for writing only, when `writers`).
  bool OpenByOthers(InodeId ino, ClientId me, bool writers) const;

  struct Migration {
    uint64_t token = 0;
    bool dirty = false;      // someone opened the file for writing since it began
    Layout layout;           // the new layout
    uint64_t queue_seq = 0;  // its objects' destroy-queue entry, until commit
  };
  // Starts a migration of `ino` to `layout` (superseding any other);
  // returns its token.
  uint64_t BeginMigration(InodeId ino, Layout layout, uint64_t queue_seq);
  // Forgets migration `token` of `ino`, if it is still the current one.
  void ForgetMigration(InodeId ino, uint64_t token);
  // Takes migration `token` of `ino` out of the table; kBusy when another
  // one superseded it (or none is under way).
  Result<Migration> EndMigration(InodeId ino, uint64_t token);
  // The new layout of the migration of `ino` under way, if any.
  std::optional<Layout> MigrationLayout(InodeId ino) const;

 private:
  struct Handle {
    uint64_t ino = 0;
    ClientId client;
    bool writer = false;
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Handle> handles_;
  std::map<uint64_t, uint32_t> open_counts_;  // ino -> open handles
  std::map<uint64_t, Migration> migrations_;  // ino -> the migration under way
  uint64_t next_handle_ = 1;
  uint64_t next_migration_ = 1;
};

}  // namespace amlfs::mds
