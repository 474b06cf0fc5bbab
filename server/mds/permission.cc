#include "server/mds/permission.h"

#include <algorithm>

namespace amlfs::mds {

bool InGroup(const Caller& c, uint32_t gid) {
  return c.gid == gid || std::find(c.groups.begin(), c.groups.end(), gid) != c.groups.end();
}

bool MayAccess(const Caller& c, const InodeRec& rec, uint32_t mask) {
  const uint32_t mode = rec.attr.mode;
  if (c.uid == 0) {
    if (!(mask & kMayExec)) return true;
    return rec.is_dir() || (mode & 0111) != 0;
  }
  uint32_t bits;
  if (c.uid == rec.attr.uid)
    bits = (mode >> 6) & 7;
  else if (InGroup(c, rec.attr.gid))
    bits = (mode >> 3) & 7;
  else
    bits = mode & 7;
  return (bits & mask) == mask;
}

Status CheckAccess(const Caller& c, const InodeRec& rec, uint32_t mask) {
  if (MayAccess(c, rec, mask)) return Status::Ok();
  return Error(Code::kAccess, "permission denied");
}

bool IsOwnerOrRoot(const Caller& c, const InodeRec& rec) {
  return c.uid == 0 || c.uid == rec.attr.uid;
}

Status CheckSticky(const Caller& c, const InodeRec& dir, const InodeRec& victim) {
  if (!(dir.attr.mode & 01000)) return Status::Ok();
  if (c.uid == 0 || c.uid == dir.attr.uid || c.uid == victim.attr.uid) return Status::Ok();
  return Error(Code::kNotPermitted, "sticky directory: not the owner");
}

}  // namespace amlfs::mds
