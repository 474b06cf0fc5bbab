// What an RPC server counts and logs of its connections and requests
// (docs/OBSERVABILITY.md): per-operation counts, errors and latency, open
// connections, and refused ones, whose log lines are rate-limited.
// Internal to common/net/rpc_server.cc. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/metrics.h"
#include "common/protocol.h"

namespace amlfs {

struct ServerMetrics {
  explicit ServerMetrics(const std::string& role);
  // Operation `opcode`'s series, created on first use, then found without a lock.
  const metrics::OpMetrics::Op& For(uint16_t opcode) {
    return ops.For(opcode, OpcodeName(static_cast<Opcode>(opcode)));
  }

  metrics::OpMetrics ops;       // amlfs_<role>_ops_total, _op_errors_total, _op_seconds
  metrics::Gauge* connections;  // amlfs_<role>_connections
  metrics::Counter* refused;    // amlfs_<role>_refused_connections_total
};

// The metrics of the servers of `role`, for the life of the process: calls
// and sessions may outlive their server.
ServerMetrics& ServerMetricsFor(const std::string& role);

// Logs a line about a refused or closed connection, and counts it (for the
// process's first server role): at most 10 such lines a second, so that a
// flood of bad connections cannot fill the log; the next line logged says
// how many were left out.
void LogRefusal(const std::string& line);

}  // namespace amlfs
