// File data: create, open, read, write, flush, fsync, release, fallocate,
// lseek. Data moves between this node and the OSTs directly (StripedIo);
// the MDS only hears about opens, closes and the size writers reached.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>

#include "fuse/guard.h"
#include "fuse/mount.h"
#include "fuse/observe.h"

namespace amlfs::fuse {
namespace {

OpenFile* FhOf(fuse_file_info* fi) { return reinterpret_cast<OpenFile*>(fi->fh); }

void ReplyOpened(fuse_req_t req, fuse_file_info* fi, OpenRsp& rsp, bool create) {
  Mount& c = MountOf(req);
  // The head is the MDT's: with another handle of the file open here, this
  // node may hold writes the MDT has not seen yet.
  if (!rsp.head.empty() && c.IsOpenHere(rsp.attr.ino.value())) rsp.head.clear();
  auto fh = std::make_unique<OpenFile>(c, rsp, static_cast<uint32_t>(fi->flags));
  c.NoteXattrs(rsp.attr.ino.value(), rsp.no_xattrs);
  fi->keep_cache = c.inodes().KeepCache(rsp.attr) ? 1 : 0;
  // Appends land where the MDS puts them, not where the kernel would cache
  // them: they bypass the page cache.
  if (fi->flags & O_APPEND) {
    fi->direct_io = 1;
    fi->keep_cache = 0;
  }
  if (fi->flags & O_TRUNC) {
    c.inodes().Truncated(rsp.attr.ino.value(), rsp.attr.size);
    c.DropHeads(rsp.attr.ino.value());
  }
  // Close-to-open: the size and mtime the MDS gave this open replace any
  // older ones the kernel holds, or it would read to a stale end of file.
  if (!create && c.inodes().KernelAttrsStale(rsp.attr)) c.DropAttrs(rsp.attr.ino.value());
  fi->fh = reinterpret_cast<uint64_t>(fh.get());
  c.TrackOpen(fh.get());
  int rc;
  if (create) {
    fuse_entry_param e = MakeEntry(c, rsp.attr);
    c.inodes().Lookup(e.ino);
    NoteShown(c, e.attr);
    rc = fuse_reply_create(req, &e, fi);
    if (rc != 0) c.inodes().Forget(e.ino, 1);
  } else {
    rc = fuse_reply_open(req, fi);
  }
  if (rc == 0) {
    fh.release();
  } else {
    c.UntrackOpen(fh.get());
    ReleaseReq rel;
    rel.ino = rsp.attr.ino;
    rel.handle = rsp.handle;
    c.mds().CallAsync(rel, Creds{}, [](Result<EmptyRsp>) {});
  }
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  if (std::strlen(name) > 255) return ReplyError(req, Error(Code::kNameTooLong));
  Guard(req, "create", [&] {
    CreateReq r;
    r.parent = InodeId(parent);
    r.name = name;
    r.mode = mode;
    r.flags = static_cast<uint32_t>(fi->flags);
    // `fi` lives only as long as this call: the reply gets a copy.
    MdsAsync(req, "create", std::move(r), [req, f = *fi](Result<OpenRsp> rsp) mutable {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      ReplyOpened(req, &f, *rsp, true);
    });
  });
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "open", [&] {
    Mount& c = MountOf(req);
    Creds creds = CredsOf(req);
    if (fi->flags & O_TRUNC) {
      Status st = c.ReportSize(InodeId(ino), creds);
      if (!st.ok()) return ReplyError(req, st);
    }
    OpenReq r;
    r.ino = InodeId(ino);
    r.flags = static_cast<uint32_t>(fi->flags);
    MdsAsync(req, "open", std::move(r), [req, f = *fi](Result<OpenRsp> rsp) mutable {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      ReplyOpened(req, &f, *rsp, false);
    });
  });
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, "read", [&] {
    const auto start = std::chrono::steady_clock::now();
    Mount& c = MountOf(req);
    OpenFile* fh = FhOf(fi);
    const std::shared_ptr<const Layout> layout = fh->UsableLayout();
    if (layout->empty()) return (void)fuse_reply_buf(req, nullptr, 0);
    auto file_size = fh->ReadableSize(static_cast<uint64_t>(off), size, CredsOf(req));
    if (!file_size.ok()) return ReplyError(req, file_size.status());
    ClientMetrics& m = Metrics();
    // A small Data-on-MDT file came with its open.
    if (auto head = fh->ReadHead(static_cast<uint64_t>(off), size, *file_size)) {
      m.reads.Add();
      m.read_bytes.Add(head->size());
      return (void)fuse_reply_buf(req, head->data(), head->size());
    }
    auto data =
        c.io().Read(fh->ino, *layout, static_cast<uint64_t>(off), size, *file_size, c.JobOf(req));
    m.reads.Add();
    m.read_seconds.ObserveSince(start);
    if (!data.ok()) {
      m.io_errors.Add();
      if (data.status().code() == Code::kCorrupt) m.checksum_errors.Add();
      return ReplyError(req, data.status());
    }
    m.read_bytes.Add(data->size());
    fuse_reply_buf(req, data->data(), data->size());
  });
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info* fi) {
  Guard(req, "write", [&] {
    const auto start = std::chrono::steady_clock::now();
    Mount& c = MountOf(req);
    OpenFile* fh = FhOf(fi);
    const std::shared_ptr<const Layout> layout = fh->UsableLayout();
    if (layout->empty()) return ReplyError(req, Error(Code::kInvalid, "file without a layout"));
    uint64_t offset = static_cast<uint64_t>(off);
    if (fh->flags & O_APPEND) {
      // The MDS places each append (the kernel's offset is only this node's
      // idea of the end): this node's own buffered writes go first.
      Status st = c.ReportSize(InodeId(ino), CredsOf(req));
      if (!st.ok()) return ReplyError(req, st);
      AppendReq a;
      a.ino = InodeId(ino);
      a.len = size;
      auto at = c.mds().Call(a, CredsOf(req));
      if (!at.ok()) return ReplyError(req, at.status());
      offset = at->offset;
    }
    if (offset + size > (1ull << 62)) return ReplyError(req, Error(Code::kTooBig));
    const std::string job = c.JobOf(req);
    Status st = fh->Write(layout, offset, buf, size, job);
    ClientMetrics& m = Metrics();
    m.writes.Add();
    m.write_seconds.ObserveSince(start);
    if (!st.ok()) {
      m.io_errors.Add();
      return ReplyError(req, st);
    }
    m.write_bytes.Add(size);
    fuse_reply_write(req, size);
  });
}

