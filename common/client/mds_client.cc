#include "common/client/mds_client.h"

#include <random>

namespace amlfs {

bool IsMutation(Opcode op) {
  switch (op) {
    case Opcode::kSetAttr:
    case Opcode::kMknod:
    case Opcode::kMkdir:
    case Opcode::kUnlink:
    case Opcode::kRmdir:
    case Opcode::kRename:
    case Opcode::kLink:
    case Opcode::kSymlink:
    case Opcode::kOpen:
    case Opcode::kCreate:
    case Opcode::kRelease:
    case Opcode::kSetXattr:
    case Opcode::kRemoveXattr:
    case Opcode::kUpdateSize:
    case Opcode::kSetLayout:
    case Opcode::kMigrateBegin:
    case Opcode::kMigrateCommit:
      return true;
    default:
      return false;
  }
}

MdsClient::MdsClient(NetContext& net, std::vector<std::string> addresses,
                     std::chrono::milliseconds timeout, std::string name)
    : timeout_(timeout) {
  for (auto& a : addresses)
    clients_.push_back(std::make_unique<RpcClient>(net, a, RpcClient::Options{"client", name}));
  std::random_device rd;
  client_id_ = ClientId((uint64_t{rd()} << 32) | rd());
}

const std::string& MdsClient::address() const { return clients_[current_ % clients_.size()]->address(); }

Result<std::string> MdsClient::CallRaw(Opcode op, std::string payload) {
  size_t start = current_.load();
  Result<std::string> r = Error(Code::kUnavailable, "no MDS address");
  // One full deadline on the current MDS; with several, a shorter try each.
  auto per_try = clients_.size() > 1 ? timeout_ / static_cast<int>(clients_.size()) : timeout_;
  for (size_t i = 0; i < clients_.size(); ++i) {
    size_t idx = (start + i) % clients_.size();
    r = clients_[idx]->Call(op, payload, per_try);
    if (r.ok() || r.status().code() != Code::kUnavailable) {
      current_ = idx;
      return r;
    }
  }
  return r;
}

}  // namespace amlfs
