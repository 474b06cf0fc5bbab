#include "common/client/cluster.h"

#include "common/client/mds_client.h"
#include "common/client/ost_pool.h"
#include "common/client/striped_io.h"
#include "common/net/net_context.h"

namespace amlfs {

Cluster::Cluster(const ClusterOptions& o) {
  net_ = std::make_unique<NetContext>(o.net_threads);
  mds_ = std::make_unique<MdsClient>(*net_, o.mds, o.mds_timeout, o.name);
  pool_ = std::make_unique<OstPool>(*net_, o.name);
  io_ = std::make_unique<StripedIo>(*pool_, o.io_timeout);
  // Data-on-MDT objects: to the MDS, through the client that follows its
  // leader. The MDS itself (no address) serves them locally instead.
  if (!o.mds.empty())
    io_->SetMdt([mds = mds_.get()](Opcode op, std::string payload,
                                   std::chrono::milliseconds timeout,
                                   std::function<void(Result<std::string>)> done) {
      mds->CallRawAsync(op, std::move(payload), timeout, std::move(done));
    });
}

Cluster::~Cluster() {
  // The users first: a call in flight completes on the network threads.
  io_.reset();
  pool_.reset();
  mds_.reset();
  net_.reset();
}

}  // namespace amlfs
