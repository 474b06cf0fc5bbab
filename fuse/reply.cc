#include "fuse/reply.h"

#include "common/log.h"
#include "fuse/mount.h"

namespace amlfs::fuse {

void ReplyError(fuse_req_t req, const Status& st) {
  if (st.code() == Code::kInternal || st.code() == Code::kCorrupt || st.code() == Code::kProtocol)
    AMLFS_LOG(kError) << st.ToString();
  fuse_reply_err(req, ToErrno(st));
}

void ReplyOk(fuse_req_t req) { fuse_reply_err(req, 0); }

void ReplyStatus(fuse_req_t req, const Status& st) {
  if (st.ok()) return ReplyOk(req);
  ReplyError(req, st);
}

void ReplySized(fuse_req_t req, const std::string& data, size_t size) {
  if (size == 0)
    fuse_reply_xattr(req, data.size());
  else if (data.size() > size)
    ReplyError(req, Error(Code::kRange));
  else
    fuse_reply_buf(req, data.data(), data.size());
}

void FillStat(const Attr& a, struct stat* st) {
  *st = {};
  st->st_ino = a.ino.value();
  st->st_mode = a.mode;
  st->st_nlink = a.nlink;
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_size = static_cast<off_t>(a.size);
  st->st_rdev = a.rdev;
  st->st_blksize = a.blksize ? a.blksize : 4096;
  st->st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st->st_atim = {a.atime.sec, a.atime.nsec};
  st->st_mtim = {a.mtime.sec, a.mtime.nsec};
  st->st_ctim = {a.ctime.sec, a.ctime.nsec};
}

fuse_entry_param MakeEntry(Mount& c, const Attr& a) {
  fuse_entry_param e{};
  e.ino = a.ino.value();
  e.generation = a.generation;
  FillStat(c.inodes().Merge(a), &e.attr);
  e.attr_timeout = c.options().attr_timeout;
  e.entry_timeout = c.options().entry_timeout;
  return e;
}

void NoteShown(Mount& c, const struct stat& st) {
  c.inodes().Shown(st.st_ino, static_cast<uint64_t>(st.st_size),
                   Timespec{st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec)});
}

void ReplyEntry(fuse_req_t req, const Attr& a) {
  Mount& c = MountOf(req);
  fuse_entry_param e = MakeEntry(c, a);
  c.inodes().Lookup(e.ino);
  NoteShown(c, e.attr);
  if (fuse_reply_entry(req, &e) != 0) c.inodes().Forget(e.ino, 1);
}

void ReplyEntry(fuse_req_t req, const EntryRsp& r) {
  MountOf(req).NoteXattrs(r.attr.ino.value(), r.no_xattrs);
  ReplyEntry(req, r.attr);
}

void ReplyAttr(fuse_req_t req, const AttrRsp& r) {
  MountOf(req).NoteXattrs(r.attr.ino.value(), r.no_xattrs);
  ReplyAttr(req, r.attr);
}

void ReplyAttr(fuse_req_t req, const Attr& a) {
  Mount& c = MountOf(req);
  struct stat st;
  FillStat(c.inodes().Merge(a), &st);
  NoteShown(c, st);
  fuse_reply_attr(req, &st, c.options().attr_timeout);
}

}  // namespace amlfs::fuse
