// OstService: decodes OST requests and runs them on the ObjectStore.
#pragma once

#include <memory>

#include "common/net/rpc_server.h"
#include "server/ost/object_store.h"

namespace amlfs {

class OstService {
 public:
  explicit OstService(ObjectStore* store) : store_(store) {}
  // Handles one request; unknown opcodes get kNotSupported.
  void Handle(std::shared_ptr<RpcCall> call);

 private:
  ObjectStore* store_;
};

}  // namespace amlfs
