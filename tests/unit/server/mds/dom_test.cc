// Data-on-MDT: layouts with an MDT component, and the MDT serving that
// component's object, through the same Mds methods the service calls.
#include <catch2/catch.hpp>

#include "common/checksum.h"
#include "common/layout.h"
#include "tests/unit/server/mds/mds_test_util.h"

using namespace amlfs;
using namespace amlfs::mds;

namespace {

ObjWriteReq WriteOf(const ObjectId& o, uint64_t off, std::string data) {
  ObjWriteReq w;
  w.object = o;
  w.offset = off;
  w.checksum = Checksum64(data);
  w.data = std::move(data);
  return w;
}

std::string ReadAll(Mds& m, const ObjectId& o) {
  auto r = m.ObjRead(ObjReadReq{o, 0, 1 << 30, {}});
  REQUIRE(r.ok());
  CHECK(r->checksum == Checksum64(r->data));
  return r->data;
}

}  // namespace

TEST_CASE("layout text: an MDT component formats as pattern=mdt and parses back") {
  auto t = ParseTemplate("comp_end=64K pattern=mdt comp_end=EOF stripe_count=2");
  REQUIRE(t.ok());
  REQUIRE(t->comps.size() == 2);
  CHECK(t->comps[0].on_mdt());
  CHECK(t->comps[0].end == 65536);
  CHECK_FALSE(t->comps[1].on_mdt());
  auto back = ParseTemplate(FormatTemplate(*t));
  REQUIRE(back.ok());
  CHECK(back->comps[0].on_mdt());
  CHECK(FormatTemplate(*t).find("pattern=mdt") != std::string::npos);
  // Only first, never alone or last, within 1 GiB, on 64 KiB boundaries.
  CHECK_FALSE(ParseTemplate("comp_end=1M c=1 comp_end=2M pattern=mdt comp_end=EOF").ok());
  CHECK_FALSE(ParseTemplate("comp_end=EOF pattern=mdt").ok());
  CHECK_FALSE(ParseTemplate("comp_end=2G pattern=mdt comp_end=EOF").ok());
  CHECK_FALSE(ParseTemplate("comp_end=100000 pattern=mdt comp_end=EOF").ok());
  CHECK_FALSE(ParseTemplate("comp_end=64K pattern=raid5 comp_end=EOF").ok());
  // A file's layout text round-trips to the same MDT component.
  Layout l;
  l.comps.push_back(LayoutComponent{0, 65536, 65536, {kMdtTarget}, 0});
  l.comps.push_back(LayoutComponent{65536, kLayoutEof, 1 << 20, {OstIndex(1)}, 1});
  REQUIRE(ValidateLayout(l).ok());
  auto pinned = ParseTemplate(FormatLayout(l));
  REQUIRE(pinned.ok());
  CHECK(pinned->comps[0].on_mdt());
  CHECK(pinned->comps[1].osts == std::vector<OstIndex>{OstIndex(1)});
  // The MDT is never one OST among others, nor a later component.
  Layout mixed = l;
  mixed.comps[1].osts = {OstIndex(0), kMdtTarget};
  CHECK_FALSE(ValidateLayout(mixed).ok());
  Layout late = l;
  std::swap(late.comps[0].osts, late.comps[1].osts);
  CHECK_FALSE(ValidateLayout(late).ok());
}

