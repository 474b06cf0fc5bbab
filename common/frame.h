// Frame header: every message on every connection starts with one.
//
// Layout (32 bytes, little-endian):
//   u32 magic        kFrameMagic ("AMLF")
//   u16 version      kProtocolVersion
//   u16 opcode       Opcode (protocol.h)
//   u64 request_id   chosen by the requester; echoed in the response
//   u32 flags        kFlagResponse, ...
//   u32 payload_len  bytes that follow the header, <= kMaxPayload
//   u32 reserved     zero
//   u32 header_sum   XXH32 of the preceding 28 bytes
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace amlfs {

inline constexpr uint32_t kFrameMagic = 0x464c4d41;  // "AMLF"
inline constexpr uint16_t kProtocolVersion = 6;
inline constexpr size_t kFrameHeaderSize = 32;
// Largest payload accepted: a 4 MiB data block plus its message fields.
inline constexpr uint32_t kMaxPayload = (64u << 20);

inline constexpr uint32_t kFlagResponse = 1u << 0;

struct FrameHeader {
  uint16_t version = kProtocolVersion;
  uint16_t opcode = 0;
  uint64_t request_id = 0;
  uint32_t flags = 0;
  uint32_t payload_len = 0;
};

// Writes the 32-byte header for `h` into `out` (exactly kFrameHeaderSize bytes).
void EncodeFrameHeader(const FrameHeader& h, char* out);

// A whole frame: the header for (opcode, request_id, flags) and `payload`.
std::string MakeFrame(uint16_t opcode, uint64_t request_id, uint32_t flags,
                      std::string_view payload);

// Parses and validates a header: magic, version, checksum and payload bound.
// Fails with kProtocol naming what is wrong.
Status DecodeFrameHeader(std::string_view in, FrameHeader* h);

}  // namespace amlfs
