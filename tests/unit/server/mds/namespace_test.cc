// Namespace operations against a temporary LevelDB, through the same Mds
// class the service uses.
#include <catch2/catch.hpp>

#include <fcntl.h>

#include "tests/unit/server/mds/mds_test_util.h"

// Names are built with append, not "f" + std::to_string(i): at -O3, GCC 12
// warns (-Wrestrict) about the insert that operator+(const char*, string&&)
// inlines, a false positive (GCC bug 105329).
using namespace amlfs;
using namespace amlfs::mds;

namespace {

Attr Mkdir(Mds& m, Who& w, InodeId parent, const std::string& name, uint32_t mode = 0755) {
  auto r = m.Wait(m.Mkdir(MkdirReq{w.Next(), parent, name, mode}));
  REQUIRE(r.ok());
  return r->attr;
}

Attr Mkfile(Mds& m, Who& w, InodeId parent, const std::string& name, uint32_t mode = 0644) {
  auto r = m.Wait(m.Mknod(MknodReq{w.Next(), parent, name, 0100000 | mode, 0}));
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->attr;
}

Result<EntryRsp> Lookup(Mds& m, Who& w, InodeId parent, const std::string& name) {
  return m.Lookup(LookupReq{w.c, parent, name});
}

Code RenameCode(Mds& m, Who& w, InodeId p, const std::string& a, InodeId np, const std::string& b,
                uint32_t flags = 0) {
  return m.Wait(m.Rename(RenameReq{w.Next(), p, a, np, b, flags})).status().code();
}

}  // namespace

TEST_CASE("create, lookup and unlink a file") {
  TempNamespace ns;
  Who root;
  Attr f = Mkfile(*ns, root, kRootInode, "a");
  CHECK(f.nlink == 1);
  CHECK(Lookup(*ns, root, kRootInode, "a")->attr.ino == f.ino);
  CHECK(ns->Wait(ns->Mknod(MknodReq{root.Next(), kRootInode, "a", 0100644, 0})).status().code() ==
        Code::kExists);
  REQUIRE(ns->Wait(ns->Unlink(UnlinkReq{root.Next(), kRootInode, "a"})).ok());
  CHECK(Lookup(*ns, root, kRootInode, "a").status().code() == Code::kNotFound);
  CHECK(ns->GetAttr(GetAttrReq{root.c, f.ino}).status().code() == Code::kNotFound);
  CHECK(ns->Wait(ns->Unlink(UnlinkReq{root.Next(), kRootInode, "a"})).status().code() ==
        Code::kNotFound);
}

TEST_CASE("names: 255 bytes work, 256 are too long, '/' and empty are invalid") {
  TempNamespace ns;
  Who root;
  Mkfile(*ns, root, kRootInode, std::string(255, 'x'));
  CHECK(ns->Wait(ns->Mknod(MknodReq{root.Next(), kRootInode, std::string(256, 'x'), 0100644, 0}))
            .status()
            .code() == Code::kNameTooLong);
  CHECK(ns->Wait(ns->Mkdir(MkdirReq{root.Next(), kRootInode, "a/b", 0755})).status().code() ==
        Code::kInvalid);
  CHECK(ns->Wait(ns->Mkdir(MkdirReq{root.Next(), kRootInode, "", 0755})).status().code() ==
        Code::kInvalid);
  CHECK(ns->Wait(ns->Mkdir(MkdirReq{root.Next(), kRootInode, "..", 0755})).status().code() ==
        Code::kExists);
}

