// Helpers shared by the operation files.
#pragma once

#include <algorithm>
#include <string>

#include "common/protocol.h"
#include "server/mds/at_most_once.h"
#include "server/mds/permission.h"

namespace amlfs::mds {

inline constexpr uint32_t kIfMt = 0170000, kIfDir = 0040000, kIfReg = 0100000, kIfLnk = 0120000;
inline constexpr uint32_t kSuid = 04000, kSgid = 02000, kSticky = 01000;
inline constexpr size_t kMaxName = 255;

// Empty names and names with '/' are invalid; over 255 bytes too long.
Status ValidateName(const std::string& name);
// The directory `ino`, checked to be a directory the caller may use with `mask`.
Result<InodeRec> UsableDir(Txn& txn, const Caller& c, InodeId ino, uint32_t mask);
// Creates a new inode named `name` in `parent` (not yet linked to a Txn-put
// parent: the caller puts the returned child; the parent is updated here).
Result<InodeRec> NewChild(Mds& mds, Txn& txn, const Caller& c, InodeId parent,
                          const std::string& name, uint32_t mode, uint64_t rdev,
                          const LayoutTemplate& layout = {});
// st_blksize of a file: its first stripe size (capped at 1 GiB).
inline uint32_t BlockSizeOf(const Layout& l) {
  return l.empty() ? 4096u
                   : static_cast<uint32_t>(std::min<uint64_t>(l.comps[0].stripe_size, 1u << 30));
}
// Clears S_ISUID, and S_ISGID when group-executable (chown, write by others).
void KillSuid(InodeRec& rec);

}  // namespace amlfs::mds
