// Stripe math: RAID-0 mapping, inverse mapping, truncate sizes, validation.
#include <catch2/catch.hpp>

#include <map>

#include "common/layout.h"

using namespace amlfs;

namespace {

Layout Plain(uint64_t stripe_size, std::vector<uint32_t> osts) {
  Layout l;
  LayoutComponent c;
  c.stripe_size = stripe_size;
  for (auto o : osts) c.osts.push_back(OstIndex(o));
  l.comps.push_back(c);
  return l;
}

// Reference model: the mapping DESIGN.md gives, byte by byte.
std::pair<uint32_t, uint64_t> Reference(uint64_t off, uint64_t ss, uint64_t count) {
  return {static_cast<uint32_t>((off / ss) % count), (off / (ss * count)) * ss + off % ss};
}

}  // namespace

TEST_CASE("extents follow DESIGN.md's RAID-0 formula") {
  const uint64_t ss = 64 * 1024;
  Layout l = Plain(ss, {3, 1, 2});
  for (uint64_t off : std::initializer_list<uint64_t>{0, 1, ss - 1, ss, 3 * ss + 17, 10 * ss + 5}) {
    auto ext = MapExtent(l, off, 1);
    REQUIRE(ext.size() == 1);
    auto [stripe, obj_off] = Reference(off, ss, 3);
    CHECK(ext[0].stripe == stripe);
    CHECK(ext[0].object_offset == obj_off);
    CHECK(ext[0].ost == l.comps[0].osts[stripe]);
    CHECK(ext[0].file_offset == off);
  }
}

TEST_CASE("a long extent is split at stripe boundaries and covers every byte once") {
  const uint64_t ss = 1 << 20;
  Layout l = Plain(ss, {0, 1, 2, 3});
  uint64_t off = ss / 2, len = 9 * ss + 123;
  auto ext = MapExtent(l, off, len);
  uint64_t pos = off;
  std::map<uint32_t, uint64_t> per_stripe;
  for (const auto& e : ext) {
    CHECK(e.file_offset == pos);
    CHECK(e.length <= ss);
    auto [stripe, obj_off] = Reference(pos, ss, 4);
    CHECK(e.stripe == stripe);
    CHECK(e.object_offset == obj_off);
    per_stripe[e.stripe] += e.length;
    pos += e.length;
  }
  CHECK(pos == off + len);
}

TEST_CASE("a 64 MiB file over 4 stripes puts 16 MiB on each object") {
  Layout l = Plain(1 << 20, {0, 1, 2, 3});
  std::map<uint32_t, uint64_t> per_stripe;
  for (const auto& e : MapExtent(l, 0, 64ull << 20)) per_stripe[e.stripe] += e.length;
  REQUIRE(per_stripe.size() == 4);
  for (auto& [s, n] : per_stripe) CHECK(n == (16ull << 20));
  for (uint32_t s = 0; s < 4; ++s)
    CHECK(ObjectSizeForFileSize(l, 0, s, 64ull << 20) == (16ull << 20));
}

TEST_CASE("offsets past 2^32 and 2^40 map without overflow") {
  const uint64_t ss = 4ull << 20;
  Layout l = Plain(ss, {0, 1, 2, 3, 4});
  for (uint64_t off : {(1ull << 32) - 1, 1ull << 32, (1ull << 32) + 4097, (1ull << 40) - 3,
                       1ull << 40, (1ull << 40) + ss * 7 + 11}) {
    auto ext = MapExtent(l, off, 2 * ss);
    REQUIRE_FALSE(ext.empty());
    uint64_t pos = off;
    for (const auto& e : ext) {
      auto [stripe, obj_off] = Reference(pos, ss, 5);
      CHECK(e.stripe == stripe);
      CHECK(e.object_offset == obj_off);
      CHECK(FileOffsetOf(l, 0, e.stripe, e.object_offset) == pos);
      pos += e.length;
    }
    CHECK(pos == off + 2 * ss);
  }
}

TEST_CASE("an extent reaching the end of the address space is clipped, not wrapped") {
  Layout l = Plain(1 << 20, {0, 1});
  auto ext = MapExtent(l, kLayoutEof - 10, 100);
  uint64_t total = 0;
  for (const auto& e : ext) total += e.length;
  CHECK(total == 10);
}

