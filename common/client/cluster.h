// Cluster: a process's connections to one amlfs file system, wired once for
// every program on the client side: the network threads (NetContext), the
// metadata server (MdsClient) and the OSTs' data path (OstPool, StripedIo).
// The FUSE mount (fuse/mount.h), the MDS (server/mds/main.cc) and the
// amlfs/lfs tools (tools/amlfs/session.h) each hold one. A program that reaches only the
// OSTs (the MDS, for truncate and object destruction) gives no MDS address:
// its MdsClient then fails every call with kUnavailable ("no MDS address").
// With an MDS address, the data path sends the objects of Data-on-MDT
// components to the MDS (StripedIo::SetMdt).
//
// Ownership: the Cluster owns all four and destroys them in dependency
// order (data path, OST clients, MDS client, then the network threads), so
// no callback runs on a destroyed object. The OST map starts empty: the
// owner fills it from the MDS (pool().Update with OstMapReq's or FsInfoRsp's
// OSTs). Construction does not connect anywhere; the first call does.
//
// Thread safety: the accessors may be called from any thread, as may every
// method of the objects they return (each is thread-safe). Errors come from
// those objects' calls (common/client/*.h); construction cannot fail.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace amlfs {

class MdsClient;
class NetContext;
class OstPool;
class StripedIo;

struct ClusterOptions {
  // The MDS replicas' "host:port" addresses (see MdsClient).
  std::vector<std::string> mds;
  // How servers name this process in their logs and per-client statistics.
  std::string name;
  int net_threads = 2;
  // Each MDS call's deadline (all replicas together), and each OST call's.
  std::chrono::milliseconds mds_timeout{30000};
  std::chrono::milliseconds io_timeout{30000};
};

class Cluster {
 public:
  explicit Cluster(const ClusterOptions& options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  NetContext& net() { return *net_; }
  MdsClient& mds() { return *mds_; }
  OstPool& pool() { return *pool_; }
  StripedIo& io() { return *io_; }

 private:
  // Declared in construction order; destroyed in reverse by ~Cluster.
  std::unique_ptr<NetContext> net_;
  std::unique_ptr<MdsClient> mds_;
  std::unique_ptr<OstPool> pool_;
  std::unique_ptr<StripedIo> io_;
};

}  // namespace amlfs