TEST_CASE("directories: nlink, rmdir of non-empty, unlink of a dir, rmdir of a file") {
  TempNamespace ns;
  Who root;
  Attr d = Mkdir(*ns, root, kRootInode, "d");
  CHECK(d.nlink == 2);
  CHECK(ns->GetAttr(GetAttrReq{root.c, kRootInode})->attr.nlink == 3);
  Mkfile(*ns, root, d.ino, "f");
  CHECK(ns->Wait(ns->Rmdir(RmdirReq{root.Next(), kRootInode, "d"})).status().code() ==
        Code::kNotEmpty);
  CHECK(ns->Wait(ns->Unlink(UnlinkReq{root.Next(), kRootInode, "d"})).status().code() ==
        Code::kIsDir);
  CHECK(ns->Wait(ns->Rmdir(RmdirReq{root.Next(), d.ino, "f"})).status().code() == Code::kNotDir);
  REQUIRE(ns->Wait(ns->Unlink(UnlinkReq{root.Next(), d.ino, "f"})).ok());
  REQUIRE(ns->Wait(ns->Rmdir(RmdirReq{root.Next(), kRootInode, "d"})).ok());
  CHECK(ns->GetAttr(GetAttrReq{root.c, kRootInode})->attr.nlink == 2);
  CHECK(ns->Wait(ns->Mknod(MknodReq{root.Next(), d.ino, "g", 0100644, 0})).status().code() ==
        Code::kNotFound);
}

TEST_CASE("rename: over files, over empty and non-empty dirs, loops, flags") {
  TempNamespace ns;
  Who root;
  Attr a = Mkfile(*ns, root, kRootInode, "a");
  Mkfile(*ns, root, kRootInode, "b");
  Attr d1 = Mkdir(*ns, root, kRootInode, "d1");
  Mkdir(*ns, root, kRootInode, "d2");
  Attr d3 = Mkdir(*ns, root, kRootInode, "d3");
  Mkfile(*ns, root, d3.ino, "x");

  SECTION("a file over a file replaces it") {
    REQUIRE(RenameCode(*ns, root, kRootInode, "a", kRootInode, "b") == Code::kOk);
    CHECK(Lookup(*ns, root, kRootInode, "b")->attr.ino == a.ino);
    CHECK(Lookup(*ns, root, kRootInode, "a").status().code() == Code::kNotFound);
  }
  SECTION("type mismatches") {
    CHECK(RenameCode(*ns, root, kRootInode, "a", kRootInode, "d1") == Code::kIsDir);
    CHECK(RenameCode(*ns, root, kRootInode, "d1", kRootInode, "a") == Code::kNotDir);
  }
  SECTION("a dir over an empty dir, not over a non-empty one") {
    CHECK(RenameCode(*ns, root, kRootInode, "d1", kRootInode, "d2") == Code::kOk);
    CHECK(RenameCode(*ns, root, kRootInode, "d2", kRootInode, "d3") == Code::kNotEmpty);
    CHECK(ns->GetAttr(GetAttrReq{root.c, kRootInode})->attr.nlink == 4);
  }
  SECTION("a dir into its own subtree") {
    Attr sub = Mkdir(*ns, root, d1.ino, "sub");
    CHECK(RenameCode(*ns, root, kRootInode, "d1", sub.ino, "moved") == Code::kInvalid);
    CHECK(RenameCode(*ns, root, kRootInode, "d1", d1.ino, "self") == Code::kInvalid);
  }
  SECTION("moving a dir fixes its parent and both link counts") {
    REQUIRE(RenameCode(*ns, root, kRootInode, "d1", d3.ino, "d1") == Code::kOk);
    CHECK(ns->GetAttr(GetAttrReq{root.c, d3.ino})->attr.nlink == 3);
    CHECK(Lookup(*ns, root, d1.ino, "..")->attr.ino == d3.ino);
  }
  SECTION("RENAME_NOREPLACE") {
    CHECK(RenameCode(*ns, root, kRootInode, "a", kRootInode, "b", kRenameNoReplace) ==
          Code::kExists);
    CHECK(RenameCode(*ns, root, kRootInode, "a", kRootInode, "c", kRenameNoReplace) == Code::kOk);
  }
  SECTION("RENAME_EXCHANGE swaps a file and a dir") {
    REQUIRE(RenameCode(*ns, root, kRootInode, "a", d3.ino, "x", kRenameExchange) == Code::kOk);
    CHECK(Lookup(*ns, root, d3.ino, "x")->attr.ino == a.ino);
    CHECK(RenameCode(*ns, root, kRootInode, "a", kRootInode, "none", kRenameExchange) ==
          Code::kNotFound);
  }
  SECTION("onto another link of the same inode: nothing changes") {
    REQUIRE(ns->Wait(ns->Link(LinkReq{root.Next(), a.ino, kRootInode, "a2"})).ok());
    CHECK(RenameCode(*ns, root, kRootInode, "a", kRootInode, "a2") == Code::kOk);
    CHECK(Lookup(*ns, root, kRootInode, "a").ok());
    CHECK(ns->GetAttr(GetAttrReq{root.c, a.ino})->attr.nlink == 2);
  }
}

