// Namespace operations: lookup, forget, mkdir, mknod, unlink, rmdir, rename,
// link, symlink, readlink, and directory listing.
#include <sys/stat.h>

#include <cstring>

#include "fuse/guard.h"
#include "fuse/mount.h"

namespace amlfs::fuse {
namespace {

constexpr size_t kMaxName = 255;

bool NameTooLong(fuse_req_t req, const char* name) {
  if (std::strlen(name) <= kMaxName) return false;
  ReplyError(req, Error(Code::kNameTooLong));
  return true;
}

template <typename Req>
void EntryOp(fuse_req_t req, const char* op, Req r) {
  Guard(req, op, [&] {
    MdsAsync(req, op, std::move(r), [req](auto rsp) {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      ReplyEntry(req, rsp->attr);
    });
  });
}

template <typename Req>
void EmptyOp(fuse_req_t req, const char* op, Req r) {
  Guard(req, op, [&] {
    MdsAsync(req, op, std::move(r), [req](auto rsp) {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      ReplyOk(req);
    });
  });
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (NameTooLong(req, name)) return;
  Guard(req, "lookup", [&] {
    LookupReq r;
    r.parent = InodeId(parent);
    r.name = name;
    MdsAsync(req, "lookup", std::move(r), [req](Result<EntryRsp> rsp) {
      if (!rsp.ok()) {
        if (rsp.status().code() == Code::kNotFound) {
          // A negative entry, cached for the entry timeout.
          fuse_entry_param e{};
          e.entry_timeout = MountOf(req).options().negative_timeout;
          fuse_reply_entry(req, &e);
          return;
        }
        return ReplyError(req, rsp.status());
      }
      ReplyEntry(req, *rsp);
    });
  });
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t n) {
  GuardNoReply("forget", [&] { MountOf(req).inodes().Forget(ino, n); });
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  GuardNoReply("forget_multi", [&] {
    for (size_t i = 0; i < count; ++i)
      MountOf(req).inodes().Forget(forgets[i].ino, forgets[i].nlookup);
  });
  fuse_reply_none(req);
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (NameTooLong(req, name)) return;
  MkdirReq r;
  r.parent = InodeId(parent);
  r.name = name;
  r.mode = mode;
  EntryOp(req, "mkdir", r);
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  if (NameTooLong(req, name)) return;
  MknodReq r;
  r.parent = InodeId(parent);
  r.name = name;
  r.mode = mode;
  r.rdev = rdev;
  EntryOp(req, "mknod", r);
}

void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  if (NameTooLong(req, name)) return;
  SymlinkReq r;
  r.parent = InodeId(parent);
  r.name = name;
  r.target = target;
  EntryOp(req, "symlink", r);
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  if (NameTooLong(req, newname)) return;
  LinkReq r;
  r.ino = InodeId(ino);
  r.new_parent = InodeId(newparent);
  r.new_name = newname;
  EntryOp(req, "link", r);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (NameTooLong(req, name)) return;
  UnlinkReq r;
  r.parent = InodeId(parent);
  r.name = name;
  EmptyOp(req, "unlink", r);
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (NameTooLong(req, name)) return;
  RmdirReq r;
  r.parent = InodeId(parent);
  r.name = name;
  EmptyOp(req, "rmdir", r);
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags) {
  if (NameTooLong(req, name) || NameTooLong(req, newname)) return;
  RenameReq r;
  r.parent = InodeId(parent);
  r.name = name;
  r.new_parent = InodeId(newparent);
  r.new_name = newname;
  r.flags = flags;
  EmptyOp(req, "rename", r);
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, "readlink", [&] {
    ReadlinkReq r;
    r.ino = InodeId(ino);
    auto rsp = MountOf(req).mds().Call(r, CredsOf(req));
    if (!rsp.ok()) return ReplyError(req, rsp.status());
    fuse_reply_readlink(req, rsp->target.c_str());
  });
}

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "opendir", [&] {
    auto dh = std::make_unique<DirHandle>();
    ReadDirReq r;
    r.ino = InodeId(ino);
    r.max_entries = 1000;
    r.plus = true;
    Creds creds = CredsOf(req);
    for (;;) {
      auto rsp = MountOf(req).mds().Call(r, creds);
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      for (auto& e : rsp->entries) dh->entries.push_back(std::move(e));
      if (rsp->eof || rsp->entries.empty()) break;
      r.after = dh->entries.back().name;
    }
    fi->fh = reinterpret_cast<uint64_t>(dh.release());
    fi->cache_readdir = 0;
    if (fuse_reply_open(req, fi) != 0) delete reinterpret_cast<DirHandle*>(fi->fh);
  });
}

// Entries: 0 = ".", 1 = "..", then the snapshot. FUSE offsets are index+1.
void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                   bool plus) {
  Guard(req, plus ? "readdirplus" : "readdir", [&] {
    Mount& c = MountOf(req);
    auto* dh = reinterpret_cast<DirHandle*>(fi->fh);
    std::string buf(size, '\0');
    size_t used = 0;
    const size_t total = dh->entries.size() + 2;
    for (size_t i = static_cast<size_t>(off); i < total; ++i) {
      const char* name;
      struct stat st {};
      fuse_entry_param e{};
      bool dot = i < 2;
      if (dot) {
        name = i == 0 ? "." : "..";
        st.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
        st.st_mode = S_IFDIR;
        e.attr = st;
      } else {
        const DirEntry& d = dh->entries[i - 2];
        name = d.name.c_str();
        if (plus) {
          e = MakeEntry(c, d.attr);
          c.NoteXattrs(d.ino.value(), d.no_xattrs);
        } else {
          st.st_ino = d.ino.value();
          st.st_mode = d.mode;
        }
      }
      size_t need;
      if (plus) {
        need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e,
                                      static_cast<off_t>(i + 1));
      } else {
        need = fuse_add_direntry(req, buf.data() + used, size - used, name, &st,
                                 static_cast<off_t>(i + 1));
      }
      if (need > size - used) break;
      if (plus && !dot) {
        c.inodes().Lookup(e.ino);
        NoteShown(c, e.attr);
      }
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, false);
}

void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, true);
}

void Releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  ReplyOk(req);
}

void Fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { ReplyOk(req); }

}  // namespace

void FillDirOps(fuse_lowlevel_ops& ops) {
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.mkdir = Mkdir;
  ops.mknod = Mknod;
  ops.symlink = Symlink;
  ops.link = Link;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.rename = Rename;
  ops.readlink = Readlink;
  ops.opendir = Opendir;
  ops.readdir = Readdir;
  ops.readdirplus = Readdirplus;
  ops.releasedir = Releasedir;
  ops.fsyncdir = Fsyncdir;
}

}  // namespace amlfs::fuse