void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "flush", [&] {
    Mount& c = MountOf(req);
    Status st = c.ReportSize(InodeId(ino), CredsOf(req));
    // A close drops the closing owner's fcntl locks on the file (POSIX).
    if (c.MayHoldLocks(ino)) {
      LockReleaseReq r;
      r.ino = InodeId(ino);
      r.owner = fi->lock_owner;
      auto rsp = c.mds().Call(r, CredsOf(req));
      if (st.ok() && !rsp.ok()) st = rsp.status();
    }
    ReplyStatus(req, st);
  });
}

// struct flock (absolute start, length 0 = to the end) <-> LockSpec.
LockSpec SpecOf(const struct flock& l, uint64_t owner) {
  LockSpec s;
  s.owner = owner;
  s.type = l.l_type == F_RDLCK ? kLockRead : l.l_type == F_WRLCK ? kLockWrite : kLockUnlock;
  s.start = static_cast<uint64_t>(std::max<off_t>(l.l_start, 0));
  s.end = l.l_len <= 0 ? kLockEof : s.start + static_cast<uint64_t>(l.l_len) - 1;
  s.pid = static_cast<uint32_t>(l.l_pid);
  return s;
}

void Getlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock) {
  Guard(req, "getlk", [&] {
    GetLkReq r;
    r.ino = InodeId(ino);
    r.lock = SpecOf(*lock, fi->lock_owner);
    MdsAsync(req, "getlk", std::move(r), [req, asked = *lock](Result<LockRsp> rsp) mutable {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      const LockSpec& h = rsp->lock;
      struct flock out = asked;
      out.l_whence = SEEK_SET;
      if (h.type == kLockUnlock) {
        out.l_type = F_UNLCK;
      } else {
        out.l_type = h.type == kLockRead ? F_RDLCK : F_WRLCK;
        out.l_start = static_cast<off_t>(h.start);
        out.l_len =
            h.end >= static_cast<uint64_t>(INT64_MAX) ? 0 : static_cast<off_t>(h.end - h.start + 1);
        out.l_pid = static_cast<pid_t>(h.pid);
      }
      fuse_reply_lock(req, &out);
    });
  });
}

