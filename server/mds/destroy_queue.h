// DestroyQueue: the OST objects waiting to be destroyed, kept in the
// namespace database ('Q' keys, QueueRec) so that no object is forgotten
// across a crash or a change of leader.
//
// A file's objects are queued in the same batch that unlinks its last name
// (or drops its last open handle, or replaces its layout); the leader's
// background worker then drains the queue: one ObjDestroy per OST for
// every pending entry, all OSTs at once (StripedIo::DestroyEach), so an
// OST that is down or hangs holds back no other. Each entry keeps the OSTs
// that have not confirmed yet, and leaves the queue once none is left.
// Entries of a file that is still open (a migrated file's old objects,
// which readers may still be using) wait for its last close.
//
// Thread-safe as far as its parts are: Retire only adds to a Txn; Drain
// runs on one thread at a time (the MDS's worker) and takes the mutation
// lock only to commit what it learnt. Owned by the Mds.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/layout.h"
#include "server/mds/txn.h"

namespace amlfs {
class StripedIo;
}

namespace amlfs::mds {

class NamespaceStore;
class OpenTable;
class OstTable;

class DestroyQueue {
 public:
  // `io` may be null (tests): the queue is then kept, never drained.
  DestroyQueue(NamespaceStore& store, const OpenTable& opens, const OstTable& osts, StripedIo* io)
      : store_(store), opens_(opens), osts_(osts), io_(io) {}

  // Queues the destruction of `layout`'s objects of file `ino`, in `txn`.
  // Returns the entry's sequence number (its key is QueueKey(seq)), or 0
  // for an empty layout (nothing queued).
  static uint64_t Retire(Txn& txn, InodeId ino, const Layout& layout);

  // One pass over (up to 1024 entries of) the queue: destroys the objects
  // on the OSTs that are up and records which OSTs each entry still waits
  // for. Returns the number of entries still pending. An OST's failure is
  // logged at debug level and retried on the next pass.
  size_t Drain();

 private:
  NamespaceStore& store_;
  const OpenTable& opens_;
  const OstTable& osts_;
  StripedIo* const io_;
};

}  // namespace amlfs::mds
