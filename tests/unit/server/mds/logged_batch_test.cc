// The Raft log's metadata batches (server/mds/logged_batch.h): version 1
// is the form every existing log holds, byte for byte; damage and unknown
// versions are refused.
#include <catch2/catch.hpp>

#include <string>

#include "server/mds/logged_batch.h"

using namespace amlfs;
using namespace amlfs::mds;

namespace {
// put "a" = "1", delete "b", as the MDS wrote batches before versions were named.
std::string Golden() {
  return std::string("\x02\x00\x00\x00", 4) +  // 2 ops
         std::string(
             "\x01\x00\x00\x00"
             "a",
             5) +
         "\x01" +  // key "a", put
         std::string(
             "\x01\x00\x00\x00"
             "1",
             5) +  // value "1"
         std::string(
             "\x01\x00\x00\x00"
             "b",
             5) +
         std::string("\x00", 1) +             // key "b", delete
         std::string("\x00\x00\x00\x00", 4);  // no value
}
}  // namespace

TEST_CASE("a metadata batch round-trips, and version 1 is the bytes logs already hold") {
  LoggedBatch b = LoggedBatch::Of({{"a", std::string("1")}, {"b", std::nullopt}});
  REQUIRE(b.version == 1);
  REQUIRE(b.ops.size() == 2);
  const std::string bytes = EncodeBatch(b);
  CHECK(bytes == Golden());
  LoggedBatch back;
  REQUIRE(DecodeBatch(bytes, &back).ok());
  CHECK(back.version == 1);
  CHECK(back.ops == b.ops);

  LoggedBatch empty;
  LoggedBatch empty_back;
  REQUIRE(DecodeBatch(EncodeBatch(empty), &empty_back).ok());
  CHECK(empty_back.ops.empty());

  LoggedBatch big;
  big.ops.push_back(LoggedOp{std::string(1000, 'k'), true, std::string(1 << 20, '\0')});
  LoggedBatch big_back;
  REQUIRE(DecodeBatch(EncodeBatch(big), &big_back).ok());
  CHECK(big_back.ops == big.ops);
}

TEST_CASE("a damaged metadata batch is refused, naming the damage") {
  const std::string good = Golden();
  LoggedBatch b;
  SECTION("truncated anywhere") {
    for (size_t n = 0; n < good.size(); ++n) {
      Status st = DecodeBatch(good.substr(0, n), &b);
      INFO("first " << n << " bytes");
      CHECK(st.code() == Code::kCorrupt);
    }
  }
  SECTION("trailing bytes") {
    Status st = DecodeBatch(good + "x", &b);
    CHECK(st.code() == Code::kCorrupt);
    CHECK(st.message().find("trailing") != std::string::npos);
  }
  SECTION("a put flag that is not 0 or 1") {
    std::string bad = good;
    bad[9] = '\x02';
    CHECK(DecodeBatch(bad, &b).code() == Code::kCorrupt);
  }
  SECTION("an op count larger than the bytes") {
    std::string bad = good;
    bad[0] = '\x7f';
    CHECK(DecodeBatch(bad, &b).code() == Code::kCorrupt);
  }
}

TEST_CASE("a metadata batch of a version this MDS does not know is refused") {
  LoggedBatch b;
  const std::string v2 = std::string("\xff\xff\xff\xff\x02", 5) + Golden();
  Status st = DecodeBatch(v2, &b);
  CHECK(st.code() == Code::kCorrupt);
  CHECK(st.message().find("version 2 is unknown") != std::string::npos);
  CHECK(DecodeBatch(std::string("\xff\xff\xff\xff", 4), &b).code() == Code::kCorrupt);
}
