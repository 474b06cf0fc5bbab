// What the MDS tells its operators beyond the counts of its requests
// (common/net/rpc_server.h): the namespace's size, the replica's Raft state
// and the OST table as metrics (amlfs_mds_*, docs/OBSERVABILITY.md), and its
// /healthz checks. Thread-safe: it only reads the Mds (itself thread-safe)
// and calls `status`, which must be callable from any thread.
#pragma once

#include <functional>
#include <vector>

#include "common/metrics.h"
#include "common/net/http_server.h"
#include "common/protocol.h"
#include "server/mds/mds.h"

namespace amlfs::mds {

class MdsObserver {
 public:
  // `status` describes this replica (kMdsStatus); null for an MDS that is
  // not replicated. Registers a collector on metrics::Default(); both must
  // outlive every render.
  MdsObserver(Mds* mds, std::function<MdsStatusRsp()> status);

  // Healthy when this replica leads and serves, or follows a known leader;
  // each OST that is down is a warning (from the serving replica only: the
  // others do not hear the OSTs' heartbeats).
  std::vector<HealthCheck> Health();

 private:
  MdsStatusRsp Status();
  void Collect(metrics::Writer& w);

  Mds* mds_;
  std::function<MdsStatusRsp()> status_;
};

}  // namespace amlfs::mds
