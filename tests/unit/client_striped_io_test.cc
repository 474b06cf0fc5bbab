// StripedIo against real OSTs in this process: where each byte lands (the
// RAID-0 formula of common/layout.h), holes, truncation, and how an OST
// that is down or unknown fails the call.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>

#include "tests/unit/client_test_util.h"

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