TEST_CASE("FileOffsetOf inverts MapExtent") {
  Layout l = Plain(128 * 1024, {5, 6, 7});
  for (uint64_t off = 0; off < 5 * 3 * 128 * 1024; off += 77777) {
    auto e = MapExtent(l, off, 1).at(0);
    CHECK(FileOffsetOf(l, e.comp, e.stripe, e.object_offset) == off);
  }
}

TEST_CASE("object sizes for a truncate match the bytes each object holds") {
  const uint64_t ss = 64 * 1024;
  Layout l = Plain(ss, {0, 1, 2});
  for (uint64_t size : std::initializer_list<uint64_t>{0, 1, ss - 1, ss, ss + 1, 3 * ss, 3 * ss + 5,
                                                       7 * ss + 100}) {
    std::map<uint32_t, uint64_t> expect;
    for (const auto& e : MapExtent(l, 0, size))
      expect[e.stripe] = std::max(expect[e.stripe], e.object_offset + e.length);
    for (uint32_t s = 0; s < 3; ++s) {
      INFO("size " << size << " stripe " << s);
      CHECK(ObjectSizeForFileSize(l, 0, s, size) == expect[s]);
    }
  }
}

TEST_CASE("components place bytes by the component that covers them") {
  Layout l;
  LayoutComponent a;
  a.start = 0;
  a.end = 1 << 20;
  a.stripe_size = 1 << 20;
  a.osts = {OstIndex(0)};
  LayoutComponent b;
  b.start = 1 << 20;
  b.end = kLayoutEof;
  b.stripe_size = 64 * 1024;
  b.osts = {OstIndex(1), OstIndex(2)};
  l.comps = {a, b};
  REQUIRE(ValidateLayout(l).ok());
  auto ext = MapExtent(l, (1 << 20) - 10, 20);
  REQUIRE(ext.size() == 2);
  CHECK(ext[0].comp == 0);
  CHECK(ext[0].length == 10);
  CHECK(ext[1].comp == 1);
  CHECK(ext[1].ost == OstIndex(1));
  CHECK(ext[1].object_offset == 0);
  CHECK(ObjectSizeForFileSize(l, 1, 0, (1 << 20) + 5) == 5);
  CHECK(ObjectSizeForFileSize(l, 1, 1, (1 << 20) + 5) == 0);
}

TEST_CASE("layout validation refuses impossible layouts") {
  CHECK(ValidateStripeSize(65536).ok());
  CHECK(ValidateStripeSize(100000).code() == Code::kInvalid);
  CHECK(ValidateStripeSize(0).code() == Code::kInvalid);
  CHECK(ValidateStripeSize(4ull << 30).code() == Code::kInvalid);
  CHECK(ValidateLayout(Layout{}).code() == Code::kInvalid);
  Layout no_osts = Plain(1 << 20, {});
  CHECK(ValidateLayout(no_osts).code() == Code::kInvalid);
  Layout gap = Plain(1 << 20, {0});
  gap.comps[0].end = 100;
  CHECK_FALSE(ValidateLayout(gap).ok());
}

TEST_CASE("layout templates parse from the xattr text form") {
  auto t = ParseTemplate("stripe_count=4 stripe_size=4M");
  REQUIRE(t.ok());
  REQUIRE(t->comps.size() == 1);
  CHECK(t->comps[0].stripe_count == 4);
  CHECK(t->comps[0].stripe_size == (4u << 20));
  CHECK(t->comps[0].stripe_offset == -1);
  CHECK(t->comps[0].end == kLayoutEof);
  auto all = ParseTemplate("stripe_count=-1,stripe_offset=2");
  REQUIRE(all.ok());
  CHECK(all->comps[0].stripe_count == -1);
  CHECK(all->comps[0].stripe_offset == 2);
  auto back = ParseTemplate(FormatTemplate(*t));
  REQUIRE(back.ok());
  CHECK(back->comps[0].stripe_size == t->comps[0].stripe_size);
  // All defaults means "no default layout".
  CHECK(ParseTemplate("stripe_count=0 stripe_size=0")->IsDefault());
  CHECK(ParseTemplate("stripe_size=100000").status().code() == Code::kInvalid);
  CHECK(ParseTemplate("stripe_count=-2").status().code() == Code::kInvalid);
  CHECK(ParseTemplate("color=blue").status().code() == Code::kInvalid);
  CHECK(ParseTemplate("").status().code() == Code::kInvalid);
}

