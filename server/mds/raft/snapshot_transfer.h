// Snapshot files of one Raft replica and their transfer in chunks
// (kSnapshot messages), used by raft::Replica (replica.h).
//
// A replica's directory holds at most one complete snapshot,
// "snapshot-<index>-<term>" (decimal): the state machine's state as of log
// entry <index>, of term <term>. Its contents are the owner's business
// (opaque here). It is only ever made by renaming a fsync'd file:
// "snapshot.tmp" (saved locally) or "snapshot.recv" (received from the
// leader); leftovers of either are removed at start-up.
//
// Thread safety: none; the replica's thread owns these.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "server/mds/raft/types.h"

namespace amlfs::raft {

// Larger kSnapshot chunks are malformed (frames carry up to 64 MiB).
inline constexpr size_t kMaxSnapshotChunk = 16u << 20;

struct SnapshotFile {
  Index index = 0;
  Term term = 0;
  std::string path;
  // The configuration as of `index` (EncodeMembers), kept beside the file
  // ("<path>.members"): a replica that crashes after receiving a snapshot
  // and before compacting its log to it restarts with the right members.
  // Empty when none was recorded.
  std::string config;
};

// The latest snapshot in `dir`, or nullopt. Older snapshots and leftover
// temporary files are removed.
Result<std::optional<SnapshotFile>> FindSnapshot(const std::string& dir);
// The file name a snapshot (index, term) has in `dir`.
std::string SnapshotPath(const std::string& dir, Index index, Term term);
// Makes the written file `tmp` the snapshot (index, term) of `dir`, with
// configuration `config` written beside it first: fsync, rename, fsync the
// directory.
Result<SnapshotFile> PublishSnapshot(const std::string& dir, const std::string& tmp, Index index,
                                     Term term, const std::string& config);
// Removes every snapshot of `dir` but `keep`.
void RemoveOtherSnapshots(const std::string& dir, const SnapshotFile& keep);

// The leader's side of one transfer: reads the snapshot file (kept open,
// so that a newer snapshot may replace it meanwhile) one chunk at a time;
// the next chunk goes once the follower acknowledged the last one.
class SnapshotSender {
 public:
  static Result<std::unique_ptr<SnapshotSender>> Open(const SnapshotFile& f, size_t chunk);
  ~SnapshotSender();
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  // The chunk at the current offset (type, index, log_term, offset, data,
  // done set; the caller addresses it).
  Result<Message> Chunk();
  // The follower has `offset` bytes. True when that acknowledges the chunk
  // last sent (the current offset moves on); stale or duplicate
  // acknowledgements are ignored.
  bool Acked(uint64_t offset);
  // The follower lost track: send again from the start.
  void Restart() { offset_ = sent_end_ = 0; }

  Index index() const { return index_; }
  int idle_ticks = 0;  // ticks since the follower last answered

 private:
  SnapshotSender(int fd, Index index, Term term, uint64_t size, size_t chunk)
      : fd_(fd), index_(index), term_(term), size_(size), chunk_(chunk) {}
  int fd_;
  Index index_;
  Term term_;
  uint64_t size_;
  size_t chunk_;
  uint64_t offset_ = 0;    // acknowledged
  uint64_t sent_end_ = 0;  // end of the chunk last sent
};

// The follower's side: assembles the chunks of one snapshot from one
// leader into "snapshot.recv" in order.
class SnapshotReceiver {
 public:
  explicit SnapshotReceiver(std::string dir) : dir_(std::move(dir)) {}
  ~SnapshotReceiver() { Reset(); }
  SnapshotReceiver(const SnapshotReceiver&) = delete;
  SnapshotReceiver& operator=(const SnapshotReceiver&) = delete;

  enum class Outcome {
    kAck,       // written: acknowledge received()
    kMismatch,  // not the next chunk of the transfer under way: ask to restart
    kComplete,  // the last chunk: the whole file is fsync'd at path()
  };
  // A chunk (offset 0 starts a new transfer, dropping any other). I/O
  // errors drop the transfer and come back as the errno's Status.
  Result<Outcome> Take(const Message& m);
  uint64_t received() const { return size_; }
  std::string path() const;
  // Drops the transfer under way (the partial file goes).
  void Reset();

 private:
  const std::string dir_;
  int fd_ = -1;
  NodeId from_ = 0;
  Term term_ = 0;
  Index index_ = 0;
  Term log_term_ = 0;
  uint64_t size_ = 0;
};

}  // namespace amlfs::raft
