// Wire format: every message round-trips, and malformed input is refused.
#include <catch2/catch.hpp>

#include <set>
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
  SECTION("the highest known code is kept, the next one becomes an I/O error") {
    for (uint32_t code :
         {static_cast<uint32_t>(Code::kCodeMax), static_cast<uint32_t>(Code::kCodeMax) + 1}) {
      std::string p;
      Encoder e(&p);
      e.Put(code);
      e.Put(std::string("x"));
      const Code want = code == static_cast<uint32_t>(Code::kCodeMax) ? Code::kCodeMax : Code::kIo;
      CHECK(DecodeResponse(p).status().code() == want);
    }
  }
  SECTION("an ok response is the code, an empty message and the body") {
    std::string want;
    Encoder e(&want);
    e.Put(uint32_t{0});
    e.Put(std::string());
    want += "body";
    CHECK(EncodeResponse(Status::Ok(), "body") == want);
  }
}

TEST_CASE("a replica that does not lead names the leader in the response envelope") {
  SECTION("the leader's address round-trips beside the message") {
    std::string p = EncodeResponse(NotLeaderError("10.0.0.2:9400"), "ignored");
    auto r = DecodeResponse(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
    CHECK(r.status().leader() == "10.0.0.2:9400");
    CHECK(r.status().message() == "not the leader; try 10.0.0.2:9400");
  }
  SECTION("an error without a leader names none") {
    auto r = DecodeResponse(EncodeResponse(Error(Code::kUnavailable, "no leader known"), {}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().leader().empty());
  }
  SECTION("an error recorded before the leader field reads as naming none") {
    std::string p;
    Encoder e(&p);
    e.Put(static_cast<uint32_t>(Code::kNotEmpty));
    e.Put(std::string("dir has entries"));
    auto r = DecodeResponse(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kNotEmpty);
    CHECK(r.status().message() == "dir has entries");
    CHECK(r.status().leader().empty());
  }
  SECTION("a truncated leader field is a protocol error") {
    std::string p = EncodeResponse(NotLeaderError("10.0.0.2:9400"), {});
    p.pop_back();
    CHECK(DecodeResponse(p).status().code() == Code::kProtocol);
  }
}

TEST_CASE("the method table gives each opcode its name and what callers and the MDS need") {
  // The sets the hand-kept switches had before the table.
  const std::set<int> mutations = {13, 14, 15, 16, 17, 18, 19, 20, 22,
                                   23, 24, 27, 30, 32, 34, 35, 36, 43};
  const std::set<int> inline_always = {10, 11, 12, 21, 26, 28, 29, 31,
                                       33, 38, 39, 40, 41, 42, 44, 51};
  const std::set<int> inline_unsynced = {14, 15, 16, 17, 18, 19, 20, 23, 24, 27, 30, 32, 43};
  const std::set<int> any_replica = {44, 45, 46};
  std::set<int> known;
  for (int i = 0; i < 0x10000; ++i) {
    const auto op = static_cast<Opcode>(i);
    INFO("opcode " << i << " (" << OpcodeName(op) << ")");
    const uint32_t f = MethodFlagsOf(op);
    if (std::string(OpcodeName(op)) != "unknown") known.insert(i);
    CHECK(((f & kMutation) != 0) == (mutations.count(i) == 1));
    CHECK(((f & kAnyReplica) != 0) == (any_replica.count(i) == 1));
    CHECK(RunsInline(op, true) == (inline_always.count(i) == 1));
    CHECK(RunsInline(op, false) == (inline_always.count(i) + inline_unsynced.count(i) == 1));
  }
  std::set<int> want;
  for (int i = 1; i <= 3; ++i) want.insert(i);
  for (int i = 10; i <= 47; ++i) want.insert(i);
  for (int i = 50; i <= 51; ++i) want.insert(i);
  for (int i = 100; i <= 109; ++i) want.insert(i);
  CHECK(known == want);
  CHECK(std::string(OpcodeName(Opcode::kUpdateSize)) == "update_size");
  CHECK(std::string(OpcodeName(Opcode::kOstStatFs)) == "ost_statfs");
  CHECK(std::string(OpcodeName(Opcode::kGetLk)) == "getlk");
  CHECK(static_cast<int>(Opcode::kObjVerify) == 109);
  CHECK(static_cast<int>(Opcode::kMdsMembers) == 47);
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

namespace {

// What the RPC layer does to an in-place frame before sending it
// (RpcClient::CallAsyncFrame, RpcCall::ReplyFrame): fills in the header.
std::string WithHeader(std::string frame, Opcode op, uint64_t id, uint32_t flags) {
  FrameHeader h;
  h.opcode = static_cast<uint16_t>(op);
  h.request_id = id;
  h.flags = flags;
  h.payload_len = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
  EncodeFrameHeader(h, frame.data());
  return frame;
}

}  // namespace

TEST_CASE("the in-place object write frame is the framed ObjWriteReq, and decodes back to it") {
  std::vector<std::string_view> pieces;
  std::string job;
  SECTION("data in several pieces, with a job id") {
    pieces = {"first piece|", "", std::string_view("second\0piece", 12), "|third"};
    job = "train.42";
  }
  SECTION("no data and no job id") {}
  ObjWriteReq want;
  want.object = ObjectId{0x1122334455667788ULL, 3, 9};
  want.offset = (1ull << 40) + 17;
  want.sync = true;
  for (auto p : pieces) want.data.append(p);
  want.checksum = Checksum64(want.data);
  want.job = job;

  const std::string frame =
      WithHeader(BuildObjWriteFrame(want.object, want.offset, want.sync, pieces, job),
                 Opcode::kObjWrite, 42, 0);
  CHECK(frame == MakeFrame(static_cast<uint16_t>(Opcode::kObjWrite), 42, 0, Encode(want)));

  const std::string_view payload = std::string_view(frame).substr(kFrameHeaderSize);
  ObjWriteReq back;
  REQUIRE(Decode(payload, &back).ok());
  CHECK(Encode(back) == Encode(want));
  ObjWriteView view;
  REQUIRE(DecodeObjWrite(payload, &view).ok());
  CHECK(view.object == want.object);
  CHECK(view.offset == want.offset);
  CHECK(view.checksum == want.checksum);
  CHECK(view.sync == want.sync);
  CHECK(view.data == want.data);
  CHECK(view.job == want.job);
  // The data is a view into the payload, not a copy.
  CHECK(view.data.data() >= payload.data());
  CHECK(view.data.data() + view.data.size() <= payload.data() + payload.size());
  for (size_t n = 0; n < payload.size(); ++n)
    CHECK(DecodeObjWrite(payload.substr(0, n), &view).code() == Code::kProtocol);
}

TEST_CASE("the in-place object read reply is the framed OK response with ObjReadRsp") {
  std::string data;
  SECTION("a block of data") { data = std::string(70000, 'r') + "end"; }
  SECTION("no data: the object ends before the offset") {}
  ObjReadReplyFrame reply;
  reply.data()->append(data);
  CHECK(reply.data_size() == data.size());
  const std::string frame = WithHeader(reply.Finish(), Opcode::kObjRead, 7, kFlagResponse);

  ObjReadRsp want;
  want.checksum = Checksum64(data);
  want.data = data;
  CHECK(frame == MakeFrame(static_cast<uint16_t>(Opcode::kObjRead), 7, kFlagResponse,
                           EncodeResponse(Status::Ok(), Encode(want))));

  const std::string_view payload = std::string_view(frame).substr(kFrameHeaderSize);
  auto view = DecodeObjReadResponse(payload);
  REQUIRE(view.ok());
  CHECK(view->checksum == want.checksum);
  CHECK(view->data == data);
  auto body = DecodeResponse(payload);
  REQUIRE(body.ok());
  ObjReadRsp back;
  REQUIRE(Decode(*body, &back).ok());
  CHECK(Encode(back) == Encode(want));
  // An error reply is the OST's error, not a malformed read.
  auto error = DecodeObjReadResponse(EncodeResponse(Error(Code::kCorrupt, "bad block"), {}));
  CHECK(error.status().code() == Code::kCorrupt);
}

TEST_CASE("a field rewritten in place must keep its size and belong to the message") {
  ObjWriteReq req;
  req.job = "j";
  std::string out;
  InPlaceEncoder encoder(req, req.data, &out);
  out += "bulk";
  encoder.Finish();
  req.checksum = 5;
  encoder.Rewrite(req.checksum);
  req.data = "bulk";
  CHECK(out == Encode(req));
  req.job = "longer";  // a string after the bulk: its size changed
  CHECK_THROWS_AS(encoder.Rewrite(req.job), std::logic_error);
  uint64_t not_a_field = 0;
  CHECK_THROWS_AS(encoder.Rewrite(not_a_field), std::logic_error);
  std::string other;
  CHECK_THROWS_AS(InPlaceEncoder(req, other, &out), std::logic_error);
}
