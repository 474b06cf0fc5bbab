// MdsService: decodes each request, runs it on the Mds, replies.
#pragma once

#include <memory>

#include "common/net/rpc_server.h"
#include "server/mds/mds.h"

namespace amlfs::mds {

class MdsService {
 public:
  explicit MdsService(Mds* mds) : mds_(mds) {}
  // Unknown opcodes get kNotSupported; malformed payloads kProtocol.
  void Handle(std::shared_ptr<RpcCall> call);

 private:
  Mds* mds_;
};

}  // namespace amlfs::mds
