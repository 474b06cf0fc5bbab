// OstPool: one RpcClient per OST, addressed by OstIndex.
//
// The OST map (index -> address) comes from the MDS (OstMapReq / FsInfoRsp)
// and is refreshed by the owner with Update(). Thread-safe.
//
// A client replaced by Update() (its OST moved) is kept until a later
// Update() (or the pool's destruction) finds no one else holding it, and is
// destroyed there, outside the pool's lock: so a caller of Get() on a
// network thread (StripedIo's asynchronous calls) never drops the last
// reference, whose destructor waits for the client's network thread.
// REQUIRES: Update() and the destructor are not called on a network thread.
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
  std::vector<std::shared_ptr<RpcClient>> retired_;  // replaced, maybe still in use
};

}  // namespace amlfs
