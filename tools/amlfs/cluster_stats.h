// What `amlfs stats` and `amlfs top` read: every server's metrics (the
// Prometheus text of common/metrics.h), asked over the cluster's own RPC
// port with a Stats request — each MDS replica at the mount's addresses,
// directly, and each OST of the MDS's OST map — all at once, each with a
// deadline of kStatsTimeout, so a dead server costs seconds, not a hang.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "tools/amlfs/session.h"

namespace amlfs {
class NetContext;
class RpcClient;
}  // namespace amlfs

namespace amlfs::tools {

// How long a server has to answer one request.
inline constexpr std::chrono::seconds kStatsTimeout{2};

// One server's answer.
struct ServerStats {
  std::string name;     // "mds1" (its replica id; "mds0" unreplicated, "mds?" unknown), "OST0000"
  std::string role;     // "mds" or "ost"
  std::string address;  // HOST:PORT
  bool up = false;      // it answered
  std::string error;    // why not, when !up
  std::vector<metrics::Sample> samples;

  // The sum of the samples named `name` that carry every label of `match`;
  // 0 when there are none.
  double Sum(std::string_view name, const metrics::Labels& match = {}) const;
  // Those sums keyed by the value of label `key`; samples without it are left out.
  std::map<std::string, double> SumBy(std::string_view name, std::string_view key) const;
};

// One scrape of a whole file system.
struct ClusterStats {
  double time = 0;                               // Unix seconds, when it began
  std::chrono::steady_clock::time_point when{};  // the same, for rates
  std::string fs_name;
  std::vector<ServerStats> servers;  // the MDS replicas in the mount's order, then the OSTs

  // How many servers did not answer.
  size_t down() const;
  // The MDS replica that answers clients (amlfs_mds_serving 1), or null.
  const ServerStats* ServingMds() const;
  // The server at `address` in the role, or null.
  const ServerStats* Find(std::string_view role, std::string_view address) const;
};

// The mount `path` is on; without a path, the only amlfs mount of this
// node (kInvalid when there is none or several).
Result<Mount> ChooseMount(const std::string& path);

// Asks the servers of one file system for their metrics, keeping its
// connections from one scrape to the next. One caller at a time.
class ClusterScraper {
 public:
  // Connects to the mount's metadata server, for the file system's name
  // and its OST map; fails when no replica answers within seconds.
  static Result<std::unique_ptr<ClusterScraper>> Connect(const Mount& m);
  ~ClusterScraper();

  // Asks every server at once and waits for all of them: at most
  // kStatsTimeout, twice that when the OST map is refreshed first (every
  // kMapRefresh, or when the serving MDS lists other OSTs than the map).
  // Never fails: a server that does not answer comes back `up == false`.
  ClusterStats Scrape();

 private:
  static constexpr std::chrono::seconds kMapRefresh{30};

  ClusterScraper() = default;
  void RefreshMap();
  RpcClient& ClientFor(const std::string& address);
  void Gather(std::vector<ServerStats>& servers);
  void NameReplicas(std::vector<ServerStats>& servers);

  std::unique_ptr<Session> session_;
  std::vector<OstInfo> osts_;
  std::chrono::steady_clock::time_point map_time_{};
  bool map_stale_ = false;  // the last scrape's serving MDS listed other OSTs
  std::map<std::string, std::string> replica_names_;  // "mds2" by address
  std::unique_ptr<NetContext> net_;
  // By address; declared after net_, so destroyed before the context they run on.
  std::map<std::string, std::unique_ptr<RpcClient>> clients_;
};

// "OST0003".
std::string OstName(OstIndex index);
// "1.5 GiB": `bytes` in binary units, one decimal.
std::string HumanBytes(double bytes);

}  // namespace amlfs::tools
