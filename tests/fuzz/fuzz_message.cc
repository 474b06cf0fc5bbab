// Fuzz target: every message body of the wire protocol, the MDS's records
// on disk and the replicas' Raft messages and log entries (the types of
// message_types.h). The first input byte picks the type; the rest is
// decoded as that type. Whatever decodes must encode back to exactly the
// same bytes (the encoding is canonical), and the response and in-place
// decoders must refuse what they cannot read.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/protocol.h"
#include "common/protocol_ost.h"
#include "tests/fuzz/message_types.h"

namespace amlfs {
namespace {

// The decoders that read a payload in place or strip a response status, in
// the order of fuzz::kInPlaceNames.
void InPlace(size_t i, std::string_view in) {
  static_assert(std::size(fuzz::kInPlaceNames) == 3);
  switch (i % 3) {
    case 0: {
      ObjWriteView v;
      if (DecodeObjWrite(in, &v).ok()) {
        // The view must lie inside the payload.
        if (v.data.data() < in.data() || v.data.data() + v.data.size() > in.data() + in.size())
          std::abort();
      }
      break;
    }
    case 1: {
      auto r = DecodeObjReadResponse(in);
      if (r.ok() && r.value().data.data() + r.value().data.size() > in.data() + in.size())
        std::abort();
      break;
    }
    case 2: {
      auto r = DecodeResponse(in);
      if (r.ok() && r.value().size() > in.size()) std::abort();
      break;
    }
  }
}

}  // namespace
}  // namespace amlfs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace amlfs;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t pick = data[0];
  if (pick >= fuzz::MessageTypes::kCount) {
    InPlace(pick - fuzz::MessageTypes::kCount, in);
    return 0;
  }
  fuzz::MessageTypes::At(pick, [in]<typename T>() {
    T msg;
    if (!Decode(in, &msg).ok()) return;
    if (Encode(msg) != in) std::abort();  // the encoding is canonical
  });
  return 0;
}
