// Wire format: every message round-trips, and malformed input is refused.
#include <catch2/catch.hpp>

#include <tuple>

#include "common/checksum.h"
#include "common/frame.h"
#include "common/protocol.h"
#include "tests/fuzz/message_types.h"

using namespace amlfs;

namespace {

using fuzz::Filled;

template <typename T>
void CheckMessage() {
  T msg = Filled<T>();
  std::string bytes = Encode(msg);
  T back;
  REQUIRE(Decode(bytes, &back).ok());
  CHECK(Encode(back) == bytes);
  // Every truncation is refused, never read past the end.
  for (size_t n = 0; n < bytes.size(); ++n) {
    T t;
    INFO("truncated to " << n << " of " << bytes.size());
    CHECK(Decode(std::string_view(bytes.data(), n), &t).code() == Code::kProtocol);
  }
  T extra;
  CHECK(Decode(bytes + "x", &extra).code() == Code::kProtocol);
}

}  // namespace

TEST_CASE("every message round-trips and refuses truncated or trailing bytes") {
  fuzz::MessageTypes::Each([]<typename T>() { CheckMessage<T>(); });
}

TEST_CASE("a vector count larger than the remaining bytes is refused before allocating") {
  std::string bytes;
  Encoder e(&bytes);
  e.Put(uint32_t{0xFFFFFFFF});  // entries count
  ReadDirRsp rsp;
  CHECK(Decode(bytes, &rsp).code() == Code::kProtocol);
  std::string huge_string;
  Encoder e2(&huge_string);
  e2.Put(uint32_t{1u << 31});
  XattrValueRsp v;
  CHECK(Decode(huge_string, &v).code() == Code::kProtocol);
}

TEST_CASE("a bool that is neither 0 nor 1 is refused") {
  ObjWriteReq w = Filled<ObjWriteReq>();
  std::string bytes = Encode(w);
  // ObjectId (16) + offset (8) + checksum (8) precede `sync`.
  bytes[32] = 7;
  ObjWriteReq back;
  CHECK(Decode(bytes, &back).code() == Code::kProtocol);
}

TEST_CASE("response payloads carry the status code and message") {
  SECTION("ok with a body") {
    std::string p = EncodeResponse(Status::Ok(), Encode(Filled<AttrRsp>()));
    auto r = DecodeResponseAs<GetAttrReq>(p);
    REQUIRE(r.ok());
    CHECK(Encode(r.value()) == Encode(Filled<AttrRsp>()));
  }
  SECTION("an error keeps its code and message, and drops the body") {
    std::string p = EncodeResponse(Error(Code::kNotEmpty, "dir has entries"), "ignored");
    auto r = DecodeResponse(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kNotEmpty);
    CHECK(r.status().message() == "dir has entries");
  }
  SECTION("an unknown code from a newer peer becomes an I/O error") {
    std::string p;
    Encoder e(&p);
    e.Put(uint32_t{9999});
    e.Put(std::string("future"));
    CHECK(DecodeResponse(p).status().code() == Code::kIo);
  }
  SECTION("a truncated response header is a protocol error") {
    CHECK(DecodeResponse("ab").status().code() == Code::kProtocol);
  }
}

TEST_CASE("frame headers round-trip and reject corruption") {
  FrameHeader h;
  h.opcode = static_cast<uint16_t>(Opcode::kObjWrite);
  h.request_id = 0x0123456789abcdefULL;
  h.flags = kFlagResponse;
  h.payload_len = 4096;
  char buf[kFrameHeaderSize];
  EncodeFrameHeader(h, buf);
  FrameHeader back;
  REQUIRE(DecodeFrameHeader(std::string_view(buf, sizeof(buf)), &back).ok());
  CHECK(back.opcode == h.opcode);
  CHECK(back.request_id == h.request_id);
  CHECK(back.flags == h.flags);
  CHECK(back.payload_len == h.payload_len);

  SECTION("any flipped bit is detected") {
    for (size_t i = 0; i < kFrameHeaderSize; ++i) {
      char bad[kFrameHeaderSize];
      std::memcpy(bad, buf, sizeof(buf));
      bad[i] ^= 0x10;
      CHECK_FALSE(DecodeFrameHeader(std::string_view(bad, sizeof(bad)), &back).ok());
    }
  }
  SECTION("a short header is refused") {
    CHECK(DecodeFrameHeader(std::string_view(buf, 31), &back).code() == Code::kProtocol);
  }
  SECTION("a payload length over the limit is refused even with a valid checksum") {
    FrameHeader big = h;
    big.payload_len = kMaxPayload + 1;
    EncodeFrameHeader(big, buf);
    Status st = DecodeFrameHeader(std::string_view(buf, sizeof(buf)), &back);
    CHECK(st.code() == Code::kProtocol);
    CHECK_THAT(st.message(), Catch::Contains("over limit"));
  }
  SECTION("another protocol version is refused") {
    FrameHeader other = h;
    other.version = kProtocolVersion + 1;
    EncodeFrameHeader(other, buf);
    CHECK_THAT(DecodeFrameHeader(std::string_view(buf, sizeof(buf)), &back).message(),
               Catch::Contains("version"));
  }
}

TEST_CASE("errno mapping covers what FUSE replies need") {
  CHECK(ToErrno(Code::kOk) == 0);
  CHECK(ToErrno(Code::kNotFound) == ENOENT);
  CHECK(ToErrno(Code::kNameTooLong) == ENAMETOOLONG);
  CHECK(ToErrno(Code::kCorrupt) == EIO);
  CHECK(FromErrno(ENOSPC, "write").code() == Code::kNoSpace);
  CHECK(FromErrno(ENOENT, "open").code() == Code::kNotFound);
  // Every code maps to a positive errno.
  for (uint32_t c = 1; c <= static_cast<uint32_t>(Code::kTextBusy); ++c)
    CHECK(ToErrno(static_cast<Code>(c)) > 0);
}

TEST_CASE("checksums detect a single flipped byte in a block") {
  std::string block(kChecksumBlock, 'a');
  uint64_t sum = Checksum64(block);
  block[12345] ^= 1;
  CHECK(Checksum64(block) != sum);
}
