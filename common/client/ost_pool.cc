#include "common/client/ost_pool.h"

namespace amlfs {

OstPool::OstPool(NetContext& net, std::string client_name)
    : net_(net), name_(std::move(client_name)) {}
OstPool::~OstPool() = default;

void OstPool::Update(const std::vector<OstInfo>& osts) {
  std::lock_guard lk(mu_);
  for (const auto& o : osts) {
    auto it = info_.find(o.index);
    if (it != info_.end() && it->second.address != o.address) clients_.erase(o.index);
    info_[o.index] = o;
  }
}

Result<std::shared_ptr<RpcClient>> OstPool::Get(OstIndex index) {
  std::lock_guard lk(mu_);
  auto c = clients_.find(index);
  if (c != clients_.end()) return c->second;
  auto it = info_.find(index);
  if (it == info_.end())
    return Error(Code::kNotFound, "OST" + std::to_string(index.value()) + " is unknown");
  auto client =
      std::make_shared<RpcClient>(net_, it->second.address, RpcClient::Options{"client", name_});
  clients_[index] = client;
  return client;
}

std::vector<OstInfo> OstPool::Snapshot() const {
  std::lock_guard lk(mu_);
  std::vector<OstInfo> out;
  for (const auto& [i, o] : info_) out.push_back(o);
  return out;
}

}  // namespace amlfs
