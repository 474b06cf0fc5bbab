#include "common/protocol.h"

#include <array>
#include <cstring>

#include "common/checksum.h"
#include "common/frame.h"

namespace amlfs {

namespace {

struct MethodInfo {
  const char* name = nullptr;  // null: no method has this opcode
  uint32_t flags = 0;
};

constexpr auto kMethodInfo = [] {
  std::array<MethodInfo, kOpcodeLimit> t{};
#define AMLFS_METHOD_INFO(Name, number, label, Req, Rsp, flags)       \
  if (t[number].name != nullptr) throw "two methods share an opcode"; \
  t[number] = MethodInfo{label, flags};
  AMLFS_METHODS(AMLFS_METHOD_INFO)
#undef AMLFS_METHOD_INFO
  return t;
}();

const MethodInfo* Find(Opcode op) {
  const auto i = static_cast<size_t>(op);
  return i < kMethodInfo.size() && kMethodInfo[i].name ? &kMethodInfo[i] : nullptr;
}

}  // namespace

const char* OpcodeName(Opcode op) {
  const MethodInfo* m = Find(op);
  return m ? m->name : "unknown";
}

uint32_t MethodFlagsOf(Opcode op) {
  const MethodInfo* m = Find(op);
  return m ? m->flags : 0;
}

bool RunsInline(Opcode op, bool synced_writes) {
  const uint32_t f = MethodFlagsOf(op);
  return (f & kInline) || (!synced_writes && (f & kInlineUnlessSynced));
}

std::string EncodeResponse(const Status& status, const std::string& body) {
  std::string out;
  Encoder e(&out);
  e.Put(static_cast<uint32_t>(status.code()));
  e.Put(status.message());
  if (status.ok()) {
    out += body;
  } else {
    e.Put(status.leader());
  }
  return out;
}

Status NotLeaderError(const std::string& leader) {
  return Error(Code::kUnavailable, "not the leader; try " + leader).set_leader(leader);
}

namespace {

// The body of an OK response payload (a view into it), or its error.
Result<std::string_view> ResponseBody(std::string_view payload) {
  Decoder d(payload);
  uint32_t code = 0;
  std::string message;
  d.Get(code);
  d.Get(message);
  if (!d.ok()) return Error(Code::kProtocol, "malformed response header");
  if (code != 0) {
    std::string leader;
    if (d.remaining() > 0) d.Get(leader);  // absent from replies recorded before it
    if (!d.ok()) return Error(Code::kProtocol, "malformed response header");
    if (code > static_cast<uint32_t>(Code::kCodeMax)) code = static_cast<uint32_t>(Code::kIo);
    return Status(static_cast<Code>(code), std::move(message)).set_leader(std::move(leader));
  }
  return payload.substr(payload.size() - d.remaining());
}

}  // namespace

Result<std::string> DecodeResponse(std::string_view payload) {
  AMLFS_ASSIGN_OR_RETURN(std::string_view body, ResponseBody(payload));
  return std::string(body);
}

namespace {

// ObjWriteReq: object, offset, checksum, sync, data (u32 length + bytes).
constexpr size_t kWriteSumAt = kFrameHeaderSize + 16 + 8;
constexpr size_t kWriteDataAt = kWriteSumAt + 8 + 1 + 4;
// OK response: u32 code, u32 empty message; ObjReadRsp: checksum, data.
constexpr size_t kReadSumAt = kFrameHeaderSize + 4 + 4;
constexpr size_t kReadDataAt = kReadSumAt + 8 + 4;

template <typename T>
void StoreAt(std::string* s, size_t at, T v) {
  std::memcpy(s->data() + at, &v, sizeof(v));
}

}  // namespace

std::string BuildObjWriteFrame(const ObjectId& object, uint64_t offset, bool sync,
                               const std::vector<std::string_view>& pieces, std::string_view job) {
  size_t len = 0;
  for (auto p : pieces) len += p.size();
  std::string frame;
  frame.reserve(kWriteDataAt + len + 4 + job.size());
  frame.resize(kFrameHeaderSize);
  Encoder e(&frame);
  e.Put(object);
  e.Put(offset);
  e.Put(uint64_t{0});
  e.Put(sync);
  e.Put(static_cast<uint32_t>(len));
  for (auto p : pieces) frame.append(p);
  e.Put(std::string(job));
  StoreAt(&frame, kWriteSumAt, Checksum64(frame.data() + kWriteDataAt, len));
  return frame;
}

Status DecodeObjWrite(std::string_view payload, ObjWriteView* v) {
  Decoder d(payload);
  uint32_t len = 0;
  d.Get(v->object);
  d.Get(v->offset);
  d.Get(v->checksum);
  d.Get(v->sync);
  d.Get(len);
  if (!d.ok() || d.remaining() < len) return Error(Code::kProtocol, "malformed object write");
  const size_t at = payload.size() - d.remaining();
  v->data = payload.substr(at, len);
  Decoder tail(payload.substr(at + len));
  tail.Get(v->job);
  if (!tail.ok() || tail.remaining() != 0) return Error(Code::kProtocol, "malformed object write");
  return Status::Ok();
}

std::string StartObjReadReply() {
  std::string frame(kReadDataAt, '\0');  // code 0, message "", checksum and length later
  return frame;
}

void FinishObjReadReply(std::string* frame) {
  const size_t len = frame->size() - kReadDataAt;
  StoreAt(frame, kReadSumAt, Checksum64(frame->data() + kReadDataAt, len));
  StoreAt(frame, kReadSumAt + 8, static_cast<uint32_t>(len));
}

Result<ObjReadView> DecodeObjReadResponse(std::string_view payload) {
  AMLFS_ASSIGN_OR_RETURN(std::string_view body, ResponseBody(payload));
  Decoder d(body);
  ObjReadView v;
  uint32_t len = 0;
  d.Get(v.checksum);
  d.Get(len);
  if (!d.ok() || d.remaining() != len)
    return Error(Code::kProtocol, "malformed object read response");
  v.data = body.substr(body.size() - len);
  return v;
}

}  // namespace amlfs
