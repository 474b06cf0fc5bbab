#include "common/net/server_metrics.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "common/log.h"

namespace amlfs {
namespace {
// Counts refusals for LogRefusal: the first role's (a process serves one).
std::atomic<metrics::Counter*> g_refused{nullptr};
}  // namespace

ServerMetrics::ServerMetrics(const std::string& role)
    : ops(metrics::Default(), "amlfs_" + role + "_ops_total", "amlfs_" + role + "_op_errors_total",
          "amlfs_" + role + "_op_seconds"),
      connections(&metrics::Default().GetGauge("amlfs_" + role + "_connections",
                                               "Open client connections.")),
      refused(&metrics::Default().GetCounter(
          "amlfs_" + role + "_refused_connections_total",
          "Connections refused or cut: handshake, key, allow list, malformed frames.")) {}

ServerMetrics& ServerMetricsFor(const std::string& role) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<ServerMetrics>> all;
  std::lock_guard lk(mu);
  auto& m = all[role];
  if (!m) {
    m = std::make_unique<ServerMetrics>(role);
    metrics::Counter* none = nullptr;
    g_refused.compare_exchange_strong(none, m->refused);
  }
  return *m;
}

void LogRefusal(const std::string& line) {
  if (auto* c = g_refused.load()) c->Add();
  static std::mutex mu;
  static std::chrono::steady_clock::time_point window{};
  static int in_window = 0;
  static uint64_t left_out = 0;
  std::lock_guard lk(mu);
  const auto now = std::chrono::steady_clock::now();
  if (now - window >= std::chrono::seconds(1)) {
    window = now;
    in_window = 0;
  }
  if (++in_window > 10) {
    ++left_out;
    return;
  }
  if (left_out) {
    AMLFS_LOG(kWarn) << line << " (and " << left_out << " such lines left out before it)";
    left_out = 0;
  } else {
    AMLFS_LOG(kWarn) << line;
  }
}

}  // namespace amlfs
