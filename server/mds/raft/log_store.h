// LogStore: the on-disk state of one Raft replica — its hard state (current
// term and vote) and its log of entries — kept in one directory.
//
// Open() loads everything into memory; every later call reads from memory
// and every change is durable (fsync'd) on disk before the call returns, so
// a replica may answer a peer as soon as the call succeeds.
//
// Ownership: the LogStore owns its directory's files ("hardstate", "log")
// and the file descriptor of the log. Nothing else may write them while it
// is open. at() returns references into the store, valid until the next
// call that changes the log (Append, TruncateFrom, CompactTo).
//
// Thread safety: none. One owner calls everything, from one thread at a time.
//
// Errors: Open() fails with kCorrupt when a whole record of the log (or the
// hard state file) is damaged, naming the file, byte offset and index; it
// then changes nothing on disk. A torn last record (one that runs past the
// end of the file: a write that was never fsync'd, so never acknowledged) is
// not an error: it is cut off with a warning. Other I/O failures come back
// as the Status of the errno (FromErrno). After a write or fsync fails, the
// state of the files is unknown, so every later change fails with that same
// Status: the owner must reopen the store.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/mds/raft/types.h"

namespace amlfs::raft {

class LogStore {
 public:
  // Opens (creating if absent) the store in directory `dir`: loads the hard
  // state and every log entry. Only `dir` itself is created, not its parents.
  static Result<std::unique_ptr<LogStore>> Open(const std::string& dir);

  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  const HardState& hard_state() const { return hard_state_; }
  // Index of the first entry kept: 1 when nothing was compacted;
  // last_index()+1 when the log is empty.
  Index first_index() const { return compacted_index_ + 1; }
  // 0 when the log is empty and nothing was compacted.
  Index last_index() const { return compacted_index_ + entries_.size(); }
  // 0 if i == 0 or i is outside the kept log; the compacted point's term
  // for i == first_index()-1.
  Term term_at(Index i) const;
  // REQUIRES: first_index() <= i <= last_index()
  const Entry& at(Index i) const;

  // Replaces the hard state atomically (temp file, fsync, rename, fsync dir).
  Status SaveHardState(const HardState& hs);
  // Appends a batch with a single fsync. An empty batch is a no-op.
  // REQUIRES: entries[0].index == last_index()+1 and consecutive indices
  // (checked: kInvalid otherwise, nothing written). kTooBig if one entry's
  // data is too large for a record (~4 GiB).
  Status Append(const std::vector<Entry>& entries);
  // Drops the entries >= index (none if index > last_index()).
  // REQUIRES: index >= first_index() (checked: kInvalid otherwise).
  Status TruncateFrom(Index index);
  // Log compaction after a snapshot covering everything up to (index, term):
  // drops the entries <= index and remembers (index, term) as the compacted
  // point, so term_at(index) == term. If the log does not hold `index` with
  // that same term (e.g. a snapshot installed from a leader that is ahead),
  // the entries after it belong to another history and are dropped too
  // (extended Raft paper, InstallSnapshot rules 6-7). No-op if
  // index < first_index(). Rewrites the log into a new file. `config` (the
  // configuration as of `index`, opaque here) is kept with the point.
  Status CompactTo(Index index, Term term, std::string config = {});
  // What the last CompactTo recorded (empty: nothing, or an older log).
  const std::string& compacted_config() const { return compacted_config_; }

 private:
  LogStore(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  // Records a failure of a change so that later changes refuse to run.
  Status Fail(Status st);

  const std::string dir_;
  int fd_;  // the "log" file, open read-write
  HardState hard_state_;
  Index compacted_index_ = 0;
  Term compacted_term_ = 0;
  std::string compacted_config_;
  std::vector<Entry> entries_;     // entries_[k] has index first_index()+k
  std::vector<uint64_t> offsets_;  // byte offset of entries_[k]'s record
  uint64_t end_ = 0;               // byte length of the valid log
  Status failed_;                  // sticky: set by a failed write or fsync
};

}  // namespace amlfs::raft
