// The seed corpus of the binary fuzz targets: one valid input per message
// type (corpus/message/<type>), one per in-place decoder
// (corpus/message/in-place-*, response) and valid frame headers
// (corpus/frame/op-N).
//
//   fuzz_make_seeds CORPUS_DIR           writes them (after adding a type)
//   fuzz_make_seeds --check CORPUS_DIR   proves that each seed selects the
//                                        decoder it is named after and
//                                        decodes with it; exits 1 if not
//
// A message seed's first byte selects its type by position in
// message_types.h, so inserting a type moves the seeds of those after it
// onto other decoders: --check (the suite's fuzz.seeds) catches that.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "common/frame.h"
#include "common/protocol.h"
#include "common/protocol_ost.h"
#include "tests/fuzz/message_types.h"
#include "tests/fuzz/parse_targets.h"

namespace fs = std::filesystem;
using namespace amlfs;

namespace {

constexpr uint16_t kFrameOps[] = {1, 2, 23, 100, 101};

void Write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

char Selector(size_t i) { return static_cast<char>(i); }

// The in-place seeds, in the order of kInPlaceNames.
std::string InPlaceSeed(size_t k) {
  const char pick = Selector(fuzz::MessageTypes::kCount + k);
  switch (k) {
    case 0: return pick + Encode(fuzz::Filled<ObjWriteReq>());
    case 1: return pick + EncodeResponse(Status::Ok(), Encode(fuzz::Filled<ObjReadRsp>()));
    default: return pick + EncodeResponse(Error(Code::kNotFound, "no such file"), {});
  }
}

int MakeSeeds(const fs::path& dir) {
  fs::create_directories(dir / "message");
  fs::create_directories(dir / "frame");
  size_t i = 0;
  fuzz::MessageTypes::Each([&]<typename T>() {
    Write(dir / "message" / fuzz::SeedName(fuzz::kMessageTypeNames[i]),
          Selector(i) + Encode(fuzz::Filled<T>()));
    ++i;
  });
  for (size_t k = 0; k < std::size(fuzz::kInPlaceNames); ++k)
    Write(dir / "message" / fuzz::kInPlaceNames[k], InPlaceSeed(k));
  for (uint16_t op : kFrameOps) {
    const std::string f = MakeFrame(op, 42 + op, op == 101 ? kFlagResponse : 0, "payload");
    Write(dir / "frame" / ("op-" + std::to_string(op)), f.substr(0, kFrameHeaderSize));
  }
  std::printf("wrote %zu message seeds and %zu frame seeds under %s\n",
              i + std::size(fuzz::kInPlaceNames), std::size(kFrameOps), dir.c_str());
  return 0;
}

// Decodes `in` with the in-place decoder k; true when it accepts it.
bool InPlaceDecodes(size_t k, std::string_view in) {
  switch (k) {
    case 0: {
      ObjWriteView v;
      return DecodeObjWrite(in, &v).ok();
    }
    case 1: return DecodeObjReadResponse(in).ok();
    default: {
      // The seed is an error answer: decoding it gives that error.
      auto r = DecodeResponse(in);
      return r.ok() || r.status().code() == Code::kNotFound;
    }
  }
}

struct Checker {
  int bad = 0;
  size_t checked = 0;
  void Fail(const fs::path& p, const std::string& why) {
    std::fprintf(stderr, "%s: %s\n", p.c_str(), why.c_str());
    ++bad;
  }
};

void CheckMessages(const fs::path& dir, Checker& c) {
  std::set<std::string> expected;
  size_t i = 0;
  fuzz::MessageTypes::Each([&]<typename T>() {
    const std::string name = fuzz::SeedName(fuzz::kMessageTypeNames[i]);
    const fs::path p = dir / name;
    expected.insert(name);
    const size_t index = i++;
    if (!fs::exists(p)) return c.Fail(p, "no seed for this type (run fuzz_make_seeds)");
    const std::string in = Read(p);
    ++c.checked;
    if (in.empty() || static_cast<unsigned char>(in[0]) != index)
      return c.Fail(p, "its first byte selects type " +
                           (in.empty() ? std::string("none")
                                       : std::to_string(static_cast<unsigned char>(in[0]))) +
                           ", not " + name + " (" + std::to_string(index) + ")");
    T msg;
    const std::string_view body(in.data() + 1, in.size() - 1);
    if (Status s = Decode(body, &msg); !s.ok())
      return c.Fail(p, "does not decode as " + name + ": " + s.ToString());
    if (Encode(msg) != body) c.Fail(p, "decodes as " + name + " but encodes back differently");
  });
  for (size_t k = 0; k < std::size(fuzz::kInPlaceNames); ++k) {
    const fs::path p = dir / fuzz::kInPlaceNames[k];
    expected.insert(fuzz::kInPlaceNames[k]);
    if (!fs::exists(p)) {
      c.Fail(p, "no seed for this decoder (run fuzz_make_seeds)");
      continue;
    }
    const std::string in = Read(p);
    ++c.checked;
    if (in.empty() || static_cast<unsigned char>(in[0]) != fuzz::MessageTypes::kCount + k)
      c.Fail(p, "its first byte does not select the " + std::string(fuzz::kInPlaceNames[k]) +
                    " decoder");
    else if (!InPlaceDecodes(k, std::string_view(in).substr(1)))
      c.Fail(p, std::string("the ") + fuzz::kInPlaceNames[k] + " decoder refuses it");
  }
  for (const auto& e : fs::directory_iterator(dir))
    if (!expected.count(e.path().filename().string()))
      c.Fail(e.path(), "names no message type or decoder");
}

void CheckFrames(const fs::path& dir, Checker& c) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const std::string in = Read(e.path());
    ++c.checked;
    FrameHeader h;
    if (name.rfind("op-", 0) != 0) {
      c.Fail(e.path(), "frame seeds are named op-OPCODE");
    } else if (Status s = DecodeFrameHeader(in, &h); !s.ok()) {
      c.Fail(e.path(), "the frame header does not decode: " + s.ToString());
    } else if (std::to_string(h.opcode) != name.substr(3)) {
      c.Fail(e.path(), "a frame of opcode " + std::to_string(h.opcode));
    }
  }
}

