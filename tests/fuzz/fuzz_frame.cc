// Fuzz target: the 32-byte frame header every connection starts each
// message with. A header that decodes must encode back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  amlfs::FrameHeader h;
  if (!amlfs::DecodeFrameHeader(in, &h).ok()) return 0;
  if (h.payload_len > amlfs::kMaxPayload) std::abort();  // the bound is checked
  char out[amlfs::kFrameHeaderSize];
  amlfs::EncodeFrameHeader(h, out);
  if (std::memcmp(out, data, amlfs::kFrameHeaderSize) != 0) std::abort();
  return 0;
}
