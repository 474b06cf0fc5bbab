// StripedIo against real OSTs in this process: where each byte lands (the
// RAID-0 formula of common/layout.h), holes, truncation, how an OST that is
// down or unknown fails the call, and how the asynchronous calls complete.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/unit/common/client/client_test_util.h"

using namespace amlfs;
using namespace amlfs::testing;
using namespace std::chrono_literals;

namespace {

// Where file byte `b` lives, by the formula in layout.h's header comment
// (computed here independently of MapExtent): the object and the OST.
struct Place {
  OstIndex ost;
  ObjectId obj;
  uint64_t object_offset;
};
Place PlaceOf(InodeId ino, const Layout& l, uint64_t b) {
  for (const LayoutComponent& c : l.comps) {
    if (b < c.start || b >= c.end) continue;
    const uint64_t off = b - c.start, ss = c.stripe_size, n = c.osts.size();
    const uint32_t stripe = static_cast<uint32_t>((off / ss) % n);
    return Place{c.osts[stripe], ObjectId{ino.value(), c.id, stripe},
                 (off / (ss * n)) * ss + off % ss};
  }
  throw std::logic_error("byte outside the layout");
}

// The contents each object should have after `data` was written at `offset`
// (zeros where nothing was written), by object.
std::map<ObjectId, std::pair<OstIndex, std::string>> Expected(InodeId ino, const Layout& l,
                                                              uint64_t offset,
                                                              const std::string& data) {
  std::map<ObjectId, std::pair<OstIndex, std::string>> out;
  for (uint64_t i = 0; i < data.size(); ++i) {
    Place p = PlaceOf(ino, l, offset + i);
    auto& [ost, bytes] = out[p.obj];
    ost = p.ost;
    if (bytes.size() <= p.object_offset) bytes.resize(p.object_offset + 1, '\0');
    bytes[p.object_offset] = data[i];
  }
  return out;
}

}  // namespace

TEST_CASE("a write across several stripes puts each byte on the object and offset RAID-0 names") {
  TestOsts osts(3);
  StripedIo io(osts.pool(), 5s);
  const InodeId ino(77);
  const uint64_t ss = 64 * 1024;
  Layout layout;
  SECTION("one component over three OSTs") {
    layout = PlainLayout(ss, {OstIndex(0), OstIndex(1), OstIndex(2)});
  }
  SECTION("two components: a progressive layout with its own stripe sizes and object ids") {
    layout.generation = 1;
    layout.comps.push_back(LayoutComponent{0, 4 * ss, ss, {OstIndex(2), OstIndex(0)}, 3});
    layout.comps.push_back(
        LayoutComponent{4 * ss, kLayoutEof, 2 * ss, {OstIndex(1), OstIndex(2), OstIndex(0)}, 7});
  }
  // Starts inside a unit, ends inside one, and covers every stripe more than once.
  const uint64_t offset = 3000;
  const std::string data = Pattern(11 * ss + 5000, 1);
  REQUIRE(io.Write(ino, layout, offset, data.data(), data.size()).ok());

  auto expected = Expected(ino, layout, offset, data);
  REQUIRE(expected.size() >= 3);
  for (const auto& [obj, want] : expected) {
    INFO("object " << obj.ino << "." << obj.comp << "." << obj.stripe << " on OST"
                   << want.first.value());
    const std::string got = osts.ost(want.first.value()).ObjectBytes(obj, 0, 64 * ss);
    CHECK(got.size() == want.second.size());
    CHECK(got == want.second);
  }
  // And no object of the file on an OST the layout did not put it on.
  for (uint32_t o = 0; o < 3; ++o)
    for (const auto& [obj, want] : expected)
      if (want.first.value() != o) CHECK(osts.ost(o).ObjectBytes(obj, 0, 16).empty());

  auto back = io.Read(ino, layout, offset, data.size(), offset + data.size());
  REQUIRE(back.ok());
  CHECK(*back == data);
  // A read that starts and ends in the middle of units.
  auto part = io.Read(ino, layout, offset + ss - 7, 3 * ss + 11, offset + data.size());
  REQUIRE(part.ok());
  CHECK(*part == data.substr(ss - 7, 3 * ss + 11));
}

