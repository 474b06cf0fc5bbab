// MdsService: decodes each request, runs it on the Mds, replies.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/net/rpc_server.h"
#include "server/mds/mds.h"
#include "server/mds/squash.h"

namespace amlfs::mds {

class MdsService {
 public:
  explicit MdsService(Mds* mds);
  // Unknown opcodes get kNotSupported; malformed payloads kProtocol. Every
  // request is counted for its client, and a namespace request for its job
  // id too (amlfs_mds_client_ops_total, amlfs_mds_job_ops_total).
  void Handle(std::shared_ptr<RpcCall> call);

  // Replicated MDS: `raft` takes the replicas' kRaft messages (and answers
  // each through `reply`, from any thread), `gate`
  // decides whether this replica serves requests now (OK) or answers with
  // its error (kUnavailable: "not the leader; try HOST:PORT"), and `status`
  // describes the replica (kMdsStatus, answered whatever the gate says).
  // `members` changes the configuration (kMdsMembers, past the gate): adds
  // replica id at address, or removes it (empty address); `done` runs once
  // the change is committed, or with why not.
  struct Replication {
    std::function<void(std::string body, std::function<void(std::string)> reply)> raft;
    std::function<Status()> gate;
    std::function<MdsStatusRsp()> status;
    std::function<void(uint32_t id, std::string address, std::function<void(Status)> done)> members;
  };
  void SetReplication(Replication r) { repl_ = std::move(r); }
  // Applied to the caller of every request before it is served.
  void SetSquash(SquashPolicy p) { squash_ = std::move(p); }

 private:
  // Decodes the request and, for a namespace request, counts its job and
  // squashes its caller; false (answered with the error) if malformed.
  template <typename Req>
  bool Prepare(const std::shared_ptr<RpcCall>& call, Req* req);
  // A read: answered at once. A mutation: answered once its batch commits.
  template <typename Req, typename Rsp>
  void Serve(const std::shared_ptr<RpcCall>& call, Result<Rsp> (Mds::*method)(const Req&));
  template <typename Req, typename Rsp>
  void Serve(const std::shared_ptr<RpcCall>& call, Committed<Rsp> (Mds::*method)(const Req&));

  Mds* mds_;
  metrics::KeyedCounters jobs_;
  metrics::KeyedCounters clients_;
  SquashPolicy squash_;
  Replication repl_;
};

}  // namespace amlfs::mds