TEST_CASE("the MDT stores its component's object: write, read, truncate, destroy") {
  TempNamespace ns;
  Who root;
  MknodReq mk{root.Next(), kRootInode, "small", 0100644, 0, {}};
  mk.layout = ParseTemplate("comp_end=4M pattern=mdt comp_end=EOF stripe_count=1").value();
  auto made = ns->Wait(ns->Mknod(mk));
  REQUIRE(made.ok());
  auto l = ns->GetLayout(GetLayoutReq{root.c, made->attr.ino});
  REQUIRE(l.ok());
  const LayoutComponent& mdt = l->layout.comps[0];
  REQUIRE(mdt.on_mdt());
  // Capped at the MDS's limit (MdsConfig::dom_max, 1 MiB by default).
  CHECK(mdt.end == (1u << 20));
  CHECK(mdt.stripe_size == mdt.end);
  CHECK(l->layout.comps[1].start == mdt.end);
  const ObjectId obj{made->attr.ino.value(), mdt.id, 0};

  CHECK(ReadAll(*ns, obj).empty());  // a missing object reads as empty
  REQUIRE(ns->Wait(ns->ObjWrite(WriteOf(obj, 10, "hello"))).ok());
  REQUIRE(ns->Wait(ns->ObjWrite(WriteOf(obj, 0, "ab"))).ok());
  CHECK(ReadAll(*ns, obj) == std::string("ab") + std::string(8, '\0') + "hello");
  // The writes grew the file: its size is where the object ends.
  CHECK(ns->GetAttr(GetAttrReq{root.c, made->attr.ino})->attr.size == 15);
  REQUIRE(ns->Wait(ns->ObjFallocate(ObjFallocateReq{obj, 0, 20})).ok());
  CHECK(ns->GetAttr(GetAttrReq{root.c, made->attr.ino})->attr.size == 20);
  CHECK(ns->Wait(ns->ObjFallocate(ObjFallocateReq{obj, mdt.end, 1})).status().code() ==
        Code::kTooBig);
  auto part = ns->ObjRead(ObjReadReq{obj, 11, 3, {}});
  REQUIRE(part.ok());
  CHECK(part->data == "ell");
  auto ext = ns->ObjExtents(ObjExtentsReq{obj});
  REQUIRE(ext.ok());
  CHECK(ext->size == 15);

  // Refused: a bad checksum, bytes past the component, an object no layout names.
  ObjWriteReq bad = WriteOf(obj, 0, "xyz");
  bad.checksum ^= 1;
  CHECK(ns->Wait(ns->ObjWrite(bad)).status().code() == Code::kCorrupt);
  CHECK(ns->Wait(ns->ObjWrite(WriteOf(obj, mdt.end - 2, "xyz"))).status().code() == Code::kTooBig);
  CHECK(ns->Wait(ns->ObjWrite(WriteOf(ObjectId{obj.ino, l->layout.comps[1].id, 0}, 0, "x")))
            .status()
            .code() == Code::kNotFound);
  CHECK(ns->Wait(ns->ObjWrite(WriteOf(ObjectId{999999, 0, 0}, 0, "x"))).status().code() ==
        Code::kNotFound);
  CHECK(ReadAll(*ns, obj).size() == 15);

  // Truncate cuts (growing leaves the record: the rest reads as zeros).
  REQUIRE(ns->Wait(ns->ObjTruncate(ObjTruncateReq{obj, 4})).ok());
  CHECK(ReadAll(*ns, obj) == std::string("ab\0\0", 4));
  REQUIRE(ns->Wait(ns->ObjTruncate(ObjTruncateReq{obj, 100})).ok());
  CHECK(ReadAll(*ns, obj).size() == 4);
  CHECK(ns->ObjSync(ObjSyncReq{{obj}}).ok());

  // The object survives a restart, and goes with ObjDestroy.
  ns.Reopen();
  CHECK(ReadAll(*ns, obj) == std::string("ab\0\0", 4));
  REQUIRE(ns->Wait(ns->ObjDestroy(ObjDestroyReq{{obj}})).ok());
  CHECK(ReadAll(*ns, obj).empty());
}

TEST_CASE("the MDT refuses object writes that would leave less than mdt_reserve free") {
  TempNamespace ns;
  Who root;
  MknodReq mk{root.Next(), kRootInode, "f", 0100644, 0, {}};
  mk.layout = ParseTemplate("comp_end=64K pattern=mdt comp_end=EOF").value();
  auto made = ns->Wait(ns->Mknod(mk));
  REQUIRE(made.ok());
  auto l = ns->GetLayout(GetLayoutReq{root.c, made->attr.ino});
  REQUIRE(l.ok());
  const ObjectId obj{made->attr.ino.value(), l->layout.comps[0].id, 0};
  REQUIRE(ns->Wait(ns->ObjWrite(WriteOf(obj, 0, "fits"))).ok());
  MdsConfig full;
  full.default_stripe_count = 2;
  full.mdt_reserve = ~uint64_t{0} / 2;
  ns.Reopen(full);
  auto st = ns->Wait(ns->ObjWrite(WriteOf(obj, 0, "more")));
  CHECK(st.status().code() == Code::kNoSpace);
  CHECK(ns->Wait(ns->ObjFallocate(ObjFallocateReq{obj, 0, 10})).status().code() == Code::kNoSpace);
  CHECK(ReadAll(*ns, obj) == "fits");
}