TEST_CASE("hard links count, and links to directories are refused") {
  TempNamespace ns;
  Who root;
  Attr f = Mkfile(*ns, root, kRootInode, "f");
  Attr d = Mkdir(*ns, root, kRootInode, "d");
  REQUIRE(ns->Wait(ns->Link(LinkReq{root.Next(), f.ino, d.ino, "g"})).ok());
  CHECK(ns->GetAttr(GetAttrReq{root.c, f.ino})->attr.nlink == 2);
  CHECK(ns->Wait(ns->Link(LinkReq{root.Next(), d.ino, kRootInode, "dl"})).status().code() ==
        Code::kNotPermitted);
  CHECK(ns->Wait(ns->Link(LinkReq{root.Next(), f.ino, d.ino, "g"})).status().code() ==
        Code::kExists);
  REQUIRE(ns->Wait(ns->Unlink(UnlinkReq{root.Next(), kRootInode, "f"})).ok());
  CHECK(ns->GetAttr(GetAttrReq{root.c, f.ino})->attr.nlink == 1);
}

TEST_CASE("symlinks keep their target, and readlink of a file is invalid") {
  TempNamespace ns;
  Who root;
  auto s = ns->Wait(ns->Symlink(SymlinkReq{root.Next(), kRootInode, "s", "some/where"}));
  REQUIRE(s.ok());
  CHECK(ns->Readlink(ReadlinkReq{root.c, s->attr.ino})->target == "some/where");
  CHECK(s->attr.size == 10);
  Attr f = Mkfile(*ns, root, kRootInode, "f");
  CHECK(ns->Readlink(ReadlinkReq{root.c, f.ino}).status().code() == Code::kInvalid);
  CHECK(ns->Wait(ns->Symlink(SymlinkReq{root.Next(), kRootInode, "t", std::string(4096, 'x')}))
            .status()
            .code() == Code::kNameTooLong);
}

TEST_CASE("xattrs: flags, limits, namespaces") {
  TempNamespace ns;
  Who root;
  Attr f = Mkfile(*ns, root, kRootInode, "f");
  REQUIRE(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), f.ino, "user.a", "1", 0})).ok());
  CHECK(ns->GetXattr(GetXattrReq{root.c, f.ino, "user.a"})->value == "1");
  CHECK(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), f.ino, "user.a", "2", 1})).status().code() ==
        Code::kExists);
  CHECK(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), f.ino, "user.b", "2", 2})).status().code() ==
        Code::kNoData);
  CHECK(ns->GetXattr(GetXattrReq{root.c, f.ino, "user.none"}).status().code() == Code::kNoData);
  CHECK(ns->Wait(
              ns->SetXattr(SetXattrReq{root.Next(), f.ino, "user.big", std::string(65537, 'v'), 0}))
            .status()
            .code() == Code::kNotEmptyXattr);
  REQUIRE(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), f.ino, "trusted.t", "t", 0})).ok());
  Who user(1000, 1000);
  CHECK(ns->GetXattr(GetXattrReq{user.c, f.ino, "trusted.t"}).status().code() ==
        Code::kNotPermitted);
  auto list = ns->ListXattr(ListXattrReq{user.c, f.ino});
  // The layout is listed first, as on Lustre.
  CHECK(list->names == std::vector<std::string>{"lustre.lov", "user.a"});
  CHECK(ns->ListXattr(ListXattrReq{root.c, f.ino})->names.size() == 3);
  REQUIRE(ns->Wait(ns->RemoveXattr(RemoveXattrReq{root.Next(), f.ino, "user.a"})).ok());
  CHECK(ns->Wait(ns->RemoveXattr(RemoveXattrReq{root.Next(), f.ino, "user.a"})).status().code() ==
        Code::kNoData);
  auto s = ns->Wait(ns->Symlink(SymlinkReq{root.Next(), kRootInode, "s", "f"}));
  CHECK(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), s->attr.ino, "user.x", "1", 0}))
            .status()
            .code() == Code::kNotPermitted);
}

