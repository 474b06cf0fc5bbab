// A namespace on a temporary LevelDB, with four registered OSTs, for tests.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/log.h"
#include "server/mds/mds.h"

namespace amlfs::mds {

class TempNamespace {
 public:
  TempNamespace() {
    SetLogLevel(LogLevel::kWarn);  // no start-up chatter in test output
    char tmpl[] = "/tmp/mds_test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    Reopen();
  }
  ~TempNamespace() {
    mds_.reset();
    std::filesystem::remove_all(dir_);
  }
  static MdsConfig DefaultConfig() {
    MdsConfig cfg;
    cfg.default_stripe_count = 2;
    cfg.default_stripe_size = 1 << 20;
    return cfg;
  }
  // Closes and reopens the database (an MDS restart), with `cfg`.
  void Reopen(const MdsConfig& cfg = DefaultConfig()) {
    mds_.reset();
    auto m = Mds::Open(dir_, cfg, nullptr, nullptr);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    mds_ = std::move(m).value();
    for (uint32_t i = 0; i < 4; ++i) {
      OstRegisterReq r;
      r.index = OstIndex(i);
      r.address = "127.0.0.1:" + std::to_string(9000 + i);
      r.ost_uuid = "uuid" + std::to_string(i);
      r.capacity_bytes = 1000;
      r.free_bytes = r.avail_bytes = 600;
      (void)mds_->Wait(mds_->OstRegister(r));
    }
  }
  Mds& operator*() { return *mds_; }
  Mds* operator->() { return mds_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<Mds> mds_;
};

// A caller with a fresh sequence number per mutation.
struct Who {
  Caller c;
  explicit Who(uint32_t uid = 0, uint32_t gid = 0, std::vector<uint32_t> groups = {}) {
    c.client = ClientId(uid + 1000);
    c.uid = uid;
    c.gid = gid;
    c.groups = std::move(groups);
  }
  Caller Next() {
    ++c.seq;
    return c;
  }
};

}  // namespace amlfs::mds
