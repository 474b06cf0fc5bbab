// Nothing may cross a FUSE callback (a C ABI): Guard() runs a callback body
// and turns any exception into an EIO reply (kIo, through ReplyError) with a
// log line.
#pragma once

#include <exception>

#include "common/log.h"
#include "fuse/fuse_version.h"
#include "fuse/reply.h"

namespace amlfs::fuse {

template <typename Fn>
void Guard(fuse_req_t req, const char* op, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    AMLFS_LOG(kError) << op << ": " << e.what();
    ReplyError(req, Error(Code::kIo, e.what()));
  } catch (...) {
    AMLFS_LOG(kError) << op << ": unknown exception";
    ReplyError(req, Error(Code::kIo, "unknown exception"));
  }
}

// For callbacks without a reply (forget).
template <typename Fn>
void GuardNoReply(const char* op, Fn&& fn) {
  try {
    fn();
  } catch (...) {
    AMLFS_LOG(kError) << op << ": exception";
  }
}

}  // namespace amlfs::fuse
