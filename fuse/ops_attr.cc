// Attributes: getattr, setattr, statfs, access, extended attributes.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <cstring>

#include "common/client/migrate.h"
#include "common/client/mount_xattrs.h"
#include "common/net/auth.h"
#include "common/net/tls.h"
#include "fuse/guard.h"
#include "fuse/mount.h"
#include "fuse/observe.h"

namespace amlfs::fuse {
namespace {

bool IsLayoutXattr(const std::string& name) {
  return name == "lustre.lov" || name == "trusted.lov" || name == "user.amlfs.layout";
}

Timespec FromTs(const timespec& t) {
  return Timespec{static_cast<int64_t>(t.tv_sec), static_cast<uint32_t>(t.tv_nsec)};
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guard(req, "getattr", [&] {
    GetAttrReq r;
    r.ino = InodeId(ino);
    MdsAsync(req, "getattr", std::move(r), [req](Result<AttrRsp> rsp) {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      ReplyAttr(req, *rsp);
    });
  });
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Guard(req, "setattr", [&] {
    Mount& c = MountOf(req);
    Creds creds = CredsOf(req);
    SetAttrReq r;
    r.ino = InodeId(ino);
    if (to_set & FUSE_SET_ATTR_MODE) {
      r.valid |= kSetMode;
      r.mode = attr->st_mode;
    }
    // chown(-1, -1) arrives with uid/gid (uid_t)-1: "unchanged".
    if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != static_cast<uid_t>(-1)) {
      r.valid |= kSetUid;
      r.uid = attr->st_uid;
    }
    if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != static_cast<gid_t>(-1)) {
      r.valid |= kSetGid;
      r.gid = attr->st_gid;
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
      r.valid |= kSetSize;
      r.size = static_cast<uint64_t>(attr->st_size);
      r.has_open_handle = fi != nullptr;
      // Writes this node has not reported must not grow the file back later.
      Status st = c.ReportSize(InodeId(ino), creds);
      if (!st.ok()) return ReplyError(req, st);
    }
    if (to_set & FUSE_SET_ATTR_ATIME_NOW)
      r.valid |= kSetAtimeNow;
    else if (to_set & FUSE_SET_ATTR_ATIME) {
      r.valid |= kSetAtime;
      r.atime = FromTs(attr->st_atim);
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW)
      r.valid |= kSetMtimeNow;
    else if (to_set & FUSE_SET_ATTR_MTIME) {
      r.valid |= kSetMtime;
      r.mtime = FromTs(attr->st_mtim);
    }
    if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) r.valid |= kSetKillSuid;
    if (r.valid == 0 && !(to_set & FUSE_SET_ATTR_CTIME)) {
      GetAttrReq g;
      g.ino = InodeId(ino);
      auto rsp = c.mds().Call(g, creds);
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      return ReplyAttr(req, rsp->attr);
    }
    auto rsp = c.mds().Call(r, creds);
    if (!rsp.ok()) return ReplyError(req, rsp.status());
    if (r.valid & kSetSize) {
      c.inodes().Truncated(ino, r.size);
      c.DropHeads(ino);
    }
    ReplyAttr(req, rsp->attr);
  });
}

void Statfs(fuse_req_t req, fuse_ino_t) {
  Guard(req, "statfs", [&] {
    auto rsp = MountOf(req).mds().Call(StatFsReq{}, CredsOf(req));
    if (!rsp.ok()) return ReplyError(req, rsp.status());
    struct statvfs sv {};
    const uint64_t frsize = 4096;
    sv.f_bsize = 1 << 20;
    sv.f_frsize = frsize;
    sv.f_blocks = rsp->total_bytes / frsize;
    sv.f_bfree = rsp->free_bytes / frsize;
    sv.f_bavail = rsp->avail_bytes / frsize;
    sv.f_files = rsp->total_inodes;
    sv.f_ffree = rsp->free_inodes;
    sv.f_favail = rsp->free_inodes;
    sv.f_namemax = 255;
    fuse_reply_statfs(req, &sv);
  });
}

