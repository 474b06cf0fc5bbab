// MdsService: decodes each request, runs it on the Mds, replies.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/net/rpc_server.h"
#include "server/mds/mds.h"

namespace amlfs::mds {

class MdsService {
 public:
  explicit MdsService(Mds* mds) : mds_(mds) {}
  // Unknown opcodes get kNotSupported; malformed payloads kProtocol.
  void Handle(std::shared_ptr<RpcCall> call);

  // Replicated MDS: `raft` takes the replicas' kRaft messages, and `gate`
  // decides whether this replica serves requests now (OK) or answers with
  // its error (kUnavailable: "not the leader; try HOST:PORT").
  void SetReplication(std::function<void(std::string)> raft, std::function<Status()> gate) {
    raft_ = std::move(raft);
    gate_ = std::move(gate);
  }

 private:
  Mds* mds_;
  std::function<void(std::string)> raft_;
  std::function<Status()> gate_;
};

}  // namespace amlfs::mds
