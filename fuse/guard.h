// Nothing may cross a FUSE callback (a C ABI): Guard() runs a callback body
// and turns any exception into an EIO reply (kIo, through ReplyError) with a
// log line. A body that blocks its FUSE thread for longer than
// kSlowCallback (a flush waiting for its data, an MDS that does not answer)
// leaves a warning in the mount's log, so a stuck application can be traced
// to the request it waits on.
#pragma once

#include <chrono>
#include <exception>

#include "common/log.h"
#include "fuse/fuse_version.h"
#include "fuse/reply.h"

namespace amlfs::fuse {

inline constexpr std::chrono::seconds kSlowCallback{5};

template <typename Fn>
void Guard(fuse_req_t req, const char* op, Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  try {
    fn();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (took > kSlowCallback) AMLFS_LOG(kWarn) << op << " took " << took.count() << " s";
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
