// The OST object store: round trips, sparse holes, truncate, checksums.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/checksum.h"
#include "server/ost/object_store.h"

using namespace amlfs;

namespace {

struct TempStore {
  std::string dir;
  std::unique_ptr<ObjectStore> store;
  TempStore() {
    char tmpl[] = "/tmp/ost_test.XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::make_unique<ObjectStore>(dir, 7);
  }
  ~TempStore() { std::filesystem::remove_all(dir); }
  Status Put(const ObjectId& o, uint64_t off, const std::string& data) {
    return store->Write(o, off, data, Checksum64(data), false);
  }
};

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7919 + seed) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("objects round-trip, including partial-block overwrites") {
  TempStore t;
  ObjectId o{42, 0, 1};
  std::string a = Pattern(200000, 1);
  REQUIRE(t.Put(o, 0, a).ok());
  std::string b = Pattern(1000, 2);
  REQUIRE(t.Put(o, 65000, b).ok());
  a.replace(65000, 1000, b);
  CHECK(t.store->Read(o, 0, 1 << 20).value() == a);
  CHECK(t.store->Read(o, 65530, 20).value() == a.substr(65530, 20));
  CHECK(t.store->Read(o, 300000, 10).value().empty());
  CHECK(t.store->Read(ObjectId{1, 0, 0}, 0, 10).value().empty());  // missing object
}

TEST_CASE("a payload whose checksum does not match is refused and nothing is written") {
  TempStore t;
  ObjectId o{1, 0, 0};
  CHECK(t.store->Write(o, 0, "data", Checksum64("other"), false).code() == Code::kCorrupt);
  CHECK(t.store->Read(o, 0, 10).value().empty());
}

TEST_CASE("holes read as zeros and take no disk blocks") {
  TempStore t;
  ObjectId o{5, 0, 0};
  REQUIRE(t.Put(o, 1ull << 30, "end").ok());
  std::string hole = t.store->Read(o, 1000, 4096).value();
  CHECK(hole == std::string(4096, '\0'));
  struct stat st;
  REQUIRE(stat(t.store->DataPath(o).c_str(), &st) == 0);
  CHECK(st.st_size == (1ll << 30) + 3);
  CHECK(st.st_blocks * 512 < (1 << 20));
  auto ext = t.store->Extents(o);
  REQUIRE(ext.ok());
  REQUIRE(ext->extents.size() == 1);
  CHECK(ext->extents[0].offset <= (1ull << 30));
}

TEST_CASE("a write after a short object end re-checksums the old last block") {
  TempStore t;
  ObjectId o{6, 0, 0};
  REQUIRE(t.Put(o, 0, "abc").ok());
  REQUIRE(t.Put(o, 200000, "xyz").ok());
  std::string all = t.store->Read(o, 0, 300000).value();
  CHECK(all.size() == 200003);
  CHECK(all.substr(0, 3) == "abc");
  CHECK(all.substr(3, 100) == std::string(100, '\0'));
}

TEST_CASE("truncate cuts and extends with zeros") {
  TempStore t;
  ObjectId o{7, 0, 0};
  std::string a = Pattern(150000, 3);
  REQUIRE(t.Put(o, 0, a).ok());
  REQUIRE(t.store->Truncate(o, 70000).ok());
  CHECK(t.store->Read(o, 0, 1 << 20).value() == a.substr(0, 70000));
  REQUIRE(t.store->Truncate(o, 100000).ok());
  std::string b = t.store->Read(o, 0, 1 << 20).value();
  CHECK(b.size() == 100000);
  CHECK(b.substr(70000) == std::string(30000, '\0'));
}

TEST_CASE("a flipped byte on disk is detected on read") {
  TempStore t;
  ObjectId o{8, 0, 2};
  REQUIRE(t.Put(o, 0, Pattern(3 * 65536, 4)).ok());
  int fd = open(t.store->DataPath(o).c_str(), O_RDWR);
  char c;
  REQUIRE(pread(fd, &c, 1, 70000) == 1);
  c ^= 0x01;
  REQUIRE(pwrite(fd, &c, 1, 70000) == 1);
  close(fd);
  auto r = t.store->Read(o, 65536, 100);
  CHECK(r.status().code() == Code::kCorrupt);
  CHECK_THAT(r.status().message(), Catch::Contains("offset 65536"));
  // Blocks that were not touched still read.
  CHECK(t.store->Read(o, 0, 100).ok());
  SECTION("bytes written into a never-written hole are detected too") {
    ObjectId h{9, 0, 0};
    REQUIRE(t.Put(h, 1 << 20, "x").ok());
    int fd2 = open(t.store->DataPath(h).c_str(), O_RDWR);
    REQUIRE(pwrite(fd2, "junk", 4, 100) == 4);
    close(fd2);
    CHECK(t.store->Read(h, 0, 200).status().code() == Code::kCorrupt);
  }
}

TEST_CASE("destroy removes the object and its checksums, and a missing object is no error") {
  TempStore t;
  ObjectId o{10, 0, 0};
  REQUIRE(t.Put(o, 0, "x").ok());
  REQUIRE(t.store->Destroy(o).ok());
  CHECK(access(t.store->DataPath(o).c_str(), F_OK) != 0);
  CHECK(access((t.store->DataPath(o) + ".sum").c_str(), F_OK) != 0);
  CHECK(t.store->Destroy(o).ok());
}

TEST_CASE("concurrent writers to one object keep every block consistent") {
  TempStore t;
  ObjectId o{11, 0, 0};
  std::vector<std::thread> ts;
  std::atomic<int> failed{0};
  for (int w = 0; w < 4; ++w)
    ts.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        std::string d = Pattern(10000, w);
        if (!t.Put(o, static_cast<uint64_t>((i * 4 + w) * 10000), d).ok()) ++failed;
      }
    });
  for (auto& th : ts) th.join();
  CHECK(failed.load() == 0);
  auto all = t.store->Read(o, 0, 10 << 20);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2000000);
  // Writer w wrote chunk i * 4 + w: each chunk holds its writer's pattern,
  // and every 64 KiB block verified against its checksum on the read.
  for (int chunk = 0; chunk < 200; ++chunk)
    CHECK(all->substr(static_cast<size_t>(chunk) * 10000, 10000) == Pattern(10000, chunk % 4));
}