TEST_CASE("permissions: owner, group, supplementary group, other") {
  TempNamespace ns;
  Who root;
  Attr d = Mkdir(*ns, root, kRootInode, "d", 0777);
  Attr f = Mkfile(*ns, root, d.ino, "f", 0640);
  REQUIRE(
      ns->Wait(ns->SetAttr(SetAttrReq{root.Next(), f.ino, kSetUid | kSetGid, 0, 1000, 2000})).ok());
  Who owner(1000, 1000), member(1001, 3000, {2000}), other(1002, 3000);
  CHECK(ns->Wait(ns->OpenFile(OpenReq{owner.Next(), f.ino, O_RDWR})).ok());
  CHECK(ns->Wait(ns->OpenFile(OpenReq{member.Next(), f.ino, O_RDONLY})).ok());
  CHECK(ns->Wait(ns->OpenFile(OpenReq{member.Next(), f.ino, O_WRONLY})).status().code() ==
        Code::kAccess);
  CHECK(ns->Wait(ns->OpenFile(OpenReq{other.Next(), f.ino, O_RDONLY})).status().code() ==
        Code::kAccess);
  CHECK(ns->Access(AccessReq{other.c, f.ino, 4}).status().code() == Code::kAccess);
  SECTION("only the owner may chmod; only root may give a file away") {
    CHECK(ns->Wait(ns->SetAttr(SetAttrReq{other.Next(), f.ino, kSetMode, 0777})).status().code() ==
          Code::kNotPermitted);
    CHECK(ns->Wait(ns->SetAttr(SetAttrReq{owner.Next(), f.ino, kSetUid, 0, 5})).status().code() ==
          Code::kNotPermitted);
    CHECK(ns->Wait(ns->SetAttr(SetAttrReq{owner.Next(), f.ino, kSetMode, 0600})).ok());
  }
  SECTION("truncate needs write permission unless through an open handle") {
    SetAttrReq t{other.Next(), f.ino, kSetSize};
    CHECK(ns->Wait(ns->SetAttr(t)).status().code() == Code::kAccess);
  }
  SECTION("chown clears set-id bits") {
    REQUIRE(ns->Wait(ns->SetAttr(SetAttrReq{root.Next(), f.ino, kSetMode, 06755})).ok());
    auto r = ns->Wait(ns->SetAttr(SetAttrReq{root.Next(), f.ino, kSetUid, 0, 7}));
    REQUIRE(r.ok());
    CHECK((r->attr.mode & 06000) == 0);
  }
}

TEST_CASE("sticky and setgid directories") {
  TempNamespace ns;
  Who root;
  Attr tmp = Mkdir(*ns, root, kRootInode, "tmp", 01777);
  Who alice(1000, 1000), bob(1001, 1001);
  Attr af = Mkfile(*ns, alice, tmp.ino, "alice");
  (void)af;
  CHECK(ns->Wait(ns->Unlink(UnlinkReq{bob.Next(), tmp.ino, "alice"})).status().code() ==
        Code::kNotPermitted);
  CHECK(RenameCode(*ns, bob, tmp.ino, "alice", tmp.ino, "stolen") == Code::kNotPermitted);
  CHECK(ns->Wait(ns->Unlink(UnlinkReq{alice.Next(), tmp.ino, "alice"})).ok());
  Attr sg = Mkdir(*ns, root, kRootInode, "sg", 02777);
  REQUIRE(ns->Wait(ns->SetAttr(SetAttrReq{root.Next(), sg.ino, kSetGid, 0, 0, 4242})).ok());
  Attr nf = Mkfile(*ns, alice, sg.ino, "f");
  CHECK(nf.gid == 4242);
  Attr nd = Mkdir(*ns, alice, sg.ino, "d");
  CHECK((nd.mode & 02000) != 0);
}

