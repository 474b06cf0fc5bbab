#include "common/client/migrate.h"

#include <fcntl.h>

#include <algorithm>

namespace amlfs {

namespace {

bool AllZero(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

Result<OpenRsp> MigrateFile(MdsClient& mds, StripedIo& io, const Creds& creds, InodeId ino,
                            const MigrateOptions& o) {
  // Hold the file open for the whole copy: the new objects are queued for
  // destruction until the commit, and the queue spares open files.
  OpenReq open;
  open.ino = ino;
  open.flags = O_RDONLY;
  AMLFS_ASSIGN_OR_RETURN(OpenRsp opened, mds.Call(open, creds));
  struct Closer {
    MdsClient& mds;
    const Creds& creds;
    InodeId ino;
    uint64_t handle;
    ~Closer() { (void)mds.Call(ReleaseReq{{}, ino, handle}, creds); }
  } closer{mds, creds, ino, opened.handle};

  MigrateBeginReq begin;
  begin.ino = ino;
  begin.layout = o.layout;
  begin.ignore_own_opens = o.ignore_own_opens;
  AMLFS_ASSIGN_OR_RETURN(MigrateBeginRsp m, mds.Call(begin, creds));
  const uint64_t size = m.attr.size;
  const uint64_t chunk = std::max<uint64_t>(o.chunk, 1u << 20);
  for (uint64_t off = 0; off < size; off += chunk) {
    uint64_t n = std::min(chunk, size - off);
    AMLFS_ASSIGN_OR_RETURN(std::string data, io.Read(ino, m.old_layout, off, n, size));
    // Holes stay holes: the new objects read as zeros where nothing is written.
    if (!AllZero(data))
      AMLFS_RETURN_IF_ERROR(io.Write(ino, m.new_layout, off, data.data(), data.size()));
    if (o.progress) o.progress(off + n, size);
  }
  if (size == 0 && o.progress) o.progress(0, 0);
  AMLFS_RETURN_IF_ERROR(io.Sync(ino, m.new_layout));

  MigrateCommitReq commit;
  commit.ino = ino;
  commit.new_layout = m.new_layout;
  commit.token = m.token;
  commit.size = size;
  commit.mtime = m.attr.mtime;
  commit.ignore_own_opens = o.ignore_own_opens;
  AMLFS_ASSIGN_OR_RETURN(AttrRsp done, mds.Call(commit, creds));
  OpenRsp out;
  out.attr = done.attr;
  out.layout = m.new_layout;
  return out;
}

}  // namespace amlfs
