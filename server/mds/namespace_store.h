// NamespaceStore: the namespace database (LevelDB, keys.h's schema) and the
// commit pipeline every mutation goes through.
//
// A mutation, holding the mutation lock (mutation_mu), reads through a Txn
// (MutationTxn) and builds ONE batch; CommitAsync then writes it to LevelDB
// (a single MDS) or hands it to the replicated log (a Replicator), where it
// is pending until every replica has applied it (ApplyLogged). The answer
// built on a batch may leave once that batch, and every earlier one, is
// applied: WaitCommitted blocks for it, WhenCommitted calls back. So the
// sequence of every mutation is: build the batch, commit it, apply, reply.
//
// Reads that answer clients go straight to the database (db()) and never
// see pending batches. Snapshots (snapshot.cc has the file format) copy the
// whole database out and in, for Raft's log compaction.
//
// Thread-safe; the db() pointer is owned here and valid for the store's
// life. Errors: kIo for a database that cannot be opened or written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol.h"
#include "common/status.h"
#include "server/mds/txn.h"

namespace leveldb {
class DB;
}

namespace amlfs::mds {

// Commits batches through a replicated log (raft::Replica behind it, see
// amlfs-mds --peers). Without one, the store writes batches straight to
// LevelDB.
class Replicator {
 public:
  virtual ~Replicator() = default;
  // Appends `ops` to the log; `done` runs once this replica has applied it
  // (NamespaceStore::ApplyLogged), or with kUnavailable when it cannot be
  // committed in the term this replica leads now (its outcome is then
  // unknown). Calls are appended in the order they are made.
  virtual void Replicate(std::string ops, std::function<void(Status)> done) = 0;
};

class NamespaceStore {
 public:
  // Opens (or creates) the database in `dir`/db. With `sync_writes` every
  // local batch is fsynced; with `replicator` (may be null) batches go
  // through the log instead.
  static Result<std::unique_ptr<NamespaceStore>> Open(const std::string& dir, bool sync_writes,
                                                      Replicator* replicator);
  ~NamespaceStore();

  leveldb::DB* db() { return db_.get(); }
  const std::string& dir() const { return dir_; }
  bool replicated() const { return replicator_ != nullptr; }

  // Serialises mutations: held while a batch is built and handed on, not
  // while it commits.
  std::mutex& mutation_mu() { return mutate_mu_; }
  // A Txn for a mutation: reads through the batches not yet applied.
  Txn MutationTxn(Timespec now);
  // Writes the Txn's batch (alone), or sends it to the log (replicated):
  // then *seq is the pending batch to wait for, after releasing the
  // mutation lock, before the answer leaves. When the batch fails (the
  // write here, or later in the log), the Txn's undo actions run.
  // REQUIRES: mutation_mu() held.
  Status CommitAsync(Txn& txn, uint64_t* seq);
  // CommitAsync, then (having released `lk`, the mutation lock: the log
  // commits without it) WaitCommitted.
  Status Commit(Txn& txn, std::unique_lock<std::mutex>& lk);
  // Blocks until batch `seq` and every earlier one are applied (OK), cannot
  // be, or 10 s have passed (kUnavailable). seq 0: returns OK at once.
  Status WaitCommitted(uint64_t seq);
  // Runs `done` once batch `seq` and every earlier one are applied (OK) or
  // cannot be (kUnavailable): at once, or on the thread that applies the log.
  void WhenCommitted(uint64_t seq, std::function<void(Status)> done);
  // A new leadership starts with nothing pending (the last one's batches
  // have all failed or been applied). REQUIRES: mutation_mu() held.
  void ResetPending();

  // Applies log entries up to `last`, of which `ops` are the batches (in
  // order), in one write. On every replica, in log order. A write that
  // fails aborts the process: a replica that cannot apply must not answer.
  void ApplyLogged(uint64_t last, const std::vector<std::string_view>& ops);
  // The last log index applied (0 for a single MDS).
  uint64_t AppliedIndex();

  // The inode `ino` as the database holds it (kNotFound).
  Result<InodeRec> ReadInode(InodeId ino);

  // A digest of every record but the applied index (equal on replicas that
  // applied the same log), of the running database or of the one in `dir`
  // (that no server has open): "<16 hex digits> keys <n> applied <index>".
  MdsDigestRsp DigestNow();
  static Result<std::string> Digest(const std::string& dir);

  // SaveSnapshot writes every record, as of applied index `index`
  // (REQUIRES: AppliedIndex() == index, checked: kInternal), into a new
  // file at `path`, read from a LevelDB snapshot. InstallSnapshot replaces
  // the whole database with the snapshot file at `path` (which must cover
  // `index`): the file is read and checked whole first (kCorrupt, naming
  // the damage, and nothing changes), then one synced WriteBatch deletes
  // every key and writes the snapshot's, so a crash leaves either state.
  // Call both only from the thread that applies the log.
  Status SaveSnapshot(uint64_t index, const std::string& path);
  Status InstallSnapshot(uint64_t index, const std::string& path);

 private:
  NamespaceStore() = default;

  std::unique_ptr<leveldb::DB> db_;
  std::string dir_;
  bool sync_writes_ = false;
  Replicator* replicator_ = nullptr;
  std::mutex mutate_mu_;
  PendingChanges pending_;
};

}  // namespace amlfs::mds
