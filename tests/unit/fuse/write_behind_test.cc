// WriteBehind over StripedIo and real OSTs in this process: buffered data
// reaches the OSTs on Flush, a background write error comes back at the
// next Write or Flush (once), and overlapping writes reach the OSTs in the
// order they were made, also with several writers on one file.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "fuse/write_behind.h"
#include "tests/unit/common/client/client_test_util.h"

using namespace amlfs;
using namespace amlfs::fuse;
using namespace amlfs::testing;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kUnit = 64 * 1024;

std::shared_ptr<const Layout> TwoStripes() {
  return std::make_shared<const Layout>(PlainLayout(kUnit, {OstIndex(0), OstIndex(1)}));
}

// Waits until nothing is buffered (the background writes have finished).
bool Drained(WriteBehind& wb) {
  for (int i = 0; i < 500 && wb.buffered() != 0; ++i) std::this_thread::sleep_for(10ms);
  return wb.buffered() == 0;
}

}  // namespace

TEST_CASE("buffered writes stay in memory until Flush sends them to the OSTs") {
  TestOsts osts(2);
  StripedIo io(osts.pool(), 5s);
  WriteBehind wb(io, 64u << 20, 4u << 20, 4);
  const auto layout = TwoStripes();
  const InodeId ino(21);
  auto f = wb.NewFile(ino);
  const std::string data = Pattern(3 * kUnit + 123, 1);
  // Three contiguous writes: one run, smaller than a run's 4 MiB.
  const size_t cut1 = 1000, cut2 = 2 * kUnit + 17;
  REQUIRE(wb.Write(f, layout, 0, data.data(), cut1).ok());
  REQUIRE(wb.Write(f, layout, cut1, data.data() + cut1, cut2 - cut1).ok());
  REQUIRE(wb.Write(f, layout, cut2, data.data() + cut2, data.size() - cut2).ok());
  CHECK(wb.buffered() == data.size());
  CHECK(osts.ost(0).ObjectBytes(ObjectId{21, 0, 0}, 0, 16).empty());
  CHECK(osts.ost(1).ObjectBytes(ObjectId{21, 0, 1}, 0, 16).empty());

  REQUIRE(wb.Flush(f).ok());
  // The budget is given back just after the data is on the OSTs.
  CHECK(Drained(wb));
  // Units 0 and 2 on OST0, 1 and 3 on OST1.
  CHECK(osts.ost(0).ObjectBytes(ObjectId{21, 0, 0}, 0, 4 * kUnit) ==
        data.substr(0, kUnit) + data.substr(2 * kUnit, kUnit));
  CHECK(osts.ost(1).ObjectBytes(ObjectId{21, 0, 1}, 0, 4 * kUnit) ==
        data.substr(kUnit, kUnit) + data.substr(3 * kUnit));
  auto back = io.Read(ino, *layout, 0, data.size(), data.size());
  REQUIRE(back.ok());
  CHECK(*back == data);
  // Nothing left: a second Flush has nothing to send and nothing to report.
  CHECK(wb.Flush(f).ok());
}

TEST_CASE("a background write error is returned by the next Write or Flush, once") {
  TestOsts osts(2);
  StripedIo io(osts.pool(), 300ms);
  // Runs of one unit: each write below is sent at once, in the background.
  WriteBehind wb(io, 64u << 20, kUnit, 4);
  const auto layout = TwoStripes();
  auto f = wb.NewFile(InodeId(22));
  const std::string data = Pattern(2 * kUnit, 2);
  osts.ost(1).Stop();
  REQUIRE(wb.Write(f, layout, 0, data.data(), data.size()).ok());  // buffered: no error yet

  SECTION("at the next Flush") {
    Status st = wb.Flush(f);
    CHECK(st.code() == Code::kIo);
    CHECK_THAT(st.message(), Catch::Contains("OST1"));
    CHECK(wb.Flush(f).ok());  // reported once
  }
  SECTION("at the next Write, which is not buffered") {
    REQUIRE(Drained(wb));
    Status st = wb.Write(f, layout, 0, "abc", 3);
    CHECK(st.code() == Code::kIo);
    CHECK(Drained(wb));
    // Reported once: a write to the OST that answers works, and so does its Flush.
    CHECK(wb.Write(f, layout, 0, "abc", 3).ok());
    CHECK(wb.Flush(f).ok());
    CHECK(osts.ost(0).ObjectBytes(ObjectId{22, 0, 0}, 0, 3) == "abc");
  }
  SECTION("an error of one file is not another's") {
    REQUIRE(Drained(wb));
    auto other = wb.NewFile(InodeId(23));
    CHECK(wb.Write(other, layout, 0, "abc", 3).ok());
    CHECK(wb.Flush(other).ok());
    CHECK(wb.Flush(f).code() == Code::kIo);
  }
}