TEST_CASE("a retried mutation gets the recorded reply instead of running twice") {
  TempNamespace ns;
  Who root;
  Caller c = root.Next();
  auto first = ns->Wait(ns->Mknod(MknodReq{c, kRootInode, "f", 0100644, 0}));
  REQUIRE(first.ok());
  auto again = ns->Wait(ns->Mknod(MknodReq{c, kRootInode, "f", 0100644, 0}));
  REQUIRE(again.ok());  // not EEXIST
  CHECK(again->attr.ino == first->attr.ino);
  Caller r = root.Next();
  REQUIRE(ns->Wait(ns->Rename(RenameReq{r, kRootInode, "f", kRootInode, "g", 0})).ok());
  CHECK(ns->Wait(ns->Rename(RenameReq{r, kRootInode, "f", kRootInode, "g", 0})).ok());
  SECTION("also after a restart") {
    ns.Reopen();
    CHECK(ns->Wait(ns->Rename(RenameReq{r, kRootInode, "f", kRootInode, "g", 0})).ok());
    CHECK(Lookup(*ns, root, kRootInode, "g").ok());
  }
}

TEST_CASE("an unlinked open file lives until its last release") {
  TempNamespace ns;
  Who root;
  auto created = ns->Wait(ns->Create(CreateReq{root.Next(), kRootInode, "f", 0644, O_RDWR}));
  REQUIRE(created.ok());
  InodeId ino = created->attr.ino;
  REQUIRE(ns->Wait(ns->Unlink(UnlinkReq{root.Next(), kRootInode, "f"})).ok());
  auto attr = ns->GetAttr(GetAttrReq{root.c, ino});
  REQUIRE(attr.ok());
  CHECK(attr->attr.nlink == 0);
  CHECK(ns->Wait(ns->UpdateSize(UpdateSizeReq{root.Next(), ino, 100, Timespec::Now(), true})).ok());
  REQUIRE(ns->Wait(ns->Release(ReleaseReq{root.Next(), ino, created->handle})).ok());
  CHECK(ns->GetAttr(GetAttrReq{root.c, ino}).status().code() == Code::kNotFound);
  CHECK(ns->DrainDestroyQueue() == 1);  // queued for its OSTs (no OST client here)
}

TEST_CASE("sizes merge as a monotonic max, and truncate sets them exactly") {
  TempNamespace ns;
  Who root;
  Attr f = Mkfile(*ns, root, kRootInode, "f");
  CHECK(ns->Wait(ns->UpdateSize(UpdateSizeReq{root.Next(), f.ino, 500, Timespec::Now(), true}))
            ->attr.size == 500);
  CHECK(ns->Wait(ns->UpdateSize(UpdateSizeReq{root.Next(), f.ino, 300, Timespec::Now(), true}))
            ->attr.size == 500);
  CHECK(ns->Wait(ns->SetAttr(SetAttrReq{root.Next(), f.ino, kSetSize, 0, 0, 0, 10}))->attr.size ==
        10);
}