// What a lock request that waits needs if its process is interrupted.
struct LockWait {
  Mount* client;
  InodeId ino;
  uint64_t owner;
};

void CancelLockWait(fuse_req_t, void* data) {
  auto* w = static_cast<LockWait*>(data);
  LockCancelReq r;
  r.ino = w->ino;
  r.owner = w->owner;
  w->client->mds().CallAsync(r, Creds{}, [](Result<EmptyRsp>) {});
}

// Sets a lock; one that waits has no deadline (it waits for the holder)
// and is cancelled on the MDS when the caller is interrupted (EINTR).
// Locks also order data between nodes, as MPI-IO's data sieving expects
// (read, modify and write a range under a lock): before an unlock this
// node's buffered writes reach the OSTs, and after a lock is granted the
// node's cached pages and attributes of the file are dropped.
void SetLock(fuse_req_t req, fuse_ino_t ino, LockSpec spec) {
  Mount& c = MountOf(req);
  Creds creds = CredsOf(req);
  c.NoteLocked(ino);
  if (spec.type == kLockUnlock) {
    Status st = c.ReportSize(InodeId(ino), creds);
    if (!st.ok()) return ReplyError(req, st);
  }
  SetLkReq r;
  r.ino = InodeId(ino);
  r.lock = spec;
  std::unique_ptr<LockWait> wait;
  if (spec.wait) {
    wait = std::make_unique<LockWait>(LockWait{&c, InodeId(ino), spec.owner});
    fuse_req_interrupt_func(req, CancelLockWait, wait.get());
  }
  const std::chrono::milliseconds timeout =
      spec.wait ? std::chrono::hours(24 * 365) : std::chrono::hours(0);
  std::promise<Result<EmptyRsp>> done;
  c.mds().CallAsync(
      r, creds, [&done](Result<EmptyRsp> rsp) { done.set_value(std::move(rsp)); }, timeout);
  Result<EmptyRsp> rsp = done.get_future().get();
  if (wait) fuse_req_interrupt_func(req, nullptr, nullptr);  // waits out a running cancel
  if (!rsp.ok()) return ReplyError(req, rsp.status());
  if (spec.type != kLockUnlock) c.DropCache(ino);
  ReplyOk(req);
}

void Setlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock, int sleep) {
  Guard(req, "setlk", [&] {
    LockSpec s = SpecOf(*lock, fi->lock_owner);
    s.wait = sleep != 0 && s.type != kLockUnlock;
    SetLock(req, ino, s);
  });
}

