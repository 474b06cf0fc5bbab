// OstService: decodes OST requests and runs them on the ObjectStore, and
// counts the bytes moved, in total, per job id and per client
// (amlfs_ost_*, docs/OBSERVABILITY.md). Borrows the store, which must
// outlive it. Handle is called by the RPC server's threads, any number at
// once: the store and the counters are thread-safe. Errors go back to the
// caller as the reply's status, never as an exception.
#pragma once

#include <memory>
#include <type_traits>

#include "common/metrics.h"
#include "common/net/rpc_server.h"
#include "common/protocol_ost.h"
#include "server/ost/object_store.h"

namespace amlfs {

class OstService {
 public:
  explicit OstService(ObjectStore* store);
  // Handles one request of AMLFS_OST_METHODS (common/protocol_methods.h);
  // other opcodes get kNotSupported.
  void Handle(std::shared_ptr<RpcCall> call);

 private:
  // Serves the request of type Req: Handle picks the overload by the
  // opcode's request type. Writes and reads use their payloads in place;
  // the others decode their request and reply with what the store says.
  void Serve(RpcCall& call, std::type_identity<ObjWriteReq>);
  void Serve(RpcCall& call, std::type_identity<ObjReadReq>);
  template <typename Req>
  void Serve(RpcCall& call, std::type_identity<Req>);
  // Counts one request of `job` from `client` that moved `read`/`written` bytes.
  void Account(const RpcCall& call, std::string_view job, uint64_t read, uint64_t written);

  ObjectStore* store_;
  metrics::Counter& read_bytes_;
  metrics::Counter& write_bytes_;
  metrics::KeyedCounters jobs_;
  metrics::KeyedCounters clients_;
};

}  // namespace amlfs
