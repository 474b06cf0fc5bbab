// A replicated MDS builds the next batch while earlier ones commit: the
// mutations read through the batches not yet applied, answers wait for
// their batch, reads see only applied state, and a failed batch fails the
// ones built on it. The log here holds batches until the test lets them
// commit (or fail), in order, as the Raft log does within a term.
#include <fcntl.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "server/mds/mds.h"

using namespace amlfs;
using namespace amlfs::mds;
using namespace std::chrono_literals;

namespace {

class HeldLog : public Replicator {
 public:
  void Replicate(std::string ops, std::function<void(Status)> done) override {
    std::lock_guard lk(mu_);
    held_.push_back({std::move(ops), std::move(done)});
  }
  size_t held() {
    std::lock_guard lk(mu_);
    return held_.size();
  }
  // Waits until `n` batches are held.
  bool WaitHeld(size_t n) {
    for (int i = 0; i < 500 && held() < n; ++i) std::this_thread::sleep_for(2ms);
    return held() >= n;
  }
  // Commits (applies) or fails the oldest `n` held batches, in order.
  void Release(size_t n, bool commit) {
    for (size_t i = 0; i < n; ++i) {
      Held h;
      {
        std::lock_guard lk(mu_);
        REQUIRE(!held_.empty());
        h = std::move(held_.front());
        held_.pop_front();
      }
      if (commit) {
        mds->ApplyLogged(++index_, h.ops);
        h.done(Status::Ok());
      } else {
        h.done(Error(Code::kUnavailable, "not the leader"));
      }
    }
  }
  // Runs `fn` on another thread, committing whatever it logs until it returns.
  template <typename Fn>
  auto Run(Fn fn) {
    auto f = std::async(std::launch::async, fn);
    while (f.wait_for(2ms) != std::future_status::ready)
      if (held()) Release(held(), true);
    return f.get();
  }
  Mds* mds = nullptr;

 private:
  struct Held {
    std::string ops;
    std::function<void(Status)> done;
  };
  std::mutex mu_;
  std::deque<Held> held_;
  uint64_t index_ = 0;
};

struct Replicated {
  Replicated() {
    SetLogLevel(LogLevel::kWarn);
    char tmpl[] = "/tmp/mds_pipeline.XXXXXX";
    dir = mkdtemp(tmpl);
    auto m = Mds::Open(dir, MdsConfig{}, nullptr, nullptr, &log);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    mds = std::move(*m);
    log.mds = mds.get();
    REQUIRE(log.Run([&] { return mds->TakeLead(); }).ok());
  }
  ~Replicated() {
    mds.reset();
    std::filesystem::remove_all(dir);
  }
  Caller Next() {
    Caller c;
    c.client = ClientId(7);
    c.seq = ++seq;
    return c;
  }
  std::string dir;
  HeldLog log;
  std::unique_ptr<Mds> mds;
  uint64_t seq = 0;
};

}  // namespace

TEST_CASE("a replicated MDS builds batches on those not yet committed; answers wait for theirs") {
  Replicated r;
  Mds& m = *r.mds;
  auto first = std::async(std::launch::async, [&] {
    return m.Wait(m.Mkdir(MkdirReq{r.Next(), kRootInode, "a", 0755}));
  });
  REQUIRE(r.log.WaitHeld(1));
  // Not committed: not answered, and invisible to reads.
  CHECK(first.wait_for(50ms) == std::future_status::timeout);
  CHECK(m.Lookup(LookupReq{Caller{}, kRootInode, "a"}).status().code() == Code::kNotFound);
  // The next mutation sees it: a second mkdir of "a" fails with EEXIST,
  // and a mkdir inside it works; neither answers before the first commits.
  auto again = std::async(std::launch::async, [&] {
    return m.Wait(m.Mkdir(MkdirReq{r.Next(), kRootInode, "a", 0755}));
  });
  REQUIRE(r.log.WaitHeld(2));  // the recorded EEXIST answer
  CHECK(again.wait_for(50ms) == std::future_status::timeout);
  r.log.Release(1, true);
  auto a = first.get();
  REQUIRE(a.ok());
  auto inner = std::async(std::launch::async, [&] {
    return m.Wait(m.Mkdir(MkdirReq{r.Next(), a->attr.ino, "b", 0755}));
  });
  REQUIRE(r.log.WaitHeld(2));
  CHECK(inner.wait_for(50ms) == std::future_status::timeout);
  r.log.Release(2, true);
  CHECK(again.get().status().code() == Code::kExists);
  REQUIRE(inner.get().ok());
  CHECK(m.Lookup(LookupReq{Caller{}, a->attr.ino, "b"}).ok());
}

TEST_CASE(
    "a replicated MDS fails the batches built on one that fails, and starts clean when it leads "
    "again") {
  Replicated r;
  Mds& m = *r.mds;
  auto dir = std::async(std::launch::async, [&] {
    return m.Wait(m.Mkdir(MkdirReq{r.Next(), kRootInode, "d", 0755}));
  });
  REQUIRE(r.log.WaitHeld(1));
  // rmdir of the pending directory: built on it (it sees it, empty).
  auto rm = std::async(std::launch::async, [&] {
    return m.Wait(m.Rmdir(RmdirReq{r.Next(), kRootInode, "d"}));
  });
  REQUIRE(r.log.WaitHeld(2));
  // The leadership is lost: both batches fail.
  r.log.Release(1, false);
  CHECK(dir.get().status().code() == Code::kUnavailable);
  // A mutation that read the failed batch's changes cannot succeed,
  // whatever becomes of its own entry.
  CHECK(rm.wait_for(20ms) == std::future_status::timeout);
  r.log.Release(1, false);
  CHECK(rm.get().status().code() == Code::kUnavailable);
  CHECK(m.Lookup(LookupReq{Caller{}, kRootInode, "d"}).status().code() == Code::kNotFound);
  // Leading again, nothing of the failed batches is seen.
  REQUIRE(r.log.Run([&] { return m.TakeLead(); }).ok());
  auto again = r.log.Run([&] {
    return m.Wait(m.Mkdir(MkdirReq{r.Next(), kRootInode, "d", 0755}));
  });
  REQUIRE(again.ok());
}

