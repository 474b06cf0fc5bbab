#include "common/frame.h"

#include <cstring>

#include "common/checksum.h"

namespace amlfs {
namespace {
template <typename T>
void Store(char*& p, T v) {
  std::memcpy(p, &v, sizeof(v));
  p += sizeof(v);
}
template <typename T>
T Load(const char*& p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  p += sizeof(v);
  return v;
}
}  // namespace

void EncodeFrameHeader(const FrameHeader& h, char* out) {
  char* p = out;
  Store(p, kFrameMagic);
  Store(p, h.version);
  Store(p, h.opcode);
  Store(p, h.request_id);
  Store(p, h.flags);
  Store(p, h.payload_len);
  Store(p, uint32_t{0});
  Store(p, Checksum32(out, 28));
}

std::string MakeFrame(uint16_t opcode, uint64_t request_id, uint32_t flags,
                      std::string_view payload) {
  std::string frame(kFrameHeaderSize, '\0');
  FrameHeader h;
  h.opcode = opcode;
  h.request_id = request_id;
  h.flags = flags;
  h.payload_len = static_cast<uint32_t>(payload.size());
  EncodeFrameHeader(h, frame.data());
  frame.append(payload);
  return frame;
}

Status DecodeFrameHeader(std::string_view in, FrameHeader* h) {
  if (in.size() < kFrameHeaderSize) return Error(Code::kProtocol, "short frame header");
  const char* p = in.data();
  if (Load<uint32_t>(p) != kFrameMagic) return Error(Code::kProtocol, "bad frame magic");
  h->version = Load<uint16_t>(p);
  h->opcode = Load<uint16_t>(p);
  h->request_id = Load<uint64_t>(p);
  h->flags = Load<uint32_t>(p);
  h->payload_len = Load<uint32_t>(p);
  uint32_t reserved = Load<uint32_t>(p);
  uint32_t sum = Load<uint32_t>(p);
  if (sum != Checksum32(in.data(), 28))
    return Error(Code::kProtocol, "frame header checksum mismatch");
  if (h->version != kProtocolVersion)
    return Error(Code::kProtocol, "unsupported protocol version " + std::to_string(h->version));
  if (reserved != 0) return Error(Code::kProtocol, "reserved header field not zero");
  if (h->payload_len > kMaxPayload)
    return Error(Code::kProtocol,
                 "payload length " + std::to_string(h->payload_len) + " over limit");
  return Status::Ok();
}

}  // namespace amlfs
