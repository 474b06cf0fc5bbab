#include "fuse/observe.h"

#include <cstdio>
#include <mutex>

#include "fuse/mount.h"

namespace amlfs::fuse {

ClientMetrics& Metrics() {
  static ClientMetrics* m = [] {
    metrics::Registry& r = metrics::Default();
    return new ClientMetrics{
        r.GetCounter("amlfs_client_read_bytes_total", "Bytes returned to read()."),
        r.GetCounter("amlfs_client_write_bytes_total", "Bytes accepted by write()."),
        r.GetCounter("amlfs_client_reads_total", "Read requests from the kernel."),
        r.GetCounter("amlfs_client_writes_total", "Write requests from the kernel."),
        r.GetCounter("amlfs_client_io_errors_total", "Reads and writes answered with an error."),
        r.GetCounter("amlfs_client_checksum_errors_total",
                     "Reads that failed because a block's checksum did not match."),
        r.GetHistogram("amlfs_client_read_seconds", "Latency of read requests."),
        r.GetHistogram("amlfs_client_write_seconds", "Latency of write requests.")};
  }();
  return *m;
}

namespace {
std::mutex g_address_mu;
std::string g_address;
}  // namespace

void SetMetricsAddress(std::string address) {
  std::lock_guard lk(g_address_mu);
  g_address = std::move(address);
}

std::string MetricsAddress() {
  std::lock_guard lk(g_address_mu);
  return g_address;
}

void ObserveMount(Mount& client) {
  Metrics();
  metrics::Default().AddCollector([&client](metrics::Writer& w) {
    const uint64_t buffered = client.write_behind() ? client.write_behind()->buffered() : 0;
    w.Family("amlfs_client_write_behind_bytes", "gauge", "Written bytes not yet on the OSTs.");
    w.Sample("amlfs_client_write_behind_bytes", static_cast<double>(buffered));
  });
}

std::vector<HealthCheck> MountHealth(Mount& client) {
  using State = HealthCheck::State;
  std::vector<HealthCheck> checks;
  std::chrono::steady_clock::time_point when;
  const std::vector<OstInfo> osts = client.KnownOsts(&when);
  const auto age =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - when)
          .count();
  // The table is asked for every 10 s: three misses and the MDS is out of reach.
  if (when.time_since_epoch().count() == 0 || age > 30) {
    checks.push_back({State::kFail, when.time_since_epoch().count() == 0
                                        ? std::string("mds: no answer yet")
                                        : "mds: no answer for " + std::to_string(age) + " s"});
    return checks;
  }
  checks.push_back({State::kOk, "mds: answered " + std::to_string(age) + " s ago"});
  size_t up = 0;
  for (const auto& o : osts) {
    if (o.up) {
      ++up;
      continue;
    }
    char name[16];
    std::snprintf(name, sizeof(name), "OST%04x", o.index.value());
    checks.push_back({State::kFail, std::string(name) + " down (" + o.address + ")"});
  }
  checks.push_back({up == osts.size() ? State::kOk : State::kFail,
                    "osts: " + std::to_string(up) + " of " + std::to_string(osts.size()) + " up"});
  return checks;
}

}  // namespace amlfs::fuse