TEST_CASE(
    "a mutation returns at once with the batch its answer waits for, its own and those it read") {
  Replicated r;
  Mds& m = *r.mds;
  Committed<EntryRsp> made = m.Mkdir(MkdirReq{r.Next(), kRootInode, "a", 0755});
  const uint64_t first = made.seq;
  Result<EntryRsp> a = made.result;
  REQUIRE(a.ok());
  REQUIRE(first != 0);
  CHECK(r.log.held() == 1);
  // Built on the first batch (it creates inside "a"): its answer also
  // waits for that one.
  Committed<EntryRsp> inner = m.Mkdir(MkdirReq{r.Next(), a->attr.ino, "b", 0755});
  REQUIRE(inner.result.ok());
  const uint64_t second = inner.seq;
  REQUIRE(second > first);
  std::vector<std::pair<int, Status>> answered;
  m.WhenCommitted(second, [&](Status st) { answered.emplace_back(2, st); });
  m.WhenCommitted(first, [&](Status st) { answered.emplace_back(1, st); });
  CHECK(answered.empty());
  r.log.Release(1, true);
  REQUIRE(answered.size() == 1);
  CHECK(answered[0].first == 1);
  CHECK(answered[0].second.ok());
  r.log.Release(1, true);
  REQUIRE(answered.size() == 2);
  CHECK(answered[1].second.ok());
  // Already committed: answered on the spot.
  bool now = false;
  m.WhenCommitted(first, [&](Status st) { now = st.ok(); });
  CHECK(now);
  // A failed batch: its answer says so.
  Committed<EntryRsp> lost_dir = m.Mkdir(MkdirReq{r.Next(), kRootInode, "c", 0755});
  REQUIRE(lost_dir.result.ok());
  const uint64_t third = lost_dir.seq;
  Status lost = Status::Ok();
  m.WhenCommitted(third, [&](Status st) { lost = st; });
  r.log.Release(1, false);
  CHECK(lost.code() == Code::kUnavailable);
  CHECK(m.Lookup(LookupReq{Caller{}, a->attr.ino, "b"}).ok());
  CHECK(m.Lookup(LookupReq{Caller{}, kRootInode, "c"}).status().code() == Code::kNotFound);
}

TEST_CASE(
    "an open or create whose batch fails leaves no open handle: the file dies at its unlink") {
  Replicated r;
  Mds& m = *r.mds;
  OstRegisterReq ost;
  ost.index = OstIndex(0);
  ost.address = "127.0.0.1:9000";
  ost.ost_uuid = "uuid0";
  REQUIRE(r.log.Run([&] { return m.Wait(m.OstRegister(ost)); }).ok());
  auto made = r.log.Run([&] {
    return m.Wait(m.Create(CreateReq{r.Next(), kRootInode, "f", 0644, O_RDWR | O_CREAT}));
  });
  REQUIRE(made.ok());
  const InodeId f = made->attr.ino;
  REQUIRE(r.log.Run([&] { return m.Wait(m.Release(ReleaseReq{r.Next(), f, made->handle})); }).ok());
  CHECK_FALSE(m.IsOpen(f));

  // Counted while its batch is pending (an unlink built on it keeps the
  // file), forgotten when the batch fails.
  Committed<OpenRsp> open = m.OpenFile(OpenReq{r.Next(), f, O_RDONLY});
  REQUIRE(open.result.ok());
  CHECK(m.IsOpen(f));
  r.log.Release(1, false);
  CHECK(m.Wait(std::move(open)).status().code() == Code::kUnavailable);
  CHECK_FALSE(m.IsOpen(f));

  // A new file's handle too; the inode number it had is given out again.
  Committed<OpenRsp> lost = m.Create(CreateReq{r.Next(), kRootInode, "g", 0644, O_RDWR | O_CREAT});
  REQUIRE(lost.result.ok());
  const InodeId g = lost.result->attr.ino;
  CHECK(m.IsOpen(g));
  r.log.Release(1, false);
  CHECK_FALSE(m.IsOpen(g));

  REQUIRE(r.log.Run([&] { return m.TakeLead(); }).ok());
  auto again = r.log.Run([&] {
    return m.Wait(m.Create(CreateReq{r.Next(), kRootInode, "g", 0644, O_RDWR | O_CREAT}));
  });
  REQUIRE(again.ok());
  REQUIRE(again->attr.ino == g);
  REQUIRE(r.log.Run([&] {
                 return m.Wait(m.Release(ReleaseReq{r.Next(), g, again->handle}));
               })
              .ok());
  CHECK_FALSE(m.IsOpen(g));
  // Closed by everyone: an unlink destroys each file at once, no orphan kept.
  for (const char* name : {"f", "g"})
    REQUIRE(r.log.Run([&] {
                   return m.Wait(m.Unlink(UnlinkReq{r.Next(), kRootInode, name}));
                 })
                .ok());
  CHECK(m.GetAttr(GetAttrReq{Caller{}, f}).status().code() == Code::kNotFound);
  CHECK(m.GetAttr(GetAttrReq{Caller{}, g}).status().code() == Code::kNotFound);
}