TEST_CASE("holes and never-written objects read as zeros, and reads stop at the file size") {
  TestOsts osts(3);
  StripedIo io(osts.pool(), 5s);
  const InodeId ino(5);
  const uint64_t ss = 64 * 1024;
  const Layout layout = PlainLayout(ss, {OstIndex(0), OstIndex(1), OstIndex(2)});
  // Stripe 0 and stripe 2 (unit 5) get data; stripe 1's object is never made.
  REQUIRE(io.Write(ino, layout, 0, "head", 4).ok());
  const uint64_t tail_at = 5 * ss + 10;
  REQUIRE(io.Write(ino, layout, tail_at, "tail", 4).ok());
  CHECK(osts.ost(1).ObjectBytes(ObjectId{5, 0, 1}, 0, 16).empty());
  const uint64_t size = tail_at + 4;

  auto all = io.Read(ino, layout, 0, size, size);
  REQUIRE(all.ok());
  std::string want(size, '\0');
  want.replace(0, 4, "head");
  want.replace(tail_at, 4, "tail");
  CHECK(*all == want);

  auto hole = io.Read(ino, layout, ss, 2 * ss, size);  // all of stripe 1's first unit and more
  REQUIRE(hole.ok());
  CHECK(*hole == std::string(2 * ss, '\0'));

  auto clipped = io.Read(ino, layout, tail_at, 1000, size);
  REQUIRE(clipped.ok());
  CHECK(*clipped == "tail");
  auto past = io.Read(ino, layout, size, 10, size);
  REQUIRE(past.ok());
  CHECK(past->empty());
  // A file size past the last byte written: zeros up to it.
  auto beyond = io.Read(ino, layout, tail_at, 100, size + 50);
  REQUIRE(beyond.ok());
  CHECK(*beyond == "tail" + std::string(50, '\0'));
}

TEST_CASE("truncate gives each object the size the stripe math says") {
  TestOsts osts(3);
  StripedIo io(osts.pool(), 5s);
  const InodeId ino(9);
  const uint64_t ss = 64 * 1024;
  const Layout layout = PlainLayout(ss, {OstIndex(0), OstIndex(1), OstIndex(2)});
  const std::string data = Pattern(7 * ss, 2);
  REQUIRE(io.Write(ino, layout, 0, data.data(), data.size()).ok());
  // The file keeps units 0 (stripe 0) and 1 (stripe 1) whole, 100 bytes of
  // unit 2 (stripe 2), and nothing after.
  REQUIRE(io.Truncate(ino, layout, 2 * ss + 100).ok());
  CHECK(osts.ost(0).ObjectBytes(ObjectId{9, 0, 0}, 0, 8 * ss) == data.substr(0, ss));
  CHECK(osts.ost(1).ObjectBytes(ObjectId{9, 0, 1}, 0, 8 * ss) == data.substr(ss, ss));
  CHECK(osts.ost(2).ObjectBytes(ObjectId{9, 0, 2}, 0, 8 * ss) == data.substr(2 * ss, 100));
}

