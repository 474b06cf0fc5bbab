// Mds: the metadata server's operations, one method per request, over
// its parts:
//   NamespaceStore  the LevelDB namespace and the commit pipeline (build
//                   the batch, commit it locally or through the log,
//                   apply, reply), namespace_store.h;
//   OpenTable       open handles and layout migrations, open_table.h;
//   OstTable        the OSTs, their state and the allocator, ost_table.h;
//   DestroyQueue    objects waiting to be destroyed, destroy_queue.h;
//   LockTable       fcntl/flock locks, locks.h.
// The operations live in ops/, one file per family (attr, create, layout,
// lock, objects, open, osts, remove, rename, xattr).
//
// Reads go straight to LevelDB. Every mutation runs under the store's
// mutation lock and is turned into ONE deterministic leveldb::WriteBatch
// (Txn) that also records the encoded reply under (client, seq), so a
// retried request gets the recorded reply instead of running twice
// (at_most_once.h). A replicated MDS commits the batch through the log
// first, and every replica applies it (ApplyLogged), reply record
// included: a retry at a new leader gets the original answer. A mutation
// does not wait for its batch: it returns a Committed<Rsp> naming the
// batch its answer waits for, and the caller waits or calls back.
//
// Thread-safe. Truncate and object destruction reach the OSTs through the
// StripedIo given at Open (may be null in tests: then objects are left).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/protocol.h"
#include "common/status.h"
#include "server/mds/destroy_queue.h"
#include "server/mds/locks.h"
#include "server/mds/namespace_store.h"
#include "server/mds/open_table.h"
#include "server/mds/ost_table.h"
#include "server/mds/records.h"
#include "server/mds/txn.h"

namespace leveldb {
class DB;
class Iterator;
}  // namespace leveldb

namespace amlfs {
class StripedIo;
class OstPool;
}  // namespace amlfs

namespace amlfs::mds {

// What a mutation returns: its answer, which may leave only once batch
// `seq` and every earlier one are applied (a replicated MDS's answer must
// not report what the log does not hold yet). seq 0: nothing to wait for (a
// single MDS has written its batch before returning). The mutation does
// not wait itself; its caller decides how: Mds::Wait blocks the calling
// thread, Mds::WhenCommitted calls back (MdsService, on the RPC threads).
// If the batch fails, the answer must not leave: the caller replies with
// the failure instead (and the MDS undoes what it changed in memory).
// `then`, when set, completes a good answer once the batch is applied,
// just before it leaves (what it adds reads the applied state).
template <typename T>
struct [[nodiscard]] Committed {
  Committed(Result<T> r, uint64_t s = 0) : result(std::move(r)), seq(s) {}  // NOLINT: implicit
  Committed(Status st) : result(std::move(st)) {}                           // NOLINT: implicit
  Committed(T value) : result(std::move(value)) {}                          // NOLINT: implicit
  Result<T> result;
  uint64_t seq = 0;
  std::function<void(T&)> then;
  // The answer as it leaves: `then` applied to a good one.
  Result<T> Finished() && {
    if (result.ok() && then) then(result.value());
    return std::move(result);
  }
};

struct MdsConfig {
  std::string fs_name = "amlfs";
  int32_t default_stripe_count = 1;
  uint64_t default_stripe_size = 1 << 20;
  // The largest Data-on-MDT component (0: none), and the free space the
  // MDS keeps on its disk: an MDT object write that would leave less fails
  // with ENOSPC.
  uint64_t dom_max = 1 << 20;
  uint64_t mdt_reserve = 64ull << 20;
  std::chrono::milliseconds ost_timeout{6000};
  bool sync_writes = false;
  std::chrono::seconds orphan_grace{60};
  // A client that has not renewed its locks for this long loses them.
  std::chrono::milliseconds lock_lease{15000};
};

class Mds {
 public:
  // Opens (or creates) the namespace in `dir`. `io` and `pool` may be null.
  // With `replicator`, every batch goes through the log, and the MDS acts
  // (creates the file system, runs background work) only after TakeLead().
  static Result<std::unique_ptr<Mds>> Open(const std::string& dir, MdsConfig config, StripedIo* io,
                                           OstPool* pool, Replicator* replicator = nullptr);
  ~Mds();

