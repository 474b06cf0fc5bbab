#include <catch2/catch.hpp>

#include "server/mds/locks.h"

using namespace amlfs;
using namespace amlfs::mds;

namespace {

LockSpec Lk(uint64_t client, uint64_t owner, uint32_t type, uint64_t start, uint64_t end,
            bool wait = false, bool flock = false) {
  LockSpec l;
  l.client = ClientId(client);
  l.owner = owner;
  l.type = type;
  l.start = start;
  l.end = end;
  l.wait = wait;
  l.flock = flock;
  return l;
}

// Runs Set and returns the status it answered with (or nullopt: waiting).
std::optional<Code> SetNow(LockTable& t, uint64_t ino, const LockSpec& l) {
  std::optional<Code> got;
  t.Set(ino, l, [&](Status st) { got = st.code(); });
  return got;
}

}  // namespace

TEST_CASE("locks: read locks share, a write lock conflicts, owners never block themselves") {
  LockTable t;
  CHECK(SetNow(t, 1, Lk(1, 1, kLockRead, 0, 99)) == Code::kOk);
  CHECK(SetNow(t, 1, Lk(2, 1, kLockRead, 50, 149)) == Code::kOk);
  CHECK(SetNow(t, 1, Lk(2, 1, kLockWrite, 50, 59)) == Code::kWouldBlock);
  CHECK(SetNow(t, 1, Lk(2, 1, kLockWrite, 100, 149)) == Code::kOk);  // only its own lock there
  auto c = t.Test(1, Lk(3, 1, kLockWrite, 0, 10));
  REQUIRE(c);
  CHECK(c->client == ClientId(1));
  CHECK(c->type == kLockRead);
  CHECK_FALSE(t.Test(1, Lk(3, 1, kLockRead, 0, 10)));
  CHECK_FALSE(t.Test(1, Lk(1, 1, kLockWrite, 0, 10)));        // the holder itself
  CHECK_FALSE(t.Test(2, Lk(3, 1, kLockWrite, 0, kLockEof)));  // another file
}

TEST_CASE("locks: unlocking the middle splits a lock; touching locks merge") {
  LockTable t;
  REQUIRE(SetNow(t, 1, Lk(1, 7, kLockWrite, 0, 99)) == Code::kOk);
  REQUIRE(SetNow(t, 1, Lk(1, 7, kLockUnlock, 40, 59)) == Code::kOk);
  auto held = t.Held(1);
  REQUIRE(held.size() == 2);
  CHECK((held[0].start == 0 && held[0].end == 39));
  CHECK((held[1].start == 60 && held[1].end == 99));
  CHECK(SetNow(t, 1, Lk(2, 1, kLockWrite, 40, 59)) == Code::kOk);
  REQUIRE(SetNow(t, 1, Lk(2, 1, kLockUnlock, 0, kLockEof)) == Code::kOk);
  REQUIRE(SetNow(t, 1, Lk(1, 7, kLockWrite, 40, 59)) == Code::kOk);
  held = t.Held(1);
  REQUIRE(held.size() == 1);
  CHECK((held[0].start == 0 && held[0].end == 99));
  // A downgrade of part of it splits by type.
  REQUIRE(SetNow(t, 1, Lk(1, 7, kLockRead, 0, 49)) == Code::kOk);
  held = t.Held(1);
  REQUIRE(held.size() == 2);
  CHECK(held[0].type == kLockRead);
  CHECK(held[1].type == kLockWrite);
  CHECK(SetNow(t, 1, Lk(1, 7, kLockUnlock, 0, kLockEof)) == Code::kOk);
  CHECK(t.Held(1).empty());
}

TEST_CASE("locks: a waiter is granted by the release that frees it, in arrival order") {
  LockTable t;
  REQUIRE(SetNow(t, 1, Lk(1, 1, kLockWrite, 0, kLockEof)) == Code::kOk);
  std::vector<int> order;
  t.Set(1, Lk(2, 1, kLockWrite, 0, 9, true), [&](Status st) {
    if (st.ok()) order.push_back(2);
  });
  t.Set(1, Lk(3, 1, kLockWrite, 5, 20, true), [&](Status st) {
    if (st.ok()) order.push_back(3);
  });
  t.Set(1, Lk(4, 1, kLockRead, 100, 200, true), [&](Status st) {
    if (st.ok()) order.push_back(4);
  });
  CHECK(order.empty());
  // Releasing far away grants only the waiter whose range is now free.
  REQUIRE(SetNow(t, 1, Lk(1, 1, kLockUnlock, 50, kLockEof)) == Code::kOk);
  CHECK(order == std::vector<int>{4});
  REQUIRE(SetNow(t, 1, Lk(1, 1, kLockUnlock, 0, kLockEof)) == Code::kOk);
  CHECK(order == std::vector<int>{4, 2});  // 3 overlaps 2, which came first
  t.ReleaseOwner(1, ClientId(2), 1, false);
  CHECK(order == std::vector<int>{4, 2, 3});
}

TEST_CASE("locks: cancel answers a waiter Interrupted; flock and fcntl locks are separate") {
  LockTable t;
  REQUIRE(SetNow(t, 1, Lk(1, 1, kLockWrite, 0, kLockEof, false, true)) == Code::kOk);
  CHECK(SetNow(t, 1, Lk(2, 1, kLockWrite, 0, kLockEof, false, true)) == Code::kWouldBlock);
  CHECK(SetNow(t, 1, Lk(2, 1, kLockWrite, 0, kLockEof)) == Code::kOk);  // fcntl: no conflict
  std::optional<Code> got;
  t.Set(1, Lk(3, 5, kLockRead, 0, kLockEof, true, true), [&](Status st) { got = st.code(); });
  CHECK_FALSE(got);
  t.Cancel(1, ClientId(3), 5);
  CHECK(got == Code::kInterrupted);
  CHECK(SetNow(t, 1, Lk(1, 1, kLockWrite, 10, 5)) == Code::kInvalid);
}

TEST_CASE("locks: a client whose lease ends loses its locks, and its waiters are answered") {
  LockTable t;
  auto t0 = LockTable::Clock::now();
  REQUIRE(SetNow(t, 1, Lk(1, 1, kLockWrite, 0, kLockEof)) == Code::kOk);
  std::optional<Code> waiter2, waiter3;
  t.Set(1, Lk(2, 1, kLockWrite, 0, kLockEof, true), [&](Status st) { waiter2 = st.code(); });
  t.Set(1, Lk(3, 1, kLockWrite, 0, kLockEof, true), [&](Status st) { waiter3 = st.code(); });
  t.Renew(ClientId(1), t0 - std::chrono::seconds(60));  // client 1 went silent long ago
  t.Renew(ClientId(2), t0 + std::chrono::seconds(60));
  t.Renew(ClientId(3), t0 - std::chrono::seconds(60));
  CHECK(t.Expire(t0) == 2);
  CHECK(waiter3 == Code::kUnavailable);
  CHECK(waiter2 == Code::kOk);
  auto held = t.Held(1);
  REQUIRE(held.size() == 1);
  CHECK(held[0].client == ClientId(2));
  t.DropClient(ClientId(2));
  CHECK(t.Held(1).empty());
}
