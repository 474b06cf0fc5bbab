// Writes the seed corpus of the binary fuzz targets: one valid input per
// message type (corpus/message/) and valid frame headers (corpus/frame/).
// Run after adding a message type:  build/bin/fuzz_make_seeds tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/frame.h"
#include "common/protocol.h"
#include "tests/fuzz/message_types.h"

namespace fs = std::filesystem;
using namespace amlfs;

namespace {
void Write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir / "message");
  fs::create_directories(dir / "frame");
  size_t i = 0;
  fuzz::MessageTypes::Each([&]<typename T>() {
    std::string in(1, static_cast<char>(i));
    in += Encode(fuzz::Filled<T>());
    Write(dir / "message" / ("type-" + std::to_string(i)), in);
    ++i;
  });
  // The in-place decoders: a write request, a read answer, an error answer.
  const std::string write_req = Encode(fuzz::Filled<ObjWriteReq>());
  const std::string read_ok = EncodeResponse(Status::Ok(), Encode(fuzz::Filled<ObjReadRsp>()));
  const std::string error = EncodeResponse(Error(Code::kNotFound, "no such file"), {});
  Write(dir / "message" / "in-place-write", std::string(1, static_cast<char>(i)) + write_req);
  Write(dir / "message" / "in-place-read", std::string(1, static_cast<char>(i + 1)) + read_ok);
  Write(dir / "message" / "response", std::string(1, static_cast<char>(i + 2)) + error);
  for (uint16_t op : {1, 2, 23, 100, 101}) {
    const std::string f = MakeFrame(op, 42 + op, op == 101 ? kFlagResponse : 0, "payload");
    Write(dir / "frame" / ("op-" + std::to_string(op)), f.substr(0, kFrameHeaderSize));
  }
  std::printf("wrote %zu message seeds and 5 frame seeds under %s\n", i + 3, dir.c_str());
  return 0;
}