void Flock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op) {
  Guard(req, "flock", [&] {
    LockSpec s;
    s.owner = fi->lock_owner;
    s.flock = true;
    const int kind = op & (LOCK_SH | LOCK_EX | LOCK_UN);
    s.type = kind == LOCK_SH ? kLockRead : kind == LOCK_EX ? kLockWrite : kLockUnlock;
    s.wait = !(op & LOCK_NB) && s.type != kLockUnlock;
    SetLock(req, ino, s);
  });
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info* fi) {
  Guard(req, "fsync", [&] {
    Mount& c = MountOf(req);
    OpenFile* fh = FhOf(fi);
    const std::shared_ptr<const Layout> layout = fh->UsableLayout();
    Status flushed = c.FlushInode(InodeId(ino));
    if (!flushed.ok()) return ReplyError(req, flushed);
    if (!layout->empty()) {
      Status st = c.io().Sync(fh->ino, *layout);
      if (!st.ok()) return ReplyError(req, st);
    }
    Status st = c.ReportSize(InodeId(ino), CredsOf(req));
    ReplyStatus(req, st);
  });
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "release", [&] {
    Mount& c = MountOf(req);
    std::unique_ptr<OpenFile> fh(FhOf(fi));
    Creds creds = CredsOf(req);
    // Flushed (by ReportSize) while still tracked, so its buffer is included.
    Status st = c.ReportSize(InodeId(ino), creds);
    c.UntrackOpen(fh.get());
    if (fi->flock_release) {  // the last close of a descriptor that took flock locks
      LockReleaseReq lr;
      lr.ino = fh->ino;
      lr.owner = fi->lock_owner;
      lr.flock = true;
      (void)c.mds().Call(lr, creds);
    }
    ReleaseReq r;
    r.ino = fh->ino;
    r.handle = fh->mds_handle;
    MdsAsync(req, "release", std::move(r), [req, st](Result<EmptyRsp>) { ReplyStatus(req, st); });
  });
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, fuse_file_info* fi) {
  Guard(req, "fallocate", [&] {
    if (mode != 0) return ReplyError(req, Error(Code::kNotSupported, "fallocate mode"));
    if (off < 0 || len <= 0) return ReplyError(req, Error(Code::kInvalid, "fallocate range"));
    Mount& c = MountOf(req);
    OpenFile* fh = FhOf(fi);
    const std::shared_ptr<const Layout> layout = fh->UsableLayout();
    uint64_t end = static_cast<uint64_t>(off) + static_cast<uint64_t>(len);
    Status flushed = c.FlushInode(InodeId(ino));
    if (!flushed.ok()) return ReplyError(req, flushed);
    Status st =
        c.io().Fallocate(fh->ino, *layout, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
    if (!st.ok()) return ReplyError(req, st);
    c.inodes().Wrote(ino, end);
    st = c.ReportSize(InodeId(ino), CredsOf(req));
    ReplyStatus(req, st);
  });
}

void Lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  Guard(req, "lseek", [&] {
    if (whence != SEEK_DATA && whence != SEEK_HOLE)
      return ReplyError(req, Error(Code::kInvalid, "lseek whence"));
    if (off < 0) return ReplyError(req, Error(Code::kNoDevice));
    Mount& c = MountOf(req);
    OpenFile* fh = FhOf(fi);
    const std::shared_ptr<const Layout> layout = fh->UsableLayout();
    Status flushed = c.FlushInode(InodeId(ino));
    if (!flushed.ok()) return ReplyError(req, flushed);
    GetAttrReq g;
    g.ino = InodeId(ino);
    auto a = c.mds().Call(g, CredsOf(req));
    if (!a.ok()) return ReplyError(req, a.status());
    uint64_t size = c.inodes().KnownSize(ino, a->attr.size);
    auto r = c.io().Seek(fh->ino, *layout, size, static_cast<uint64_t>(off), whence);
    if (!r.ok()) return ReplyError(req, r.status());
    fuse_reply_lseek(req, static_cast<off_t>(*r));
  });
}

}  // namespace

void FillFileOps(fuse_lowlevel_ops& ops) {
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.flush = Flush;
  ops.getlk = Getlk;
  ops.setlk = Setlk;
  ops.flock = Flock;
  ops.fsync = Fsync;
  ops.release = Release;
  ops.fallocate = Fallocate;
  ops.lseek = Lseek;
}

}  // namespace amlfs::fuse
