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

std::string BuildObjWriteFrame(const ObjectId& object, uint64_t offset, bool sync,
                               const std::vector<std::string_view>& pieces, std::string_view job) {
  size_t len = 0;
  for (auto p : pieces) len += p.size();
  ObjWriteReq req;  // everything but the data, which goes straight into the frame
  req.object = object;
  req.offset = offset;
  req.sync = sync;
  req.job = job;
  std::string frame(kFrameHeaderSize, '\0');
  InPlaceEncoder encoder(req, req.data, &frame, len);
  for (auto p : pieces) frame.append(p);
  encoder.Finish();
  req.checksum = Checksum64(encoder.bulk());
  encoder.Rewrite(req.checksum);
  return frame;
}

Status DecodeObjWrite(std::string_view payload, ObjWriteView* v) {
  ObjWriteReq req;
  std::string_view data;
  if (!DecodeInPlace(payload, &req, req.data, &data).ok())
    return Error(Code::kProtocol, "malformed object write");
  v->object = req.object;
  v->offset = req.offset;
  v->checksum = req.checksum;
  v->sync = req.sync;
  v->data = data;
  v->job = std::move(req.job);
  return Status::Ok();
}

ObjReadReplyFrame::ObjReadReplyFrame()
    : frame_(std::string(kFrameHeaderSize, '\0') + EncodeResponse(Status::Ok(), {})),
      encoder_(rsp_, rsp_.data, &frame_) {}

std::string ObjReadReplyFrame::Finish() {
  encoder_.Finish();
  rsp_.checksum = Checksum64(encoder_.bulk());
  encoder_.Rewrite(rsp_.checksum);
  return std::move(frame_);
}

Result<ObjReadView> DecodeObjReadResponse(std::string_view payload) {
  AMLFS_ASSIGN_OR_RETURN(std::string_view body, ResponseBody(payload));
  ObjReadRsp rsp;
  ObjReadView v;
  if (!DecodeInPlace(body, &rsp, rsp.data, &v.data).ok())
    return Error(Code::kProtocol, "malformed object read response");
  v.checksum = rsp.checksum;
  return v;
}

}  // namespace amlfs
