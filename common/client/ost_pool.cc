#include "common/client/ost_pool.h"

namespace amlfs {

OstPool::OstPool(NetContext& net, std::string client_name)
    : net_(net), name_(std::move(client_name)) {}
OstPool::~OstPool() = default;

void OstPool::Update(const std::vector<OstInfo>& osts) {
  std::vector<std::shared_ptr<RpcClient>> unused;  // destroyed after the lock is released
  std::lock_guard lk(mu_);
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (it->use_count() == 1) {
      unused.push_back(std::move(*it));
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& o : osts) {
    auto it = info_.find(o.index);
    if (it != info_.end() && it->second.address != o.address) {
      auto c = clients_.find(o.index);
      if (c != clients_.end()) {
        retired_.push_back(std::move(c->second));
        clients_.erase(c);
      }
    }
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