TEST_CASE("layouts: the fs default, directory templates, the layout xattr") {
  TempNamespace ns;
  Who root;
  auto f = ns->Wait(ns->Create(CreateReq{root.Next(), kRootInode, "f", 0644, O_RDWR}));
  REQUIRE(f.ok());
  REQUIRE(f->layout.comps.size() == 1);
  CHECK(f->layout.comps[0].osts.size() == 2);
  CHECK(f->attr.blksize == (1u << 20));
  Attr d = Mkdir(*ns, root, kRootInode, "wide");
  REQUIRE(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), d.ino, "user.amlfs.layout",
                                            "stripe_count=-1 stripe_size=4M", 0}))
              .ok());
  auto g = ns->Wait(ns->Create(CreateReq{root.Next(), d.ino, "g", 0644, O_RDWR}));
  CHECK(g->layout.comps[0].osts.size() == 4);
  CHECK(g->layout.comps[0].stripe_size == (4u << 20));
  Attr sub = Mkdir(*ns, root, d.ino, "sub");
  // A subdirectory follows its parent's default without a copy of its own.
  CHECK(ns->GetXattr(GetXattrReq{root.c, sub.ino, "lustre.lov"}).status().code() == Code::kNoData);
  auto sub_layout = ns->GetLayout(GetLayoutReq{root.c, sub.ino});
  REQUIRE(sub_layout.ok());
  CHECK(sub_layout->own.IsDefault());
  CHECK(sub_layout->effective.comps.at(0).stripe_count == -1);
  auto h = ns->Wait(ns->Create(CreateReq{root.Next(), sub.ino, "h", 0644, O_RDWR}));
  CHECK(h->layout.comps[0].osts.size() == 4);
  CHECK_THAT(ns->GetXattr(GetXattrReq{root.c, g->attr.ino, "user.amlfs.layout"})->value,
             Catch::Contains("osts="));
  CHECK(ns->Wait(ns->SetXattr(
                     SetXattrReq{root.Next(), d.ino, "user.amlfs.layout", "stripe_size=100000", 0}))
            .status()
            .code() == Code::kInvalid);
  REQUIRE(
      ns->Wait(ns->UpdateSize(UpdateSizeReq{root.Next(), g->attr.ino, 10, Timespec::Now(), true}))
          .ok());
  CHECK(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), g->attr.ino, "user.amlfs.layout",
                                          "stripe_count=1", 0}))
            .status()
            .code() == Code::kBusy);
}

TEST_CASE("lookup, getattr and readdir plus say whether an inode has stored xattrs") {
  TempNamespace ns;
  Who root;
  Attr f = Mkfile(*ns, root, kRootInode, "f");
  Mkfile(*ns, root, kRootInode, "g");
  // The layout xattr is not a stored one: a new file has none.
  CHECK(ns->Lookup(LookupReq{root.c, kRootInode, "f"})->no_xattrs);
  CHECK(ns->GetAttr(GetAttrReq{root.c, f.ino})->no_xattrs);
  REQUIRE(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), f.ino, "security.selinux", "l", 0})).ok());
  CHECK_FALSE(ns->Lookup(LookupReq{root.c, kRootInode, "f"})->no_xattrs);
  CHECK_FALSE(ns->GetAttr(GetAttrReq{root.c, f.ino})->no_xattrs);
  auto page = ns->ReadDir(ReadDirReq{root.c, kRootInode, "", 10, true});
  REQUIRE(page.ok());
  REQUIRE(page->entries.size() == 2);
  CHECK_FALSE(page->entries[0].no_xattrs);  // f
  CHECK(page->entries[1].no_xattrs);        // g
  REQUIRE(ns->Wait(ns->RemoveXattr(RemoveXattrReq{root.Next(), f.ino, "security.selinux"})).ok());
  CHECK(ns->Lookup(LookupReq{root.c, kRootInode, "f"})->no_xattrs);
}

