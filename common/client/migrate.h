// Restriping a file: copies its data into objects of a new layout, then
// swaps the layout on the metadata server in one step (see
// MigrateBeginReq). Readers that opened the file before keep reading the old
// objects, which live until the file is closed everywhere; a writer that
// opens the file meanwhile makes the swap fail, and nothing changes.
#pragma once

#include <functional>

#include "common/client/mds_client.h"
#include "common/client/striped_io.h"

namespace amlfs {

struct MigrateOptions {
  LayoutTemplate layout;          // empty: the default of the file's directory
  bool ignore_own_opens = false;  // this client's own write handles do not count
  uint64_t chunk = 16u << 20;     // bytes copied per step
  // Called after each step with (bytes copied, file size).
  std::function<void(uint64_t, uint64_t)> progress;
};

// Returns the file's new attributes and layout.
Result<OpenRsp> MigrateFile(MdsClient& mds, StripedIo& io, const Creds& creds, InodeId ino,
                            const MigrateOptions& o);

}  // namespace amlfs
