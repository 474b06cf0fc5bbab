// Txn: the changes of one mutation, buffered as a key -> value overlay over
// the database and committed as one leveldb::WriteBatch. Reads through the
// Txn see its own earlier writes, so an operation may read, change and
// re-read the same inode (rename within one directory) safely.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/mds/records.h"

namespace leveldb {
class DB;
class WriteBatch;
}  // namespace leveldb

namespace amlfs::mds {

// The changes of the batches a replicated MDS's leader has sent to the log
// and not yet applied (newest value per key). Mutations read through them,
// so that the next batch is built while earlier ones commit and one log
// write carries many; replies wait until their batch (and so every batch
// they read from) is applied. Reads that answer clients never see them.
//
// Within one term the leader's log only grows, so its batches commit in
// the order they were added, and when one fails, every later one fails too.
//
// Thread-safe.
class PendingChanges {
 public:
  using Changes = std::map<std::string, std::optional<std::string>>;
  // Records a batch about to be proposed; returns its number (from 1).
  // `undo` (may be empty) runs if the batch's outcome is a failure.
  uint64_t Add(const Changes& changes, std::function<void()> undo = {});
  // Batch `seq` is applied (committed), or will never be (!committed): its
  // changes, and on failure every later batch's, leave the view. Its undo
  // runs (on this thread, outside the lock) when it failed, or an earlier
  // batch did (the answers built on it fail then too).
  void Done(uint64_t seq, bool committed);
  // The newest pending value of `key` (nullopt: deleted) and its batch.
  bool Find(const std::string& key, std::optional<std::string>* value, uint64_t* seq) const;
  // Every pending key starting with `prefix`; *seq: the newest batch among them.
  Changes Scan(const std::string& prefix, uint64_t* seq) const;
  // Waits until batch `seq` and every earlier one are done (at most
  // `limit`): OK when none of them failed, else kUnavailable.
  Status Wait(uint64_t seq, std::chrono::milliseconds limit);
  // Runs `done` with what Wait(seq) would return, once it would return:
  // at once on this thread if batch `seq` and every earlier one are done,
  // else on the thread that calls the last of their Done()s.
  void WhenDone(uint64_t seq, std::function<void(Status)> done);
  // Forgets failures (a new leadership starts with nothing pending).
  void Reset();

 private:
  struct Value {
    std::optional<std::string> value;
    uint64_t seq = 0;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Value> keys_;
  struct Open {
    std::vector<std::string> keys;
    std::function<void()> undo;
  };
  std::map<uint64_t, Open> open_;                                 // batch -> its keys
  std::multimap<uint64_t, std::function<void(Status)>> waiters_;  // WhenDone, by batch
  uint64_t next_ = 1;
  uint64_t failed_from_ = UINT64_MAX;  // the first batch that failed

  Status OutcomeLocked(uint64_t seq) const;
};

class Txn {
 public:
  // `pending`: the batches a replicated leader has not applied yet, read
  // under the database (mutations only).
  Txn(leveldb::DB* db, Timespec now, PendingChanges* pending = nullptr)
      : db_(db), now_(now), pending_(pending) {}

  const Timespec& now() const { return now_; }

  Result<std::optional<std::string>> Get(const std::string& key);
  // The newest pending batch this Txn read from (0: none): an answer built
  // on what it read may leave only once that batch is applied.
  uint64_t read_seq() const { return read_seq_; }
  void Put(const std::string& key, std::string value) { overlay_[key] = std::move(value); }
  void Delete(const std::string& key) { overlay_[key] = std::nullopt; }

  // Typed helpers.
  Result<InodeRec> Inode(InodeId ino);  // kNotFound if missing
  void PutInode(const InodeRec& rec);
  Result<std::optional<DentryRec>> Dentry(InodeId parent, const std::string& name);
  void PutDentry(InodeId parent, const std::string& name, const InodeRec& child);
  void DeleteDentry(InodeId parent, const std::string& name);
  uint64_t Counter(const char* name);  // current value of a superblock counter
  void SetCounter(const char* name, uint64_t v);
  // True when some key starts with `prefix` (considering this Txn's changes).
  Result<bool> AnyWithPrefix(const std::string& prefix);
  // True when the directory has no entry.
  Result<bool> DirEmpty(InodeId dir);
  // True when `ino` has stored extended attributes.
  Result<bool> HasXattrs(InodeId ino);

  void FillBatch(leveldb::WriteBatch* batch) const;
  // The changes: key -> new value, or nullopt for a deletion.
  const std::map<std::string, std::optional<std::string>>& changes() const { return overlay_; }
  bool empty() const { return overlay_.empty(); }
  // What to do to the MDS's memory if this mutation does not happen after
  // all (its batch fails, or the operation itself fails after changing
  // memory). TakeUndo returns the actions as one, newest first (empty when
  // there are none), and clears them.
  void OnFailure(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
  std::function<void()> TakeUndo();

 private:
  leveldb::DB* db_;
  Timespec now_;
  PendingChanges* pending_;
  uint64_t read_seq_ = 0;
  std::map<std::string, std::optional<std::string>> overlay_;
  std::vector<std::function<void()>> undo_;
};

}  // namespace amlfs::mds
