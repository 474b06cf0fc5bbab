#include "common/client/mds_client.h"

#include <future>
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
    case Opcode::kAppend:
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

// One request going through the MDS addresses in turn.
struct MdsClient::Attempt {
  Opcode op;
  std::string payload;
  RpcClient::Callback done;
  size_t start = 0;
  size_t tried = 0;
  std::chrono::milliseconds per_try{0};
};

void MdsClient::Try(std::shared_ptr<Attempt> a) {
  size_t idx = (a->start + a->tried) % clients_.size();
  clients_[idx]->CallAsync(a->op, a->payload, a->per_try, [this, a, idx](Result<std::string> r) {
    if (r.ok() || r.status().code() != Code::kUnavailable || ++a->tried == clients_.size()) {
      if (r.ok() || r.status().code() != Code::kUnavailable) current_ = idx;
      return a->done(std::move(r));
    }
    Try(a);
  });
}

void MdsClient::CallRawAsync(Opcode op, std::string payload, std::chrono::milliseconds timeout,
                             RpcClient::Callback done) {
  if (clients_.empty()) return done(Error(Code::kUnavailable, "no MDS address"));
  auto a = std::make_shared<Attempt>();
  a->op = op;
  a->payload = std::move(payload);
  a->done = std::move(done);
  a->start = current_.load();
  // One full deadline on the current MDS; with several, a shorter try each.
  auto t = timeout.count() > 0 ? timeout : timeout_;
  a->per_try = clients_.size() > 1 ? t / static_cast<int>(clients_.size()) : t;
  Try(std::move(a));
}

Result<std::string> MdsClient::CallRaw(Opcode op, std::string payload) {
  std::promise<Result<std::string>> prom;
  auto fut = prom.get_future();
  CallRawAsync(op, std::move(payload), std::chrono::milliseconds(0), [&prom](Result<std::string> r) { prom.set_value(std::move(r)); });
  return fut.get();
}

}  // namespace amlfs