TEST_CASE("progressive layout templates: parse, format, validate") {
  auto t = ParseTemplate("comp_end=1G stripe_count=1 comp_end=EOF stripe_count=-1 stripe_size=4M");
  REQUIRE(t.ok());
  REQUIRE(t->comps.size() == 2);
  CHECK(t->comps[0].end == (1ull << 30));
  CHECK(t->comps[1].end == kLayoutEof);
  CHECK(t->comps[1].stripe_count == -1);
  auto back = ParseTemplate(FormatTemplate(*t));
  REQUIRE(back.ok());
  CHECK(back->comps.size() == 2);
  CHECK(back->comps[0].end == (1ull << 30));
  // Unordered, unaligned, not reaching EOF.
  CHECK_FALSE(
      ParseTemplate("comp_end=2G stripe_count=1 comp_end=1G stripe_count=2 comp_end=EOF").ok());
  CHECK_FALSE(ParseTemplate("comp_end=100000 stripe_count=1 comp_end=EOF").ok());
  CHECK_FALSE(ParseTemplate("comp_end=1G stripe_count=1").ok());
  CHECK_FALSE(ParseTemplate("comp_end=1M stripe_size=4M comp_end=EOF").ok());
  // comp_start, when given, is where the component before ends.
  CHECK(ParseTemplate("comp_start=0 comp_end=1M c=1 comp_start=1M comp_end=EOF c=2").ok());
  CHECK_FALSE(ParseTemplate("comp_start=0 comp_end=1M c=1 comp_start=2M comp_end=EOF c=2").ok());
  CHECK_FALSE(ParseTemplate("comp_start=64K comp_end=1M c=1 comp_start=1M comp_end=EOF").ok());
  CHECK_FALSE(ParseTemplate("comp_start=\xff\x05 c=1").ok());
  // A file layout's text pins its OSTs.
  Layout l;
  l.comps.push_back(LayoutComponent{0, 1 << 20, 1 << 20, {OstIndex(2)}, 0});
  l.comps.push_back(LayoutComponent{1 << 20, kLayoutEof, 1 << 20, {OstIndex(0), OstIndex(3)}, 1});
  auto pinned = ParseTemplate(FormatLayout(l));
  REQUIRE(pinned.ok());
  REQUIRE(pinned->comps.size() == 2);
  CHECK(pinned->comps[1].osts == std::vector<OstIndex>{OstIndex(0), OstIndex(3)});
  CHECK(pinned->comps[1].stripe_count == 2);
}

TEST_CASE("OST lists take ranges and refuse garbage") {
  auto l = ParseOstList("1,3-5");
  REQUIRE(l.ok());
  CHECK(*l == std::vector<OstIndex>{OstIndex(1), OstIndex(3), OstIndex(4), OstIndex(5)});
  CHECK_FALSE(ParseOstList("").ok());
  CHECK_FALSE(ParseOstList("1,,2").ok());
  CHECK_FALSE(ParseOstList("5-3").ok());
  CHECK_FALSE(ParseOstList("1,1").ok());
  CHECK_FALSE(ParseOstList("x").ok());
  CHECK_FALSE(ParseOstList("-1").ok());
}

TEST_CASE("sizes take binary K/M/G/T suffixes and refuse garbage") {
  CHECK(ParseSize("64K").value() == 65536);
  CHECK(ParseSize("1M").value() == (1u << 20));
  CHECK(ParseSize("2G").value() == (2ull << 30));
  CHECK(ParseSize("4096").value() == 4096);
  CHECK_FALSE(ParseSize("12Q").ok());
  CHECK_FALSE(ParseSize("-1").ok());
  CHECK_FALSE(ParseSize("").ok());
  CHECK_FALSE(ParseSize("99999999999999999999T").ok());
}
