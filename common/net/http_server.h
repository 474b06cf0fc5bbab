// MetricsHttp: the small HTTP server every amlfs process may run for its
// operators (Boost.Beast, on a thread of its own so that a slow scraper
// never touches the file system's own network threads):
//
//   GET /metrics    the process's metrics (common/metrics.h), Prometheus
//                   text format 0.0.4
//   GET /healthz    200 "ok" when every check passes, else 503; one line
//                   per check in the body ("ok: ..." / "fail: ..." /
//                   "warn: ..." — a warning does not fail the check)
//   GET /loglevel   the current log level
//   PUT /loglevel   body "debug|info|warn|error": sets it; accepted only
//                   from the host itself (a loopback peer)
//
// Anything else is 404 or 405. Requests are bounded (8 KiB of headers,
// 64 bytes of body, 10 s to arrive) and at most 64 connections are served at
// once; the rest are closed at accept.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace amlfs {

struct HealthCheck {
  enum class State { kOk, kWarn, kFail };
  State state = State::kOk;
  std::string text;  // "leader of term 4", "OST0001 down for 12 s"
};

class MetricsHttp {
 public:
  // Runs at each /healthz, on the server's thread; keep it quick.
  using HealthFn = std::function<std::vector<HealthCheck>()>;

  explicit MetricsHttp(HealthFn health);
  ~MetricsHttp();  // Stop()s
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Binds and listens (port 0: any free port) and starts serving.
  Status Start(const HostPort& where);
  // The bound "HOST:PORT" (after Start).
  std::string address() const;
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The /healthz body and whether it is healthy: "ok\n" or "unhealthy\n",
// then one line per check.
std::string RenderHealth(const std::vector<HealthCheck>& checks, bool* healthy);

}  // namespace amlfs
