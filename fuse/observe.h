// What a mount tells its operators: the counts of the reads and writes the
// kernel hands it (amlfs_client_*, docs/OBSERVABILITY.md) and its /healthz
// checks. The RPCs it sends are counted by common/net/rpc_client.cc.
#pragma once

#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/net/http_server.h"

namespace amlfs::fuse {

class Mount;

struct ClientMetrics {
  metrics::Counter& read_bytes;
  metrics::Counter& write_bytes;
  metrics::Counter& reads;
  metrics::Counter& writes;
  metrics::Counter& io_errors;
  metrics::Counter& checksum_errors;
  metrics::Histogram& read_seconds;
  metrics::Histogram& write_seconds;
};
// The process's; created on first use.
ClientMetrics& Metrics();

// Registers the collectors that read `client` (write-behind bytes).
// REQUIRES: `client` outlives every render.
void ObserveMount(Mount& client);

// The mount's /metrics address ("HOST:PORT", "" when off), which the
// mount root's "amlfs.metrics" xattr reports.
void SetMetricsAddress(std::string address);
std::string MetricsAddress();

// Healthy when the MDS answered the last OST table request (refreshed every
// 10 s) and every OST in it is up: I/O to a down OST fails.
std::vector<HealthCheck> MountHealth(Mount& client);

}  // namespace amlfs::fuse
