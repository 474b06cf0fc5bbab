// OstPool: one RpcClient per OST, addressed by OstIndex.
//
// The OST map (index -> address) comes from the MDS (OstMapReq / FsInfoRsp)
// and is refreshed by the owner with Update(). Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/net/rpc_client.h"
#include "common/protocol.h"
#include "common/status.h"

namespace amlfs {

class NetContext;

class OstPool {
 public:
  OstPool(NetContext& net, std::string client_name);
  ~OstPool();

  // Replaces the known OSTs. An OST whose address changed gets a new client.
  void Update(const std::vector<OstInfo>& osts);

  // The client for `index`, or kNotFound if the OST is unknown.
  Result<std::shared_ptr<RpcClient>> Get(OstIndex index);

  std::vector<OstInfo> Snapshot() const;

  // The network threads the clients run on.
  NetContext& net() { return net_; }

 private:
  NetContext& net_;
  std::string name_;
  mutable std::mutex mu_;
  std::map<OstIndex, OstInfo> info_;
  std::map<OstIndex, std::shared_ptr<RpcClient>> clients_;
};

}  // namespace amlfs