TEST_CASE("an OST that is down fails the call with EIO's code, naming the OST") {
  TestOsts osts(3);
  StripedIo io(osts.pool(), 400ms);
  const InodeId ino(12);
  const uint64_t ss = 64 * 1024;
  const Layout layout = PlainLayout(ss, {OstIndex(0), OstIndex(1), OstIndex(2)});
  const std::string data = Pattern(3 * ss, 3);
  REQUIRE(io.Write(ino, layout, 0, data.data(), data.size()).ok());
  osts.ost(1).Stop();

  SECTION("write") {
    Status st = io.Write(ino, layout, 0, data.data(), data.size());
    CHECK(st.code() == Code::kIo);
    CHECK_THAT(st.message(), Catch::Contains("OST1"));
    // A write that touches only OSTs that answer still works.
    CHECK(io.Write(ino, layout, 0, data.data(), ss).ok());
  }
  SECTION("read") {
    auto r = io.Read(ino, layout, 0, data.size(), data.size());
    CHECK(r.status().code() == Code::kIo);
    CHECK_THAT(r.status().message(), Catch::Contains("OST1"));
    auto ok = io.Read(ino, layout, 2 * ss, ss, data.size());
    REQUIRE(ok.ok());
    CHECK(*ok == data.substr(2 * ss));
  }
  SECTION("sync") {
    Status st = io.Sync(ino, layout);
    CHECK(st.code() == Code::kIo);
    CHECK_THAT(st.message(), Catch::Contains("OST1"));
  }
}

TEST_CASE("a layout naming an OST the pool does not know fails with NotFound, naming it") {
  TestOsts osts(2);
  StripedIo io(osts.pool(), 2s);
  const Layout layout = PlainLayout(64 * 1024, {OstIndex(0), OstIndex(9)});
  const std::string data = Pattern(128 * 1024, 4);
  Status st = io.Write(InodeId(3), layout, 0, data.data(), data.size());
  CHECK(st.code() == Code::kNotFound);
  CHECK_THAT(st.message(), Catch::Contains("OST9"));
  auto r = io.Read(InodeId(3), layout, 0, data.size(), data.size());
  CHECK(r.status().code() == Code::kNotFound);
}

namespace {

// Counts a completion's runs and keeps the value of the first.
template <typename T>
struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  int runs = 0;
  std::optional<T> value;
  std::thread::id thread;
  auto Callback() {
    return [this](T v) {
      std::lock_guard lk(mu);
      if (++runs == 1) value = std::move(v);
      thread = std::this_thread::get_id();
      cv.notify_all();
    };
  }
  // Waits for the first run, then a little more for a second one.
  bool WaitOnce() {
    std::unique_lock lk(mu);
    if (!cv.wait_for(lk, 10s, [&] { return runs > 0; })) return false;
    cv.wait_for(lk, 200ms, [&] { return runs > 1; });
    return runs == 1;
  }
};

}  // namespace

TEST_CASE("WriteAsync returns at once and completes once, on a network thread, with the status") {
  TestOsts osts(3);
  StripedIo io(osts.pool(), 400ms);
  const InodeId ino(31);
  const uint64_t ss = 64 * 1024;
  const Layout layout = PlainLayout(ss, {OstIndex(0), OstIndex(1), OstIndex(2)});
  const std::string data = Pattern(3 * ss + 100, 5);

  SECTION("every OST answers: the data is copied before the call returns") {
    std::string buffer = data;
    Completion<Status> c;
    io.WriteAsync(ino, layout, 0, buffer.data(), buffer.size(), false, "job", c.Callback());
    buffer.assign(buffer.size(), 'x');  // the caller may reuse its buffer at once
    REQUIRE(c.WaitOnce());
    CHECK(c.value->ok());
    CHECK(c.thread != std::this_thread::get_id());
    auto back = io.Read(ino, layout, 0, data.size(), data.size());
    REQUIRE(back.ok());
    CHECK(*back == data);
  }
  SECTION("an OST is down: one completion, with its error") {
    osts.ost(1).Stop();
    Completion<Status> c;
    io.WriteAsync(ino, layout, 0, data.data(), data.size(), false, {}, c.Callback());
    REQUIRE(c.WaitOnce());
    CHECK(c.value->code() == Code::kIo);
    CHECK_THAT(c.value->message(), Catch::Contains("OST1"));
  }
  SECTION("nothing can be sent (every OST unknown): still on a network thread") {
    const Layout unknown = PlainLayout(ss, {OstIndex(7), OstIndex(8)});
    Completion<Status> c;
    io.WriteAsync(ino, unknown, 0, data.data(), data.size(), false, {}, c.Callback());
    REQUIRE(c.WaitOnce());
    CHECK(c.value->code() == Code::kNotFound);
    CHECK(c.thread != std::this_thread::get_id());
  }
}

