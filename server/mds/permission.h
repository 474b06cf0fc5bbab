// POSIX permission checks made by the MDS itself, from the caller's
// uid, gid and supplementary groups (Caller in protocol.h).
#pragma once

#include "common/protocol.h"
#include "server/mds/records.h"

namespace amlfs::mds {

inline constexpr uint32_t kMayRead = 4, kMayWrite = 2, kMayExec = 1;

bool InGroup(const Caller& c, uint32_t gid);
// True when `c` may access `rec` with `mask` (kMay* bits). Root may read and
// write anything, and execute anything with an x bit (and every directory).
bool MayAccess(const Caller& c, const InodeRec& rec, uint32_t mask);
// kAccess unless MayAccess.
Status CheckAccess(const Caller& c, const InodeRec& rec, uint32_t mask);
// The sticky-directory rule for removing or replacing `victim` in `dir`.
Status CheckSticky(const Caller& c, const InodeRec& dir, const InodeRec& victim);
bool IsOwnerOrRoot(const Caller& c, const InodeRec& rec);

}  // namespace amlfs::mds
