#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "server/mds/raft/log_store.h"

// Names are built with append, not "f" + std::to_string(i): at -O3, GCC 12
// warns (-Wrestrict) about the insert that operator+(const char*, string&&)
// inlines, a false positive (GCC bug 105329).
using namespace amlfs;
using namespace amlfs::raft;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/raft_log_store_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string store() const { return path_ + "/raft"; }
  std::string log() const { return store() + "/log"; }

 private:
  std::string path_;
};

Entry Make(Term term, Index index, std::string data, EntryType type = EntryType::kCommand) {
  Entry e;
  e.term = term;
  e.index = index;
  e.type = type;
  e.data = std::move(data);
  return e;
}

std::unique_ptr<LogStore> OpenOk(const std::string& dir) {
  Result<std::unique_ptr<LogStore>> r = LogStore::Open(dir);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

void AppendOk(LogStore& s, std::vector<Entry> entries) {
  Status st = s.Append(entries);
  INFO(st.ToString());
  REQUIRE(st.ok());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("entries of any length and every byte value survive a reopen") {
  TempDir tmp;
  std::vector<Entry> want;
  Index i = 1;
  for (size_t len :
       {size_t{0}, size_t{1}, size_t{3}, size_t{7}, size_t{4096}, size_t{(1 << 20) + 13}}) {
    std::string data(len, '\0');
    for (size_t k = 0; k < len; ++k) data[k] = static_cast<char>((k * 131 + i) & 0xff);
    want.push_back(Make(i, i, std::move(data)));
    ++i;
  }
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  want.push_back(Make(i, i, all_bytes, EntryType::kConfig));
  want[0].type = EntryType::kNoop;
  {
    auto s = OpenOk(tmp.store());
    CHECK(s->first_index() == 1);
    CHECK(s->last_index() == 0);
    CHECK(s->term_at(0) == 0);
    // Two batches: a single multi-record write, then one record per call.
    AppendOk(*s, std::vector<Entry>(want.begin(), want.begin() + 4));
    for (size_t k = 4; k < want.size(); ++k) AppendOk(*s, {want[k]});
  }
  auto s = OpenOk(tmp.store());
  REQUIRE(s->first_index() == 1);
  REQUIRE(s->last_index() == want.size());
  for (const Entry& e : want) {
    INFO("index " << e.index);
    CHECK(s->at(e.index) == e);
    CHECK(s->term_at(e.index) == e.term);
  }
  CHECK(s->term_at(want.size() + 1) == 0);
}

TEST_CASE("the hard state survives a reopen and a fresh store has none") {
  TempDir tmp;
  {
    auto s = OpenOk(tmp.store());
    CHECK(s->hard_state() == HardState{});
    REQUIRE(s->SaveHardState(HardState{5, 2}).ok());
    REQUIRE(s->SaveHardState(HardState{7, 3}).ok());
    CHECK(s->hard_state() == HardState{7, 3});
  }
  auto s = OpenOk(tmp.store());
  CHECK(s->hard_state() == HardState{7, 3});
  CHECK(!fs::exists(tmp.store() + "/hardstate.tmp"));
}

TEST_CASE("TruncateFrom then Append replaces the tail across a reopen") {
  TempDir tmp;
  {
    auto s = OpenOk(tmp.store());
    for (Index i = 1; i <= 5; ++i)
      AppendOk(*s, {Make(1, i, std::string("e").append(std::to_string(i)))});
    REQUIRE(s->TruncateFrom(3).ok());
    CHECK(s->last_index() == 2);
    CHECK(s->term_at(3) == 0);
    REQUIRE(s->TruncateFrom(9).ok());  // past the end: nothing to drop
    CHECK(s->last_index() == 2);
    AppendOk(*s, {Make(2, 3, "new3"), Make(2, 4, "new4")});
  }
  auto s = OpenOk(tmp.store());
  REQUIRE(s->last_index() == 4);
  CHECK(s->at(1) == Make(1, 1, "e1"));
  CHECK(s->at(2) == Make(1, 2, "e2"));
  CHECK(s->at(3) == Make(2, 3, "new3"));
  CHECK(s->at(4) == Make(2, 4, "new4"));

  SECTION("truncating everything leaves an empty, appendable log") {
    REQUIRE(s->TruncateFrom(1).ok());
    CHECK(s->last_index() == 0);
    AppendOk(*s, {Make(3, 1, "x")});
    s = OpenOk(tmp.store());
    REQUIRE(s->last_index() == 1);
    CHECK(s->at(1) == Make(3, 1, "x"));
  }
}

TEST_CASE("Append and TruncateFrom reject indices that do not fit the log") {
  TempDir tmp;
  auto s = OpenOk(tmp.store());
  AppendOk(*s, {Make(1, 1, "a"), Make(1, 2, "b")});
  CHECK(s->Append({Make(1, 4, "gap")}).code() == Code::kInvalid);
  CHECK(s->Append({Make(1, 3, "ok"), Make(1, 5, "gap")}).code() == Code::kInvalid);
  CHECK(s->Append({Make(1, 2, "again")}).code() == Code::kInvalid);
  CHECK(s->last_index() == 2);
  REQUIRE(s->CompactTo(1, 1).ok());
  CHECK(s->TruncateFrom(1).code() == Code::kInvalid);
  s = OpenOk(tmp.store());
  CHECK(s->last_index() == 2);
  CHECK(s->at(2) == Make(1, 2, "b"));
}

TEST_CASE("CompactTo keeps the compacted point and the later entries across a reopen") {
  TempDir tmp;
  auto s = OpenOk(tmp.store());
  for (Index i = 1; i <= 10; ++i) AppendOk(*s, {Make((i + 1) / 2, i, std::string(i, 'x'))});
  REQUIRE(s->term_at(6) == 3);

  SECTION("entries after the point are kept") {
    REQUIRE(s->CompactTo(6, 3).ok());
    REQUIRE(s->CompactTo(4, 2).ok());  // already compacted past it: no-op
    for (int reopen = 0; reopen < 2; ++reopen) {
      CHECK(s->first_index() == 7);
      CHECK(s->last_index() == 10);
      CHECK(s->term_at(6) == 3);
      CHECK(s->term_at(5) == 0);
      CHECK(s->term_at(0) == 0);
      for (Index i = 7; i <= 10; ++i) CHECK(s->at(i) == Make((i + 1) / 2, i, std::string(i, 'x')));
      s = OpenOk(tmp.store());
    }
    AppendOk(*s, {Make(6, 11, "eleven")});
    REQUIRE(s->TruncateFrom(7).ok());
    s = OpenOk(tmp.store());
    CHECK(s->first_index() == 7);
    CHECK(s->last_index() == 6);
    CHECK(s->term_at(6) == 3);
    AppendOk(*s, {Make(7, 7, "seven")});
    s = OpenOk(tmp.store());
    REQUIRE(s->last_index() == 7);
    CHECK(s->at(7) == Make(7, 7, "seven"));
  }
  SECTION("a point past the end of the log drops every entry") {
    REQUIRE(s->CompactTo(20, 9).ok());
    s = OpenOk(tmp.store());
    CHECK(s->first_index() == 21);
    CHECK(s->last_index() == 20);
    CHECK(s->term_at(20) == 9);
    AppendOk(*s, {Make(9, 21, "next")});
    s = OpenOk(tmp.store());
    CHECK(s->at(21) == Make(9, 21, "next"));
  }
  SECTION("a point whose term differs from the log's drops the conflicting tail") {
    REQUIRE(s->CompactTo(6, 4).ok());
    s = OpenOk(tmp.store());
    CHECK(s->first_index() == 7);
    CHECK(s->last_index() == 6);
    CHECK(s->term_at(6) == 4);
  }
}

TEST_CASE("the compaction point keeps its configuration across a reopen and a later compaction") {
  TempDir tmp;
  auto s = OpenOk(tmp.store());
  for (Index i = 1; i <= 6; ++i) AppendOk(*s, {Make(1, i, "e")});
  CHECK(s->compacted_config().empty());
  const std::string four = EncodeMembers({{1, "a:1"}, {2, "b:2"}, {4, "d:4"}});
  REQUIRE(s->CompactTo(3, 1, four).ok());
  s = OpenOk(tmp.store());
  CHECK(s->compacted_config() == four);
  CHECK(s->first_index() == 4);
  CHECK(s->at(6) == Make(1, 6, "e"));
  auto m = DecodeMembers(s->compacted_config());
  REQUIRE(m.ok());
  CHECK(m->at(4) == "d:4");
  // A compaction without a configuration (an older caller) records none.
  REQUIRE(s->CompactTo(5, 1).ok());
  s = OpenOk(tmp.store());
  CHECK(s->compacted_config().empty());
  CHECK(s->term_at(5) == 1);
}

TEST_CASE("a torn last record is cut off at Open and the log stays appendable") {
  TempDir tmp;
  uint64_t size2 = 0, size3 = 0;
  {
    auto s = OpenOk(tmp.store());
    AppendOk(*s, {Make(1, 1, std::string(100, 'a')), Make(1, 2, std::string(100, 'b'))});
    size2 = fs::file_size(tmp.log());
    AppendOk(*s, {Make(1, 3, std::string(100, 'c'))});
    size3 = fs::file_size(tmp.log());
  }
  SECTION("torn in the payload") { fs::resize_file(tmp.log(), size3 - 3); }
  SECTION("torn in the header") { fs::resize_file(tmp.log(), size2 + 5); }

  auto s = OpenOk(tmp.store());
  REQUIRE(s->last_index() == 2);
  CHECK(s->at(1) == Make(1, 1, std::string(100, 'a')));
  CHECK(s->at(2) == Make(1, 2, std::string(100, 'b')));
  CHECK(fs::file_size(tmp.log()) == size2);
  AppendOk(*s, {Make(2, 3, "again")});
  s = OpenOk(tmp.store());
  REQUIRE(s->last_index() == 3);
  CHECK(s->at(3) == Make(2, 3, "again"));
}

TEST_CASE("a damaged whole record makes Open fail with kCorrupt and changes nothing") {
  TempDir tmp;
  std::vector<uint64_t> end = {0};  // end[k]: log size once entries 1..k are in
  {
    auto s = OpenOk(tmp.store());
    for (Index i = 1; i <= 5; ++i) {
      AppendOk(*s, {Make(1, i, std::string(50, static_cast<char>('a' + i)))});
      end.push_back(fs::file_size(tmp.log()));
    }
  }
  std::string bytes = ReadFile(tmp.log());
  uint64_t record_at = 0;
  std::string index;
  SECTION("a flipped byte in a middle record's payload") {
    bytes[end[3] - 1] ^= 0x40;
    record_at = end[2];
    index = "index 3";
  }
  SECTION("a flipped byte in the last whole record's payload") {
    bytes[end[5] - 1] ^= 0x40;
    record_at = end[4];
    index = "index 5";
  }
  SECTION("a flipped byte in a middle record's header") {
    bytes[end[2] + 1] ^= 0x40;
    record_at = end[2];
    index = "index 3";
  }
  SECTION("a whole record whose index does not follow the previous one") {
    bytes += bytes.substr(end[1], end[2] - end[1]);  // a second copy of entry 2
    record_at = end[5];
    index = "index 2";
  }
  WriteFile(tmp.log(), bytes);

  Result<std::unique_ptr<LogStore>> r = LogStore::Open(tmp.store());
  REQUIRE(!r.ok());
  const std::string msg = r.status().message();
  INFO(msg);
  CHECK(r.status().code() == Code::kCorrupt);
  CHECK(msg.find(tmp.log()) != std::string::npos);
  CHECK(msg.find("byte offset " + std::to_string(record_at) + " ") != std::string::npos);
  CHECK(msg.find(index) != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(ReadFile(tmp.log()) == bytes);
}

TEST_CASE("a damaged hard state makes Open fail with kCorrupt") {
  TempDir tmp;
  REQUIRE(OpenOk(tmp.store())->SaveHardState(HardState{3, 1}).ok());
  const std::string path = tmp.store() + "/hardstate";
  std::string bytes = ReadFile(path);
  SECTION("a flipped byte") { bytes[0] ^= 0x01; }
  SECTION("a short file") { bytes.pop_back(); }
  WriteFile(path, bytes);
  Result<std::unique_ptr<LogStore>> r = LogStore::Open(tmp.store());
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kCorrupt);
  CHECK(ReadFile(path) == bytes);
}

TEST_CASE("Open fails with a Status when the directory cannot be created or used") {
  TempDir tmp;
  const std::string file = tmp.path() + "/file";
  WriteFile(file, "not a directory");
  std::string dir;
  Code code = Code::kOk;
  SECTION("a parent is a regular file") {
    dir = file + "/raft";
    code = Code::kNotDir;
  }
  SECTION("a parent is missing") {
    dir = tmp.path() + "/missing/raft";
    code = Code::kNotFound;
  }
  SECTION("the path is a regular file") {
    dir = file;
    code = Code::kNotDir;
  }
  Result<std::unique_ptr<LogStore>> r = LogStore::Open(dir);
  REQUIRE(!r.ok());
  INFO(r.status().ToString());
  CHECK(r.status().code() == code);
  CHECK(r.status().message().find(dir) != std::string::npos);
}