TEST_CASE("readdir pages through entries in name order, with attributes") {
  TempNamespace ns;
  Who root;
  for (int i = 0; i < 25; ++i)
    Mkfile(*ns, root, kRootInode, std::string("f").append(std::to_string(100 + i)));
  std::vector<std::string> names;
  ReadDirReq r{root.c, kRootInode, "", 10, true};
  for (;;) {
    auto page = ns->ReadDir(r);
    REQUIRE(page.ok());
    for (auto& e : page->entries) {
      CHECK(e.attr.ino == e.ino);
      names.push_back(e.name);
    }
    if (page->eof) break;
    r.after = names.back();
  }
  REQUIRE(names.size() == 25);
  CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("everything survives a restart") {
  TempNamespace ns;
  Who root;
  Attr d = Mkdir(*ns, root, kRootInode, "keep");
  Mkfile(*ns, root, d.ino, "f");
  REQUIRE(ns->Wait(ns->SetXattr(SetXattrReq{root.Next(), d.ino, "user.k", "v", 0})).ok());
  ns.Reopen();
  CHECK(Lookup(*ns, root, d.ino, "f").ok());
  CHECK(ns->GetXattr(GetXattrReq{root.c, d.ino, "user.k"})->value == "v");
  // New inode numbers do not reuse old ones.
  Attr g = Mkfile(*ns, root, kRootInode, "g");
  CHECK(g.ino.value() > d.ino.value());
  auto info = ns->FsInfo(FsInfoReq{});
  CHECK(info->osts.size() == 4);
}

TEST_CASE("an OST index cannot be claimed by another data directory") {
  TempNamespace ns;
  OstRegisterReq r;
  r.index = OstIndex(1);
  r.address = "127.0.0.1:1";
  r.ost_uuid = "someone-else";
  CHECK(ns->Wait(ns->OstRegister(r)).status().code() == Code::kExists);
  auto st = ns->StatFs(StatFsReq{});
  CHECK(st->osts_up == 4);
  CHECK(st->total_bytes == 4000);
}

TEST_CASE("layouts: a new file's requested layout, progressive components, OST checks") {
  TempNamespace ns;
  Who root;
  MknodReq mk{root.Next(), kRootInode, "pfl", 0100644, 0, {}};
  mk.layout =
      ParseTemplate("comp_end=1M stripe_count=1 stripe_offset=2 comp_end=EOF stripe_count=-1")
          .value();
  auto made = ns->Wait(ns->Mknod(mk));
  REQUIRE(made.ok());
  auto l = ns->GetLayout(GetLayoutReq{root.c, made->attr.ino});
  REQUIRE(l.ok());
  REQUIRE(l->layout.comps.size() == 2);
  CHECK(l->layout.comps[0].end == (1u << 20));
  CHECK(l->layout.comps[0].osts == std::vector<OstIndex>{OstIndex(2)});
  CHECK(l->layout.comps[1].start == (1u << 20));
  CHECK(l->layout.comps[1].osts.size() == 4);
  CHECK(l->layout.comps[0].id != l->layout.comps[1].id);
  MknodReq bad{root.Next(), kRootInode, "bad", 0100644, 0, {}};
  bad.layout = LayoutTemplate::Plain(1, 0, 9);
  CHECK(ns->Wait(ns->Mknod(bad)).status().code() == Code::kInvalid);
  CHECK(ns->Lookup(LookupReq{root.c, kRootInode, "bad"}).status().code() == Code::kNotFound);
  // A stripe count above the OST count uses every OST.
  MknodReq wide{root.Next(), kRootInode, "wide", 0100644, 0, {}};
  wide.layout = LayoutTemplate::Plain(9, 0);
  auto w = ns->Wait(ns->Mknod(wide));
  REQUIRE(w.ok());
  CHECK(ns->GetLayout(GetLayoutReq{root.c, w->attr.ino})->layout.comps[0].osts.size() == 4);
}

TEST_CASE("layouts: an empty file takes a new layout, a file with data needs a migration") {
  TempNamespace ns;
  Who root, other(0);
  other.c.client = ClientId(4242);
  auto f = ns->Wait(ns->Create(CreateReq{root.Next(), kRootInode, "f", 0644, O_RDWR}));
  REQUIRE(f.ok());
  REQUIRE(ns->Wait(ns->SetLayout(
                       SetLayoutReq{root.Next(), f->attr.ino, LayoutTemplate::Plain(3, 2 << 20)}))
              .ok());
  auto l = ns->GetLayout(GetLayoutReq{root.c, f->attr.ino});
  CHECK(l->layout.comps[0].osts.size() == 3);
  CHECK(l->layout.comps[0].id != f->layout.comps[0].id);  // new objects, never the old ones
  // Open by another client: its handle would keep the old layout.
  auto o = ns->Wait(ns->OpenFile(OpenReq{other.Next(), f->attr.ino, O_RDONLY}));
  REQUIRE(o.ok());
  CHECK(ns->Wait(ns->SetLayout(SetLayoutReq{root.Next(), f->attr.ino, LayoutTemplate::Plain(1, 0)}))
            .status()
            .code() == Code::kBusy);
  REQUIRE(ns->Wait(ns->Release(ReleaseReq{other.Next(), f->attr.ino, o->handle})).ok());
  REQUIRE(
      ns->Wait(ns->UpdateSize(UpdateSizeReq{root.Next(), f->attr.ino, 100, Timespec::Now(), true}))
          .ok());
  CHECK(ns->Wait(ns->SetLayout(SetLayoutReq{root.Next(), f->attr.ino, LayoutTemplate::Plain(1, 0)}))
            .status()
            .code() == Code::kBusy);
}

TEST_CASE("migration: commit swaps the layout, a writer in between makes it fail") {
  TempNamespace ns;
  Who root, other(0);
  other.c.client = ClientId(4242);
  auto f = ns->Wait(ns->Create(CreateReq{root.Next(), kRootInode, "f", 0644, O_RDWR}));
  REQUIRE(f.ok());
  REQUIRE(ns->Wait(ns->Release(ReleaseReq{root.Next(), f->attr.ino, f->handle})).ok());
  REQUIRE(
      ns->Wait(ns->UpdateSize(UpdateSizeReq{root.Next(), f->attr.ino, 100, Timespec::Now(), true}))
          .ok());
  auto b = ns->Wait(ns->MigrateBegin(
      MigrateBeginReq{root.Next(), f->attr.ino, LayoutTemplate::Plain(4, 0), false}));
  REQUIRE(b.ok());
  CHECK(b->new_layout.comps[0].osts.size() == 4);
  CHECK(b->new_layout.generation == b->old_layout.generation + 1);
  MigrateCommitReq c{root.Next(),  f->attr.ino,   b->new_layout, b->token,
                     b->attr.size, b->attr.mtime, false};
  auto done = ns->Wait(ns->MigrateCommit(c));
  REQUIRE(done.ok());
  CHECK(done->attr.ino == f->attr.ino);
  CHECK(ns->GetLayout(GetLayoutReq{root.c, f->attr.ino})->layout.comps[0].osts.size() == 4);
  // Again, with a writer opening the file during the copy.
  auto b2 = ns->Wait(ns->MigrateBegin(
      MigrateBeginReq{root.Next(), f->attr.ino, LayoutTemplate::Plain(1, 0), false}));
  REQUIRE(b2.ok());
  auto w = ns->Wait(ns->OpenFile(OpenReq{other.Next(), f->attr.ino, O_WRONLY}));
  REQUIRE(w.ok());
  REQUIRE(ns->Wait(ns->Release(ReleaseReq{other.Next(), f->attr.ino, w->handle})).ok());
  MigrateCommitReq c2{root.Next(),   f->attr.ino,    b2->new_layout, b2->token,
                      b2->attr.size, b2->attr.mtime, false};
  CHECK(ns->Wait(ns->MigrateCommit(c2)).status().code() == Code::kBusy);
  CHECK(ns->GetLayout(GetLayoutReq{root.c, f->attr.ino})->layout.comps[0].osts.size() == 4);
  // An open writer refuses the migration up front.
  auto w2 = ns->Wait(ns->OpenFile(OpenReq{other.Next(), f->attr.ino, O_RDWR}));
  REQUIRE(w2.ok());
  CHECK(ns->Wait(ns->MigrateBegin(MigrateBeginReq{root.Next(), f->attr.ino, {}, false}))
            .status()
            .code() == Code::kBusy);
}

TEST_CASE("fid2path names the path of a file, for root only") {
  TempNamespace ns;
  Who root, user(1000, 1000);
  Attr a = Mkdir(*ns, root, kRootInode, "a");
  Attr b = Mkdir(*ns, root, a.ino, "b");
  auto f = ns->Wait(ns->Create(CreateReq{root.Next(), b.ino, "f", 0644, O_RDWR}));
  REQUIRE(f.ok());
  CHECK(ns->Fid2Path(Fid2PathReq{root.c, f->attr.ino})->path == "a/b/f");
  REQUIRE(ns->Wait(ns->Rename(RenameReq{root.Next(), b.ino, "f", a.ino, "g", 0})).ok());
  CHECK(ns->Fid2Path(Fid2PathReq{root.c, f->attr.ino})->path == "a/g");
  CHECK(ns->Fid2Path(Fid2PathReq{root.c, kRootInode})->path == "");
  CHECK(ns->Fid2Path(Fid2PathReq{user.c, f->attr.ino}).status().code() == Code::kNotPermitted);
}
