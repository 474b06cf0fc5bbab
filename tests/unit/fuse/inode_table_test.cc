// InodeTable: the kernel's lookup counts, sizes this node wrote against the
// MDS's, keep_cache, and whether the kernel may hold stale attributes
// (Shown / KernelAttrsStale, for close-to-open coherence).
#include <catch2/catch.hpp>

#include "fuse/inode_table.h"

using namespace amlfs;
using namespace amlfs::fuse;

namespace {

Attr AttrOf(uint64_t ino, uint64_t size, int64_t mtime_sec) {
  Attr a;
  a.ino = InodeId(ino);
  a.mode = 0100644;
  a.size = size;
  a.mtime = Timespec{mtime_sec, 0};
  return a;
}

// The kernel was shown `a` (as ReplyEntry / ReplyAttr record it).
void Show(InodeTable& t, const Attr& a) { t.Shown(a.ino.value(), a.size, a.mtime); }

}  // namespace

TEST_CASE("an inode is forgotten when the kernel forgets every lookup of it") {
  InodeTable t;
  const Attr a = AttrOf(5, 100, 10);
  t.Lookup(5, 2);
  Show(t, a);
  CHECK_FALSE(t.KernelAttrsStale(a));  // the table remembers what it showed
  t.Forget(5, 1);
  CHECK_FALSE(t.KernelAttrsStale(a));  // one lookup left
  t.Forget(5, 1);
  CHECK(t.KernelAttrsStale(a));  // gone: unknown, so assumed stale

  SECTION("forgetting more than was looked up drops it too") {
    t.Lookup(6);
    Show(t, AttrOf(6, 1, 1));
    t.Forget(6, 10);
    CHECK(t.KernelAttrsStale(AttrOf(6, 1, 1)));
  }
  SECTION("forget of an inode never looked up is harmless") {
    t.Forget(99, 1);
    t.Lookup(99);
    Show(t, AttrOf(99, 1, 1));
    CHECK_FALSE(t.KernelAttrsStale(AttrOf(99, 1, 1)));
  }
}

TEST_CASE("an inode with an unreported size outlives its last forget") {
  InodeTable t;
  t.Lookup(7);
  t.Wrote(7, 4096);
  t.Forget(7, 1);
  auto p = t.TakePending(7);
  REQUIRE(p.has_value());
  CHECK(p->size == 4096);
}

TEST_CASE("what is shown to the kernel is the MDS's attributes with this node's larger size") {
  InodeTable t;
  t.Lookup(8);
  CHECK(t.Merge(AttrOf(8, 100, 50)).size == 100);  // nothing written here
  t.Wrote(8, 5000);
  const Attr m = t.Merge(AttrOf(8, 100, 50));
  CHECK(m.size == 5000);
  CHECK(m.mtime > Timespec{50, 0});                  // the write's time
  CHECK(t.Merge(AttrOf(8, 9000, 50)).size == 9000);  // the MDS knows more
  CHECK(t.KnownSize(8, 100) == 5000);
  CHECK(t.KnownSize(8, 9000) == 9000);
  CHECK(t.KnownSize(123, 77) == 77);  // an inode the table does not hold

  // Once reported, the MDS's size is the truth again for Merge.
  REQUIRE(t.TakePending(8).has_value());
  CHECK(t.Merge(AttrOf(8, 100, 50)).size == 100);
}

TEST_CASE("a pending size is taken once, and a report that failed is put back") {
  InodeTable t;
  CHECK_FALSE(t.TakePending(9).has_value());
  t.Wrote(9, 10);
  t.Wrote(9, 300);
  t.Wrote(9, 20);  // a write below the end does not shrink it
  auto p = t.TakePending(9);
  REQUIRE(p.has_value());
  CHECK(p->size == 300);
  CHECK_FALSE(t.TakePending(9).has_value());
  t.RestorePending(9, *p);
  auto again = t.TakePending(9);
  REQUIRE(again.has_value());
  CHECK(again->size == 300);
  CHECK(again->mtime == p->mtime);
}

TEST_CASE("a truncate sets the size this node knows, even below what it wrote") {
  InodeTable t;
  t.Lookup(10);
  t.Wrote(10, 1 << 20);
  t.Truncated(10, 100);
  CHECK(t.KnownSize(10, 0) == 100);
  t.Wrote(10, 50);
  auto p = t.TakePending(10);
  REQUIRE(p.has_value());
  CHECK(p->size == 100);
}

TEST_CASE("keep_cache holds only while the file's mtime and size are those cached") {
  InodeTable t;
  const Attr a = AttrOf(11, 100, 10);
  CHECK_FALSE(t.KeepCache(a));  // nothing cached yet
  CHECK(t.KeepCache(a));
  CHECK_FALSE(t.KeepCache(AttrOf(11, 100, 11)));  // changed elsewhere
  CHECK(t.KeepCache(AttrOf(11, 100, 11)));
  CHECK_FALSE(t.KeepCache(AttrOf(11, 200, 11)));
  t.Truncated(11, 0);
  CHECK_FALSE(t.KeepCache(AttrOf(11, 200, 11)));  // a truncate drops the cache
}

TEST_CASE("the kernel's attributes are stale when an open learns another size or mtime") {
  InodeTable t;
  t.Lookup(12);
  const Attr shown = AttrOf(12, 100, 10);
  SECTION("never shown: stale") { CHECK(t.KernelAttrsStale(shown)); }
  SECTION("shown and unchanged: not stale, every time") {
    Show(t, shown);
    CHECK_FALSE(t.KernelAttrsStale(shown));
    CHECK_FALSE(t.KernelAttrsStale(shown));
  }
  SECTION("another size: stale, and stale until the kernel is shown attributes again") {
    Show(t, shown);
    const Attr grown = AttrOf(12, 200, 10);
    CHECK(t.KernelAttrsStale(grown));
    CHECK(t.KernelAttrsStale(grown));  // the kernel was told to forget: nothing shown
    Show(t, grown);
    CHECK_FALSE(t.KernelAttrsStale(grown));
  }
  SECTION("another mtime: stale") {
    Show(t, shown);
    CHECK(t.KernelAttrsStale(AttrOf(12, 100, 11)));
  }
  SECTION("this node's unreported writes are part of what was shown") {
    t.Wrote(12, 5000);
    const Attr merged = t.Merge(AttrOf(12, 100, 10));
    Show(t, merged);
    // The MDS still says 100 bytes; merged with the writes it is what the kernel has.
    CHECK_FALSE(t.KernelAttrsStale(AttrOf(12, 100, 10)));
  }
  SECTION("Shown of an inode the kernel does not hold is not recorded") {
    Show(t, AttrOf(13, 1, 1));
    CHECK(t.KernelAttrsStale(AttrOf(13, 1, 1)));
  }
}
