// Replies to FUSE requests: the one place an errno leaves the mount.
//
// Every callback answers through these helpers. A failure is a Status with
// one of our Codes, never a bare errno: ReplyError turns it into the errno
// the application sees (ToErrno, common/status.h) and logs the codes that
// mean a bug or damaged data (kInternal, kCorrupt, kProtocol). Success
// without data is ReplyOk; ReplyStatus picks between the two.
//
// Each helper answers `req` exactly once and consumes it (libfuse frees it):
// the caller must not touch `req` afterwards. They may be called from any
// thread, the FUSE workers' or a network thread (MdsAsync). Those that take
// a Mount record what the kernel was shown in its InodeTable.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "common/protocol.h"
#include "common/status.h"
#include "fuse/fuse_version.h"

namespace amlfs::fuse {

class Mount;

// Answers with the errno of `st` (an OK `st` answers success, as ReplyOk).
void ReplyError(fuse_req_t req, const Status& st);
// Answers success for a request that returns no data (errno 0).
void ReplyOk(fuse_req_t req);
// ReplyOk when `st` is OK, else ReplyError.
void ReplyStatus(fuse_req_t req, const Status& st);

// Answers a getxattr or listxattr with `data`: its size when probed with a
// `size` of 0, kRange (ERANGE) when the caller's buffer is too small.
void ReplySized(fuse_req_t req, const std::string& data, size_t size);

// Attributes as the kernel takes them.
void FillStat(const Attr& a, struct stat* st);
// The entry for `a`, with this node's unreported size merged in and the
// mount's timeouts.
fuse_entry_param MakeEntry(Mount& c, const Attr& a);
// Records the size and mtime in `st` as the kernel's (InodeTable::Shown).
void NoteShown(Mount& c, const struct stat& st);

// Answers a lookup-like request (one more kernel lookup of the inode).
void ReplyEntry(fuse_req_t req, const Attr& a);
void ReplyAttr(fuse_req_t req, const Attr& a);
// ReplyEntry and ReplyAttr for an MDS answer, noting its xattr hint.
void ReplyEntry(fuse_req_t req, const EntryRsp& r);
void ReplyAttr(fuse_req_t req, const AttrRsp& r);

}  // namespace amlfs::fuse
