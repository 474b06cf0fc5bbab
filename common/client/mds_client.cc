#include "common/client/mds_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <optional>
#include <random>

#include "common/config.h"
#include "common/net/net_context.h"

namespace amlfs {

bool IsMutation(Opcode op) { return (MethodFlagsOf(op) & kMutation) != 0; }

MdsClient::MdsClient(NetContext& net, std::vector<std::string> addresses,
                     std::chrono::milliseconds timeout, std::string name)
    : net_(net), name_(name), timeout_(timeout) {
  size_t n = 0;
  for (auto& a : addresses) {
    if (n == kMaxAddresses) break;
    RpcClient::Options o{"client", name};
    o.fail_fast = addresses.size() > 1;
    clients_[n++] = std::make_unique<RpcClient>(net, a, o);
  }
  count_.store(n, std::memory_order_release);
  std::random_device rd;
  client_id_ = ClientId((uint64_t{rd()} << 32) | rd());
}

const std::string& MdsClient::address() const { return clients_[current_ % Count()]->address(); }

// One request going through the MDS addresses until one serves it.
struct MdsClient::Attempt {
  Opcode op;
  std::string payload;
  RpcClient::Callback done;
  size_t next = 0;  // the address to try next
  size_t tried = 0;
  std::chrono::milliseconds per_try{0};
  std::chrono::steady_clock::time_point deadline;
};

// A replica that does not lead names the leader in its answer's envelope.
std::optional<size_t> MdsClient::HintedIndex(const std::string& addr) {
  if (addr.empty()) return std::nullopt;
  for (size_t i = 0; i < Count(); ++i)
    if (clients_[i]->address() == addr) return i;
  if (!ParseHostPort(addr).ok()) return std::nullopt;
  std::lock_guard lk(learn_mu_);
  const size_t n = Count();
  for (size_t i = 0; i < n; ++i)
    if (clients_[i]->address() == addr) return i;
  if (n == kMaxAddresses || n < 2) return std::nullopt;  // a lone MDS never moves
  RpcClient::Options o{"client", name_};
  o.fail_fast = true;
  clients_[n] = std::make_unique<RpcClient>(net_, addr, o);
  count_.store(n + 1, std::memory_order_release);
  return n;
}

void MdsClient::Try(std::shared_ptr<Attempt> a) {
  const size_t idx = a->next;
  clients_[idx]->CallAsync(a->op, a->payload, a->per_try, [this, a, idx](Result<std::string> r) {
    // A replica that does not answer in time may be cut off from the others
    // (a retried mutation is safe: the MDS runs each request at most once).
    const bool elsewhere = r.status().code() == Code::kUnavailable ||
                           (r.status().code() == Code::kTimeout && Count() > 1);
    if (r.ok() || !elsewhere) {
      current_ = idx;
      return a->done(std::move(r));
    }
    // Not the leader, unreachable or silent: follow the hint, else the next
    // address; after a round of them, pause, and go on until the deadline
    // (a replicated MDS elects a new leader in a second or two).
    a->next = HintedIndex(r.status().leader()).value_or((idx + 1) % Count());
    if (++a->tried % Count() != 0) return Try(a);
    const auto pause = std::chrono::milliseconds(100);
    if (Count() == 1 || std::chrono::steady_clock::now() + pause >= a->deadline)
      return a->done(std::move(r));
    auto timer = std::make_shared<boost::asio::steady_timer>(net_.io(), pause);
    timer->async_wait([this, a, timer](const boost::system::error_code&) { Try(a); });
  });
}

void MdsClient::CallRawAsync(Opcode op, std::string payload, std::chrono::milliseconds timeout,
                             RpcClient::Callback done) {
  if (Count() == 0) return done(Error(Code::kUnavailable, "no MDS address"));
  auto a = std::make_shared<Attempt>();
  a->op = op;
  a->payload = std::move(payload);
  a->done = std::move(done);
  a->next = current_.load() % Count();
  // One full deadline on the current MDS; with several, a shorter try each.
  auto t = timeout.count() > 0 ? timeout : timeout_;
  a->per_try = Count() > 1 ? t / static_cast<int>(Count()) : t;
  a->deadline = std::chrono::steady_clock::now() + t;
  Try(std::move(a));
}

Result<std::string> MdsClient::CallRaw(Opcode op, std::string payload) {
  std::promise<Result<std::string>> prom;
  auto fut = prom.get_future();
  CallRawAsync(op, std::move(payload), std::chrono::milliseconds(0),
               [&prom](Result<std::string> r) { prom.set_value(std::move(r)); });
  return fut.get();
}

}  // namespace amlfs
