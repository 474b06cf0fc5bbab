// The MDS's in-memory tables alone: OstTable (registration, down OSTs, the
// allocator) and OpenTable (handles, migrations).
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "server/mds/open_table.h"
#include "server/mds/ost_table.h"

using namespace amlfs;
using namespace amlfs::mds;
using namespace std::chrono_literals;

namespace {

OstRegisterReq Reg(uint32_t index, uint64_t capacity = 1ull << 40, uint64_t avail = 1ull << 39) {
  OstRegisterReq r;
  r.index = OstIndex(index);
  r.address = "127.0.0.1:" + std::to_string(7000 + index);
  r.ost_uuid = "uuid-" + std::to_string(index);
  r.capacity_bytes = capacity;
  r.free_bytes = r.avail_bytes = avail;
  return r;
}

std::set<uint32_t> OstsOf(const Layout& l) {
  std::set<uint32_t> out;
  for (const auto& c : l.comps)
    for (OstIndex o : c.osts) out.insert(o.value());
  return out;
}

}  // namespace

TEST_CASE("an OST index registered from another data directory is refused, the table unchanged",
          "[mds][ost_table]") {
  OstTable t(60s, {}, nullptr);
  bool persist = false;
  REQUIRE(t.Register(Reg(0), &persist).ok());
  CHECK(persist);
  REQUIRE(t.Register(Reg(0), &persist).ok());
  CHECK_FALSE(persist);  // a heartbeat: nothing new to record
  OstRegisterReq other = Reg(0);
  other.ost_uuid = "someone-else";
  other.address = "127.0.0.1:1";
  CHECK(t.Register(other, &persist).code() == Code::kExists);
  auto osts = t.Snapshot();
  REQUIRE(osts.size() == 1);
  CHECK(osts[0].address == "127.0.0.1:7000");
  CHECK(osts[0].up);
}

TEST_CASE("recorded OSTs are down until they heartbeat, and one that stops goes down",
          "[mds][ost_table]") {
  OstTable t(200ms, {}, nullptr);
  t.Load({{3, OstRec{"127.0.0.1:7003", "uuid-3"}}});
  auto osts = t.Snapshot();
  REQUIRE(osts.size() == 1);
  CHECK_FALSE(osts[0].up);
  bool persist = true;
  REQUIRE(t.Register(Reg(3), &persist).ok());
  CHECK_FALSE(persist);
  CHECK(t.Snapshot()[0].up);
  std::this_thread::sleep_for(400ms);
  CHECK_FALSE(t.Snapshot()[0].up);
}

TEST_CASE("new files go to OSTs with room, round robin, and to a full one only when all are full",
          "[mds][ost_table]") {
  OstTable t(60s, {1, 1 << 20}, nullptr);
  bool persist = false;
  REQUIRE(t.Register(Reg(0), &persist).ok());
  REQUIRE(t.Register(Reg(1, 1ull << 40, 1ull << 20), &persist).ok());  // full: 1 MiB left
  REQUIRE(t.Register(Reg(2), &persist).ok());
  std::set<uint32_t> used;
  for (int i = 0; i < 6; ++i) {
    auto l = t.Allocate(LayoutTemplate{});
    REQUIRE(l.ok());
    for (uint32_t o : OstsOf(*l)) used.insert(o);
  }
  CHECK(used == std::set<uint32_t>{0, 2});
  // Asked for by index, the full OST is used.
  auto pinned = t.Allocate(LayoutTemplate::Plain(1, 0, 1));
  REQUIRE(pinned.ok());
  CHECK(OstsOf(*pinned) == std::set<uint32_t>{1});
  // -1: every OST with room.
  auto all = t.Allocate(LayoutTemplate::Plain(-1, 0));
  REQUIRE(all.ok());
  CHECK(OstsOf(*all) == std::set<uint32_t>{0, 2});
  CHECK(t.Allocate(LayoutTemplate::Plain(1, 0, 7)).status().code() == Code::kInvalid);
}

TEST_CASE("with no OST registered a new layout is kNoSpace", "[mds][ost_table]") {
  OstTable t(60s, {}, nullptr);
  CHECK(t.Allocate(LayoutTemplate{}).status().code() == Code::kNoSpace);
}

TEST_CASE("a file stays open until its last handle is dropped; unknown handles change nothing",
          "[mds][open_table]") {
  OpenTable t;
  const InodeId f(42);
  const ClientId a(1), b(2);
  uint64_t h1 = t.Add(f, a, false);
  uint64_t h2 = t.Add(f, b, true);
  CHECK(h1 != h2);
  CHECK(t.IsOpen(f));
  CHECK(t.OpenByOthers(f, a, true));        // b writes
  CHECK_FALSE(t.OpenByOthers(f, b, true));  // a only reads
  CHECK(t.OpenByOthers(f, b, false));
  CHECK_FALSE(t.Drop(h2));
  CHECK_FALSE(t.Drop(h2));  // again: unknown now
  CHECK(t.IsOpen(f));
  CHECK(t.Drop(h1));
  CHECK_FALSE(t.IsOpen(f));
  CHECK_FALSE(t.Drop(9999));
}

TEST_CASE("a migration is dirtied by a writer's open and superseded by a newer one",
          "[mds][open_table]") {
  OpenTable t;
  const InodeId f(7);
  uint64_t m1 = t.BeginMigration(f, Layout{}, 11);
  uint64_t m2 = t.BeginMigration(f, Layout{}, 12);
  CHECK(t.EndMigration(f, m1).status().code() == Code::kBusy);
  t.Add(f, ClientId(1), false);
  auto clean = t.EndMigration(f, m2);
  REQUIRE(clean.ok());
  CHECK_FALSE(clean->dirty);
  CHECK(clean->queue_seq == 12);
  CHECK(t.EndMigration(f, m2).status().code() == Code::kBusy);  // taken already

  uint64_t m3 = t.BeginMigration(f, Layout{}, 13);
  t.Add(f, ClientId(2), true);
  auto dirty = t.EndMigration(f, m3);
  REQUIRE(dirty.ok());
  CHECK(dirty->dirty);

  uint64_t m4 = t.BeginMigration(f, Layout{}, 14);
  t.ForgetMigration(f, m4 + 1);  // not the current one: kept
  CHECK(t.EndMigration(f, m4).ok());
}