TEST_CASE("overlapping writes reach the OSTs in the order they were made") {
  TestOsts osts(2);
  StripedIo io(osts.pool(), 5s);
  const auto layout = TwoStripes();
  const InodeId ino(24);

  SECTION("many runs in flight over the same bytes: the last write wins") {
    // Runs of one unit and eight runs in flight: each write is its own run,
    // sent as soon as it is made. A large write followed by a small one over
    // its start: sent side by side, the small one would land first.
    WriteBehind wb(io, 256u << 20, kUnit, 8);
    auto f = wb.NewFile(ino);
    std::string want(4u << 20, '\0');
    for (int i = 0; i < 12; ++i) {
      const std::string big = Pattern(want.size(), 100 + i);
      REQUIRE(wb.Write(f, layout, 0, big.data(), big.size()).ok());
      const std::string small = Pattern(kUnit + 10, 200 + i);
      REQUIRE(wb.Write(f, layout, 0, small.data(), small.size()).ok());
      want = big;
      want.replace(0, small.size(), small);
    }
    REQUIRE(wb.Flush(f).ok());
    auto back = io.Read(ino, *layout, 0, want.size(), want.size());
    REQUIRE(back.ok());
    CHECK(*back == want);
  }
  SECTION("writes inside, across and after the run being filled") {
    WriteBehind wb(io, 64u << 20, 4u << 20, 8);
    auto f = wb.NewFile(ino);
    std::string want(3000, 'a');
    REQUIRE(wb.Write(f, layout, 0, want.data(), 1000).ok());
    // Inside the open run: overwritten in place.
    REQUIRE(wb.Write(f, layout, 100, "bbbbbbbbbb", 10).ok());
    want.replace(100, 10, "bbbbbbbbbb");
    // Across its end: the open run goes first, then this one.
    const std::string c(1000, 'c');
    REQUIRE(wb.Write(f, layout, 500, c.data(), c.size()).ok());
    want.replace(500, 1000, c);
    // Before the new run's start, overlapping it.
    const std::string d(600, 'd');
    REQUIRE(wb.Write(f, layout, 0, d.data(), d.size()).ok());
    want.replace(0, 600, d);
    const std::string e(1500, 'e');
    REQUIRE(wb.Write(f, layout, 1500, e.data(), e.size()).ok());
    want.replace(1500, 1500, e);
    REQUIRE(wb.Flush(f).ok());
    auto back = io.Read(ino, *layout, 0, want.size(), want.size());
    REQUIRE(back.ok());
    CHECK(*back == want);
  }
}

TEST_CASE("two writers on one file keep their offsets while one waits for its own run") {
  TestOsts osts(2);
  StripedIo io(osts.pool(), 5s);
  const auto layout = TwoStripes();
  const InodeId ino(25);
  // Runs of one unit: a one-unit write is sent at once. The first writer,
  // over and over, sends a unit, buffers a small write over its start, then
  // writes further on: that write waits for the unit before the small run
  // may go. Meanwhile the second writer fills its own region in small
  // sequential writes, so that a run of its own is open whenever the first
  // one looks again. Each writer's bytes must land where it wrote them.
  WriteBehind wb(io, 64u << 20, kUnit, 8);
  auto f = wb.NewFile(ino);
  constexpr int kRounds = 300;
  constexpr uint64_t kRegion = 16 * kUnit, kSmall = 100, kFar = 8 * kUnit, kPiece = 1000;
  std::string want0(kRegion, '\0'), want1;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread second([&] {
    for (int pass = 0; !done || pass < 2; ++pass) {
      want1 = Pattern(kRegion, 5000 + pass);
      for (uint64_t off = 0; off < kRegion; off += kPiece) {
        const uint64_t n = std::min(kPiece, kRegion - off);
        if (!wb.Write(f, layout, kRegion + off, want1.data() + off, n).ok()) ++failures;
      }
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    const std::string unit = Pattern(kUnit, 3 * i);
    const std::string small = Pattern(kSmall, 3 * i + 1);
    const std::string far = Pattern(kSmall, 3 * i + 2);
    if (!wb.Write(f, layout, 0, unit.data(), unit.size()).ok() ||
        !wb.Write(f, layout, 0, small.data(), small.size()).ok() ||
        !wb.Write(f, layout, kFar, far.data(), far.size()).ok())
      ++failures;
    want0.replace(0, unit.size(), unit);
    want0.replace(0, small.size(), small);
    want0.replace(kFar, far.size(), far);
  }
  done = true;
  second.join();
  REQUIRE(failures == 0);
  REQUIRE(wb.Flush(f).ok());
  auto back = io.Read(ino, *layout, 0, 2 * kRegion, 2 * kRegion);
  REQUIRE(back.ok());
  // The first writer's bytes, and the hole between them.
  CHECK(back->substr(0, kUnit) == want0.substr(0, kUnit));
  CHECK(back->substr(kUnit, kFar - kUnit) == std::string(kFar - kUnit, '\0'));
  CHECK(back->substr(kFar, kSmall) == want0.substr(kFar, kSmall));
  CHECK(back->substr(kFar + kSmall, kRegion - kFar - kSmall) ==
        std::string(kRegion - kFar - kSmall, '\0'));
  // The second writer's last pass, whole.
  CHECK(back->substr(kRegion) == want1);
}