void Access(fuse_req_t req, fuse_ino_t ino, int mask) {
  Guard(req, "access", [&] {
    AccessReq r;
    r.ino = InodeId(ino);
    r.mask = static_cast<uint32_t>(mask);
    auto rsp = MountOf(req).mds().Call(r, CredsOf(req));
    if (!rsp.ok()) return ReplyError(req, rsp.status());
    ReplyOk(req);
  });
}

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags) {
  Guard(req, "setxattr", [&] {
    SetXattrReq r;
    r.ino = InodeId(ino);
    r.name = name;
    r.value.assign(value, size);
    r.flags = static_cast<uint32_t>(flags);
    Mount& c = MountOf(req);
    Creds creds = CredsOf(req);
    c.ForgetXattrs(ino);
    if (IsLayoutXattr(r.name)) {
      // The MDS must know what this node wrote before it judges "empty".
      Status st = c.ReportSize(r.ino, creds);
      if (!st.ok()) return ReplyError(req, st);
    }
    auto rsp = c.mds().Call(r, creds);
    c.ForgetXattrs(ino);  // a lookup answered meanwhile may predate the change
    if (!IsLayoutXattr(r.name)) {
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      return ReplyOk(req);
    }
    if (rsp.ok()) {
      // An empty file got a new layout: this node's open handles follow it.
      auto now = c.mds().Call(GetLayoutReq{{}, r.ino}, creds);
      if (now.ok() && !now->layout.empty()) c.SetLayoutOfOpenFiles(r.ino, now->layout);
      return ReplyOk(req);
    }
    if (rsp.status().code() != Code::kBusy) return ReplyError(req, rsp.status());
    // A file with data: restripe it (cp --preserve=xattr, rsync -X and
    // tar --xattrs set the layout after writing the data).
    auto t = ParseTemplate(r.value);
    if (!t.ok()) return ReplyError(req, t.status());
    MigrateOptions o;
    o.layout = *t;
    o.ignore_own_opens = true;
    auto done = MigrateFile(c.mds(), c.io(), creds, r.ino, o);
    if (!done.ok()) return ReplyError(req, done.status());
    c.SetLayoutOfOpenFiles(r.ino, done->layout);
    ReplyOk(req);
  });
}

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, "getxattr", [&] {
    // The mount's own attributes, for the tools (common/client/mount_xattrs.h).
    if (std::strcmp(name, mount_xattr::kMds) == 0)
      return ReplySized(req, mount_xattr::FormatMdsList(MountOf(req).options().mds), size);
    if (std::strcmp(name, mount_xattr::kKeyFile) == 0) {
      const std::string file = ProcessKeyFile();
      if (file.empty()) return ReplyError(req, Error(Code::kNoData));
      return ReplySized(req, file, size);
    }
    if (std::strcmp(name, mount_xattr::kTls) == 0) {
      if (!ProcessTls()) return ReplyError(req, Error(Code::kNoData));
      return ReplySized(req, mount_xattr::kTlsOn, size);
    }
    if (std::strcmp(name, mount_xattr::kMetrics) == 0) {
      const std::string at = MetricsAddress();
      if (at.empty()) return ReplyError(req, Error(Code::kNoData));
      return ReplySized(req, at, size);
    }
    Mount& c = MountOf(req);
    if ((std::strncmp(name, "security.", 9) == 0 || std::strncmp(name, "system.", 7) == 0) &&
        c.KnownWithoutXattrs(ino))
      return ReplyError(req, Error(Code::kNoData));
    const bool cap = std::strcmp(name, "security.capability") == 0;
    if (cap) {
      if (auto hit = c.CachedCapability(ino)) {
        if (!hit->ok()) return ReplyError(req, hit->status());
        return ReplySized(req, hit->value(), size);
      }
    }
    GetXattrReq r;
    r.ino = InodeId(ino);
    r.name = name;
    MdsAsync(req, "getxattr", std::move(r), [req, ino, cap, size](Result<XattrValueRsp> rsp) {
      if (cap) {
        MountOf(req).CacheCapability(
            ino, rsp.ok() ? Result<std::string>(rsp->value) : Result<std::string>(rsp.status()));
      }
      if (!rsp.ok()) return ReplyError(req, rsp.status());
      ReplySized(req, rsp->value, size);
    });
  });
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, "listxattr", [&] {
    ListXattrReq r;
    r.ino = InodeId(ino);
    auto rsp = MountOf(req).mds().Call(r, CredsOf(req));
    if (!rsp.ok()) return ReplyError(req, rsp.status());
    std::string names;
    for (const auto& n : rsp->names) {
      names += n;
      names.push_back('\0');
    }
    ReplySized(req, names, size);
  });
}

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Guard(req, "removexattr", [&] {
    MountOf(req).ForgetXattrs(ino);
    RemoveXattrReq r;
    r.ino = InodeId(ino);
    r.name = name;
    auto rsp = MountOf(req).mds().Call(r, CredsOf(req));
    MountOf(req).ForgetXattrs(ino);
    if (!rsp.ok()) return ReplyError(req, rsp.status());
    ReplyOk(req);
  });
}

}  // namespace

void FillAttrOps(fuse_lowlevel_ops& ops) {
  ops.getattr = Getattr;
  ops.setattr = Setattr;
  ops.statfs = Statfs;
  ops.access = Access;
  ops.setxattr = Setxattr;
  ops.getxattr = Getxattr;
  ops.listxattr = Listxattr;
  ops.removexattr = Removexattr;
}

}  // namespace amlfs::fuse
