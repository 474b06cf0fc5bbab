// The replicated MDS's snapshots of its database: saved at the applied
// index, installed whole over another database, refused when damaged.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/unit/server/mds/mds_test_util.h"

// Names are built with append, not "f" + std::to_string(i): at -O3, GCC 12
// warns (-Wrestrict) about the insert that operator+(const char*, string&&)
// inlines, a false positive (GCC bug 105329).
using namespace amlfs;
using namespace amlfs::mds;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

bool Exists(Mds& m, Who& w, const std::string& name) {
  return m.Lookup(LookupReq{w.c, kRootInode, name}).ok();
}

}  // namespace

TEST_CASE("a snapshot replaces the whole database; a damaged one is refused and changes nothing") {
  const std::string dir = std::filesystem::temp_directory_path() /
                          std::string("mds-snapshot-").append(std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/snap";
  Who root;

  TempNamespace a;
  REQUIRE(a->Wait(a->Mkdir(MkdirReq{root.Next(), kRootInode, "kept", 0755})).ok());
  for (int i = 0; i < 5000; ++i)  // more than one block
    REQUIRE(a->Wait(a->Mknod(MknodReq{root.Next(), kRootInode,
                                      std::string("f").append(std::to_string(i)), 0100644, 0}))
                .ok());
  a->ApplyLogged(7, "");
  CHECK(a->SaveSnapshot(6, path).code() == Code::kInternal);  // not at the applied index
  REQUIRE(a->SaveSnapshot(7, path).ok());
  const std::string good = ReadFile(path);
  REQUIRE(good.size() > (1u << 20));

  TempNamespace b;
  REQUIRE(b->Wait(b->Mkdir(MkdirReq{root.Next(), kRootInode, "replaced", 0755})).ok());
  auto refused = [&](const std::string& bytes, uint64_t index, const char* why) {
    WriteFile(path, bytes);
    Status st = b->InstallSnapshot(index, path);
    INFO(st.ToString());
    CHECK(st.code() == Code::kCorrupt);
    CHECK_THAT(st.message(), Catch::Contains(why));
    CHECK(Exists(*b, root, "replaced"));
    CHECK_FALSE(Exists(*b, root, "kept"));
  };

  SECTION("a flipped byte") {
    std::string bad = good;
    bad[bad.size() / 2] ^= 0x20;
    refused(bad, 7, "checksum mismatch");
  }
  SECTION("a truncated file") { refused(good.substr(0, good.size() - 9), 7, "truncated"); }
  SECTION("a missing end") { refused(good.substr(0, good.size() - 21), 7, "end block is missing"); }
  SECTION("another index") { refused(good, 8, "holds index 7"); }
  SECTION("not a snapshot") { refused(std::string(100, 'x'), 7, "oversized block"); }
  SECTION("the whole file") {
    WriteFile(path, good);
    REQUIRE(b->InstallSnapshot(7, path).ok());
    CHECK(b->AppliedIndex() == 7);
    CHECK(Exists(*b, root, "kept"));
    CHECK(Exists(*b, root, "f4999"));
    CHECK_FALSE(Exists(*b, root, "replaced"));
    // Saved again from the installed copy: the same bytes.
    REQUIRE(b->SaveSnapshot(7, path).ok());
    CHECK(ReadFile(path) == good);
  }
  std::filesystem::remove_all(dir);
}
