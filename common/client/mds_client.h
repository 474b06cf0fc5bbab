// MdsClient: typed calls to the metadata server on behalf of a user.
//
// Fills each request's Caller: this mount's client id, a fresh sequence
// number for mutations (so the MDS can answer a retried mutation with its
// recorded reply) and the caller's credentials. With several MDS addresses
// (a replicated MDS) it follows the leader: a replica that does not lead
// names it, an unreachable one is skipped, and while no replica serves (an
// election) the call waits and tries again until its deadline.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/net/rpc_client.h"
#include "common/protocol.h"

namespace amlfs {

class NetContext;

struct Creds {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;
  std::string job;  // the calling process's job id, for job statistics ("": none)
};

// True for opcodes that change the namespace (they get a sequence number):
// kMutation in the method table (common/protocol_methods.h).
bool IsMutation(Opcode op);

class MdsClient {
 public:
  MdsClient(NetContext& net, std::vector<std::string> addresses, std::chrono::milliseconds timeout,
            std::string name);

  ClientId client_id() const { return client_id_; }
  const std::string& address() const;

  template <typename Req>
  Result<typename Req::Response> Call(Req req, const Creds& creds) {
    FillCaller(req, creds);
    AMLFS_ASSIGN_OR_RETURN(std::string body, CallRaw(Req::kOp, Encode(req)));
    typename Req::Response rsp;
    AMLFS_RETURN_IF_ERROR(Decode(body, &rsp));
    return rsp;
  }

  // Call without waiting: `done` gets the decoded response or the error,
  // exactly once, on a network thread; it must not block.
  // `timeout`: 0 for the client's own.
  template <typename Req>
  void CallAsync(Req req, const Creds& creds,
                 std::function<void(Result<typename Req::Response>)> done,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    FillCaller(req, creds);
    CallRawAsync(Req::kOp, Encode(req), timeout,
                 [done = std::move(done)](Result<std::string> body) {
                   if (!body.ok()) return done(body.status());
                   typename Req::Response rsp;
                   if (Status st = Decode(body.value(), &rsp); !st.ok()) return done(st);
                   done(std::move(rsp));
                 });
  }

  // Sends an encoded request to the current MDS, moving to the next address
  // when it is unreachable; returns the response body.
  Result<std::string> CallRaw(Opcode op, std::string payload);
  void CallRawAsync(Opcode op, std::string payload, std::chrono::milliseconds timeout,
                    RpcClient::Callback done);

 private:
  template <typename Req>
  void FillCaller(Req& req, const Creds& creds) {
    if constexpr (requires { req.caller; }) {
      req.caller.client = client_id_;
      req.caller.seq = IsMutation(Req::kOp) ? ++seq_ : 0;
      req.caller.uid = creds.uid;
      req.caller.gid = creds.gid;
      req.caller.groups = creds.groups;
      req.caller.job = creds.job;
    }
  }
  struct Attempt;
  void Try(std::shared_ptr<Attempt> a);
  // The index of `leader`, the address a replica that does not lead named
  // (Status::leader(); "": none); an address not given at construction (a
  // replica added since) is learned, up to kMaxAddresses in all.
  std::optional<size_t> HintedIndex(const std::string& leader);
  size_t Count() const { return count_.load(std::memory_order_acquire); }
  NetContext& net_;
  std::string name_;

  // Slots [0, count_) are set and never change again: readers take no lock.
  static constexpr size_t kMaxAddresses = 16;
  std::array<std::unique_ptr<RpcClient>, kMaxAddresses> clients_;
  std::atomic<size_t> count_{0};
  std::mutex learn_mu_;  // serializes adding addresses
  std::atomic<size_t> current_{0};
  ClientId client_id_;
  std::atomic<uint64_t> seq_{0};
  std::chrono::milliseconds timeout_;
};

}  // namespace amlfs