  // "<16 hex digits> keys <n> applied <index>": a digest of every record in
  // the namespace database in `dir` (that no server has open), the Raft
  // applied index left out, so that replicas that applied the same log
  // print the same digest.
  static Result<std::string> Digest(const std::string& dir);
  // The same digest of the running database (amlfs mds digest).
  Result<MdsDigestRsp> DigestNow(const MdsDigestReq&);

  // Starts the background destroy-queue worker.
  void StartBackground();

  // Replicated MDS. ApplyLogged applies log entry `index` (`ops` from
  // Replicate; empty for Raft's own entries) on every replica, in log
  // order; the second form applies entries up to `last`, of which `ops`
  // are the batches (in order), in one write. AppliedIndex is the last one
  // applied. TakeLead runs when this
  // replica starts to lead: it creates the file system if the log holds
  // none and reloads what the MDS keeps in memory (the OST table, orphans);
  // StepDown stops background work.
  void ApplyLogged(uint64_t index, const std::string& ops);
  void ApplyLogged(uint64_t last, const std::vector<std::string_view>& ops);
  uint64_t AppliedIndex() { return store_->AppliedIndex(); }
  // Snapshots of the replicated MDS (snapshot.cc has the file format).
  // SaveSnapshot writes every record of the database, as of applied index
  // `index` (REQUIRES: AppliedIndex() == index, checked: kInternal), into a
  // new file at `path`, read from a LevelDB snapshot. InstallSnapshot
  // replaces the whole database with the snapshot file at `path` (which
  // must cover `index`): the file is read and checked whole first (kCorrupt,
  // naming the damage, and nothing changes), then one synced WriteBatch
  // deletes every key and writes the snapshot's, so a crash leaves either
  // state. The batch holds the whole state in memory. Call both only from
  // the thread that applies the log (InstallSnapshot: while not leading).
  Status SaveSnapshot(uint64_t index, const std::string& path) {
    return store_->SaveSnapshot(index, path);
  }
  Status InstallSnapshot(uint64_t index, const std::string& path) {
    return store_->InstallSnapshot(index, path);
  }
  Status TakeLead();
  // Runs `done` once batch `seq` and every earlier one are applied (OK) or
  // cannot be (kUnavailable): at once, or on the thread that applies the log.
  // The RPC threads answer mutations this way and never block on the log.
  void WhenCommitted(uint64_t seq, std::function<void(Status)> done) {
    store_->WhenCommitted(seq, std::move(done));
  }
  // Blocks until batch `seq` and every earlier one are applied (OK), cannot
  // be, or 10 s have passed (kUnavailable). seq 0: returns OK at once.
  Status WaitCommitted(uint64_t seq) { return store_->WaitCommitted(seq); }
  // A mutation's answer once it may leave: blocks as WaitCommitted(c.seq),
  // then returns c.result, or the reason its batch did not commit.
  template <typename T>
  Result<T> Wait(Committed<T> c) {
    if (Status st = WaitCommitted(c.seq); !st.ok()) return st;
    return std::move(c).Finished();
  }
  void StepDown() { leading_ = false; }
  bool leading() const { return leading_; }