void CheckParse(const fs::path& dir, Checker& c) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const std::string in = Read(e.path());
    ++c.checked;
    const size_t dash = name.rfind('-');
    size_t want = fuzz::kParserCount;
    for (size_t k = 0; k < fuzz::kParserCount; ++k)
      if (dash != std::string::npos && name.substr(0, dash) == fuzz::kParserNames[k]) want = k;
    if (want == fuzz::kParserCount)
      c.Fail(e.path(), "parse seeds are named PARSER-N, PARSER one of fuzz::kParserNames");
    else if (in.empty() || static_cast<unsigned char>(in[0]) % fuzz::kParserCount != want)
      c.Fail(e.path(), std::string("its first byte does not select the ") +
                           fuzz::kParserNames[want] + " parser");
  }
}

int CheckSeeds(const fs::path& dir) {
  Checker c;
  CheckMessages(dir / "message", c);
  CheckFrames(dir / "frame", c);
  CheckParse(dir / "parse", c);
  if (c.bad) {
    std::fprintf(stderr, "fuzz_make_seeds: %d of the seeds under %s are wrong\n", c.bad,
                 dir.c_str());
    return 1;
  }
  std::printf("fuzz_make_seeds: %zu seeds under %s each select and decode as named\n", c.checked,
              dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--check") == 0) return CheckSeeds(argv[2]);
  if (argc == 2 && argv[1][0] != '-') return MakeSeeds(argv[1]);
  std::fprintf(stderr, "usage: %s [--check] CORPUS_DIR\n", argv[0]);
  return 2;
}