TEST_CASE("ReadAsync gives the bytes, or the first error, once") {
  TestOsts osts(2);
  StripedIo io(osts.pool(), 400ms);
  const InodeId ino(32);
  const uint64_t ss = 64 * 1024;
  const Layout layout = PlainLayout(ss, {OstIndex(0), OstIndex(1)});
  const std::string data = Pattern(5 * ss + 7, 6);
  REQUIRE(io.Write(ino, layout, 0, data.data(), data.size()).ok());
  Completion<Result<std::string>> c;
  io.ReadAsync(ino, layout, ss - 3, 2 * ss, data.size(), {}, c.Callback());
  REQUIRE(c.WaitOnce());
  REQUIRE(c.value->ok());
  CHECK(**c.value == data.substr(ss - 3, 2 * ss));

  osts.ost(0).Stop();
  Completion<Result<std::string>> down;
  io.ReadAsync(ino, layout, 0, data.size(), data.size(), {}, down.Callback());
  REQUIRE(down.WaitOnce());
  CHECK(down.value->status().code() == Code::kIo);
  CHECK_THAT(down.value->status().message(), Catch::Contains("OST0"));
}

TEST_CASE("DestroyEach gives each OST its own status: a down OST's error is that OST's only") {
  TestOsts osts(3);
  StripedIo io(osts.pool(), 400ms);
  const uint64_t ss = 64 * 1024;
  const Layout layout = PlainLayout(ss, {OstIndex(0), OstIndex(1), OstIndex(2)});
  const std::string data = Pattern(3 * ss, 7);
  REQUIRE(io.Write(InodeId(40), layout, 0, data.data(), data.size()).ok());
  const ObjectId o0{40, 0, 0}, o1{40, 0, 1}, o2{40, 0, 2};
  REQUIRE_FALSE(osts.ost(0).ObjectBytes(o0, 0, 16).empty());
  REQUIRE_FALSE(osts.ost(2).ObjectBytes(o2, 0, 16).empty());
  osts.ost(1).Stop();

  std::map<OstIndex, std::vector<ObjectId>> objects{
      {OstIndex(0), {o0, ObjectId{41, 0, 0}}},  // the second was never written
      {OstIndex(1), {o1}},
      {OstIndex(2), {o2}},
      {OstIndex(9), {ObjectId{40, 0, 3}}},  // an OST the pool does not know
  };
  SECTION("blocking") {
    auto by_ost = io.DestroyEach(objects);
    REQUIRE(by_ost.size() == 4);
    CHECK(by_ost[OstIndex(0)].ok());
    CHECK(by_ost[OstIndex(2)].ok());
    CHECK(by_ost[OstIndex(1)].code() == Code::kIo);
    CHECK_THAT(by_ost[OstIndex(1)].message(), Catch::Contains("OST1"));
    CHECK(by_ost[OstIndex(9)].code() == Code::kNotFound);
  }
  SECTION("asynchronous") {
    Completion<std::map<OstIndex, Status>> c;
    io.DestroyEachAsync(objects, c.Callback());
    REQUIRE(c.WaitOnce());
    auto& by_ost = *c.value;
    REQUIRE(by_ost.size() == 4);
    CHECK(by_ost[OstIndex(0)].ok());
    CHECK(by_ost[OstIndex(2)].ok());
    CHECK(by_ost[OstIndex(1)].code() == Code::kIo);
    CHECK(by_ost[OstIndex(9)].code() == Code::kNotFound);
  }
  CHECK(osts.ost(0).ObjectBytes(o0, 0, 16).empty());
  CHECK(osts.ost(2).ObjectBytes(o2, 0, 16).empty());
}