  // Read-only operations.
  Result<FsInfoRsp> FsInfo(const FsInfoReq& r);
  Result<EntryRsp> Lookup(const LookupReq& r);
  Result<AttrRsp> GetAttr(const GetAttrReq& r);
  Result<ReadlinkRsp> Readlink(const ReadlinkReq& r);
  Result<ReadDirRsp> ReadDir(const ReadDirReq& r);
  Result<StatFsRsp> StatFs(const StatFsReq& r);
  Result<XattrValueRsp> GetXattr(const GetXattrReq& r);
  Result<XattrListRsp> ListXattr(const ListXattrReq& r);
  Result<EmptyRsp> Access(const AccessReq& r);
  Result<OstMapRsp> OstMap(const OstMapReq& r);
  Result<GetLayoutRsp> GetLayout(const GetLayoutReq& r);
  Result<Fid2PathRsp> Fid2Path(const Fid2PathReq& r);
  // Locks (ops/lock.cc). SetLk answers through `done`, at once or, for a
  // waiting request, when the lock is granted.
  Result<LockRsp> GetLk(const GetLkReq& r);
  void SetLk(const SetLkReq& r, std::function<void(Status)> done);
  Result<EmptyRsp> LockCancel(const LockCancelReq& r);
  Result<EmptyRsp> LockRelease(const LockReleaseReq& r);
  Result<LockRenewRsp> LockRenew(const LockRenewReq& r);
  LockTable& locks() { return locks_; }

  // Mutations: each is one WriteBatch (see Run()), its answer good once
  // that batch commits (see Committed).
  Committed<AppendRsp> Append(const AppendReq& r);
  Committed<AttrRsp> SetAttr(const SetAttrReq& r);
  Committed<EntryRsp> Mknod(const MknodReq& r);
  Committed<EntryRsp> Mkdir(const MkdirReq& r);
  Committed<EntryRsp> Symlink(const SymlinkReq& r);
  Committed<EntryRsp> Link(const LinkReq& r);
  Committed<EmptyRsp> Unlink(const UnlinkReq& r);
  Committed<EmptyRsp> Rmdir(const RmdirReq& r);
  Committed<EmptyRsp> Rename(const RenameReq& r);
  Committed<OpenRsp> OpenFile(const OpenReq& r);
  Committed<OpenRsp> Create(const CreateReq& r);
  Committed<EmptyRsp> Release(const ReleaseReq& r);
  Committed<EmptyRsp> SetXattr(const SetXattrReq& r);
  Committed<EmptyRsp> RemoveXattr(const RemoveXattrReq& r);
  Committed<AttrRsp> UpdateSize(const UpdateSizeReq& r);
  Committed<AttrRsp> SetLayout(const SetLayoutReq& r);
  Committed<MigrateBeginRsp> MigrateBegin(const MigrateBeginReq& r);
  Committed<AttrRsp> MigrateCommit(const MigrateCommitReq& r);
  Committed<OstRegisterRsp> OstRegister(const OstRegisterReq& r);

  // The MDT as the target of Data-on-MDT components (ops/objects.cc): the
  // OSTs' object requests, for the objects of MDT components of the files'
  // layouts (or of a migration's new layout). An object is one record,
  // written through the commit pipeline (replicated with the namespace);
  // holes and a missing object read as zeros, as on an OST. A write or
  // fallocate of a file's own MDT object also grows its size and sets its
  // mtime in the same batch: a writer whose bytes all lie in the MDT
  // component reports no size (Mount::ReportSize).
  Committed<EmptyRsp> ObjWrite(const ObjWriteReq& r);
  Result<ObjReadRsp> ObjRead(const ObjReadReq& r);
  Committed<EmptyRsp> ObjTruncate(const ObjTruncateReq& r);
  Result<EmptyRsp> ObjSync(const ObjSyncReq& r);
  Committed<EmptyRsp> ObjDestroy(const ObjDestroyReq& r);
  Result<ObjExtentsRsp> ObjExtents(const ObjExtentsReq& r);
  Committed<EmptyRsp> ObjFallocate(const ObjFallocateReq& r);
  // Serves one object request (opcode `op`, encoded `payload`) from this
  // process (the MDS's own truncates and destroys through StripedIo):
  // `done` gets the encoded response body or the error, once, possibly on
  // the thread that applies the log.
  void ServeObject(Opcode op, std::string_view payload,
                   std::function<void(Result<std::string>)> done);

