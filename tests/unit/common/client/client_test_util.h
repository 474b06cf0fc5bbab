// Real OST servers in this process, for tests of the client data path
// (StripedIo, WriteBehind): each one an ObjectStore on a temporary directory
// behind an RpcServer on 127.0.0.1 with a port the kernel picks, and an
// OstPool that knows them all. Everything is removed on destruction, even
// when a test fails.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/checksum.h"
#include "common/client/ost_pool.h"
#include "common/client/striped_io.h"
#include "common/log.h"
#include "common/net/net_context.h"
#include "common/net/rpc_server.h"
#include "server/ost/object_store.h"
#include "server/ost/ost_service.h"

namespace amlfs::testing {

// One OST: its store (read directly to check where data landed) and server.
class TestOst {
 public:
  explicit TestOst(uint32_t index) : index_(index) {
    char tmpl[] = "/tmp/ost_client_test.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    store_ = std::make_unique<ObjectStore>(dir_, index);
    service_ = std::make_unique<OstService>(store_.get());
    RpcServer::Options o;
    o.role = "ost";
    o.io_threads = 1;
    o.worker_threads = 2;
    server_ = std::make_unique<RpcServer>(
        std::move(o), [this](std::shared_ptr<RpcCall> call) { service_->Handle(std::move(call)); });
    Status st = server_->Listen(HostPort{"127.0.0.1", 0});
    if (!st.ok()) throw std::runtime_error(st.ToString());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    server_->Start();
  }
  ~TestOst() {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  // The OST stops answering: its port is closed, nothing listens there.
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
  }
  OstIndex index() const { return OstIndex(index_); }
  const std::string& address() const { return address_; }
  ObjectStore& store() { return *store_; }
  // What object `o` holds in [offset, offset + length) ("" where it ends).
  std::string ObjectBytes(const ObjectId& o, uint64_t offset, uint64_t length) {
    auto r = store_->Read(o, offset, length);
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return *r;
  }

 private:
  uint32_t index_;
  std::string dir_;
  std::string address_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<OstService> service_;
  std::unique_ptr<RpcServer> server_;
};

// `n` OSTs with indexes 0..n-1, a NetContext and an OstPool that knows them.
class TestOsts {
 public:
  explicit TestOsts(uint32_t n) {
    SetLogLevel(LogLevel::kWarn);
    for (uint32_t i = 0; i < n; ++i) osts_.push_back(std::make_unique<TestOst>(i));
    net_ = std::make_unique<NetContext>(2);
    pool_ = std::make_unique<OstPool>(*net_, "test");
    std::vector<OstInfo> infos;
    for (auto& o : osts_) {
      OstInfo info;
      info.index = o->index();
      info.address = o->address();
      info.up = true;
      infos.push_back(info);
    }
    pool_->Update(infos);
  }
  ~TestOsts() {
    // Clients before servers: no call is left waiting on a stopped OST.
    pool_.reset();
    net_.reset();
    osts_.clear();
  }
  TestOst& ost(uint32_t i) { return *osts_.at(i); }
  OstPool& pool() { return *pool_; }

 private:
  std::vector<std::unique_ptr<TestOst>> osts_;
  std::unique_ptr<NetContext> net_;
  std::unique_ptr<OstPool> pool_;
};

// A plain layout: one component over `osts`, `stripe_size` bytes a unit.
inline Layout PlainLayout(uint64_t stripe_size, std::vector<OstIndex> osts) {
  Layout l;
  l.generation = 1;
  LayoutComponent c;
  c.stripe_size = stripe_size;
  c.osts = std::move(osts);
  l.comps.push_back(c);
  return l;
}

// Bytes that differ at every offset and between seeds.
inline std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + i / 251 + seed * 17 + 1) & 0xff);
  return s;
}

}  // namespace amlfs::testing