  // One pass over the destroy queue (the background worker calls it every
  // second). Returns the number of queue entries still pending.
  size_t DrainDestroyQueue();
  // Destroys orphans left by an earlier run whose grace period is over.
  void ReapStartupOrphans();

  // What the ops/*.cc files and their helpers share.
  leveldb::DB* db() { return store_->db(); }
  const MdsConfig& config() const { return config_; }
  Result<InodeRec> ReadInode(InodeId ino) { return store_->ReadInode(ino); }
  // True when `ino` has stored extended attributes (layouts are not stored
  // ones). `it`: an iterator to reuse, for many inodes in a row.
  bool HasXattrs(InodeId ino, leveldb::Iterator* it = nullptr);
  // A new layout for `t` (empty: the file system default) over the OSTs
  // registered now; component ids start at `first_id`.
  Result<Layout> NewLayout(const LayoutTemplate& t, uint32_t first_id = 0) {
    return osts_->Allocate(t, first_id);
  }
  // The default layout of directory `dir`: its own, else its nearest
  // ancestor's, else the file system's (the root's, else empty).
  LayoutTemplate InheritedTemplate(const InodeRec& dir);
  bool IsOpen(InodeId ino) { return opens_.IsOpen(ino); }
  // Sets a directory's default layout or an empty file's layout (kBusy for
  // a file with data, or open by another client).
  Status SetLayoutLocked(Txn& txn, const Caller& c, InodeRec& rec, const LayoutTemplate& t);
  // Queues the destruction of an inode with no links and no opens.
  void DestroyInode(Txn& txn, const InodeRec& rec);

 private:
  Mds() = default;
  Status Init();
  Status CreateIfMissing(std::unique_lock<std::mutex>& lk);
  void LoadState();
  // Serialises a mutation, replays a recorded reply for (client, seq), and
  // commits the batch `fn` builds together with the reply record. Returns
  // without waiting for the commit: the answer names the batch it waits for
  // (at_most_once.h).
  template <typename Rsp, typename Fn>
  Committed<Rsp> Run(const Caller& caller, Fn&& fn);
  Result<OpenRsp> OpenLocked(Txn& txn, const Caller& caller, InodeRec rec, uint32_t flags);
  Result<OpenRsp> WithXattrHint(Txn& txn, Result<OpenRsp> rsp);
  // Cuts the objects of regular file `ino` to `size` (if that shrinks it),
  // checking write permission first when `check_write`. Called before the
  // mutation that commits the size, outside the mutation lock.
  Status TruncateObjects(const Caller& c, InodeId ino, uint64_t size, bool check_write);
  // Records a new open handle of `rec` (in memory) and answers with it. The
  // handle is dropped again if `txn`'s batch (or one it read) fails.
  OpenRsp RegisterOpen(Txn& txn, const InodeRec& rec, const Caller& c, uint32_t flags);
  // An MDT object a request names: the object of an MDT component of the
  // file's layout (then `inode` is the file's record) or of its
  // migration's new one; kNotFound otherwise. `limit`: the length it may
  // reach, its component's.
  struct MdtObject {
    uint64_t limit = 0;
    std::optional<InodeRec> inode;
  };
  Result<MdtObject> FindMdtObject(Txn& txn, const ObjectId& obj);
  // kNoSpace when writing `bytes` to the MDT would leave less than
  // config_.mdt_reserve free on its disk.
  Status MdtRoomFor(uint64_t bytes);

  MdsConfig config_;
  std::unique_ptr<NamespaceStore> store_;
  StripedIo* io_ = nullptr;
  std::unique_ptr<OstTable> osts_;
  OpenTable opens_;
  std::unique_ptr<DestroyQueue> queue_;
  std::atomic<bool> leading_{true};
  LockTable locks_;

  std::mutex state_mu_;  // guards the members below
  std::string fs_uuid_;
  std::vector<uint64_t> startup_orphans_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  std::thread worker_;
  std::mutex worker_mu_;
  std::condition_variable worker_cv_;
  bool stopping_ = false;
};

}  // namespace amlfs::mds
