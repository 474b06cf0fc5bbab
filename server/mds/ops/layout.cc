// Layouts: a directory's default, an empty file's layout chosen anew,
// migration (restriping a file with data), and fid2path.
#include <leveldb/db.h>

#include "server/mds/keys.h"
#include "server/mds/ops/common.h"

namespace amlfs::mds {

namespace {

uint32_t NextComponentId(const Layout& l) {
  uint32_t next = 0;
  for (const auto& c : l.comps) next = std::max(next, c.id + 1);
  return next;
}

// Does `l` already have exactly the geometry `t` pins?
bool SameGeometry(const Layout& l, const LayoutTemplate& t) {
  if (l.comps.size() != t.comps.size()) return false;
  for (size_t i = 0; i < l.comps.size(); ++i) {
    const auto& c = l.comps[i];
    const auto& ct = t.comps[i];
    if (ct.osts.empty() || c.end != ct.end || c.stripe_size != ct.stripe_size || c.osts != ct.osts)
      return false;
  }
  return true;
}

}  // namespace

Status Mds::SetLayoutLocked(Txn& txn, const Caller& c, InodeRec& rec, const LayoutTemplate& t) {
  LayoutTemplate tmpl = t;
  AMLFS_RETURN_IF_ERROR(ValidateTemplate(tmpl));
  if (rec.is_dir()) {
    if (!IsOwnerOrRoot(c, rec))
      return Error(Code::kNotPermitted, "only the owner may set a directory's default layout");
    if (!tmpl.IsDefault()) AMLFS_RETURN_IF_ERROR(NewLayout(tmpl).status());  // OSTs exist
    rec.has_template = !tmpl.IsDefault();
    rec.tmpl = tmpl;
  } else if (rec.is_reg()) {
    AMLFS_RETURN_IF_ERROR(CheckAccess(c, rec, kMayWrite));
    if (SameGeometry(rec.layout, tmpl)) return Status::Ok();
    if (rec.attr.size != 0) return Error(Code::kBusy, "stripe already set: the file has data");
    if (opens_.OpenByOthers(rec.attr.ino, c.client, false))
      return Error(Code::kBusy, "stripe already set: the file is open on another client");
    LayoutTemplate want = tmpl;
    if (want.IsDefault()) {
      auto parent = ReadInode(rec.parent);
      if (parent.ok()) want = InheritedTemplate(*parent);
    }
    AMLFS_ASSIGN_OR_RETURN(Layout l, NewLayout(want, NextComponentId(rec.layout)));
    l.generation = rec.layout.generation;  // no data was laid out by the old one
    DestroyQueue::Retire(txn, rec.attr.ino, rec.layout);
    rec.layout = std::move(l);
    rec.attr.blksize = BlockSizeOf(rec.layout);
  } else {
    return Error(Code::kInvalid, "layouts apply to regular files and directories");
  }
  rec.attr.ctime = txn.now();
  txn.PutInode(rec);
  return Status::Ok();
}

Result<GetLayoutRsp> Mds::GetLayout(const GetLayoutReq& r) {
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  GetLayoutRsp rsp;
  rsp.attr = rec.attr;
  if (rec.is_reg()) rsp.layout = rec.layout;
  if (rec.is_dir()) {
    if (rec.has_template) rsp.own = rec.tmpl;
    rsp.effective = InheritedTemplate(rec);
    if (rsp.effective.IsDefault()) rsp.effective = LayoutTemplate::Plain(0, 0);
    for (auto& c : rsp.effective.comps) {
      if (c.stripe_count == 0) c.stripe_count = config_.default_stripe_count;
      if (c.stripe_size == 0) c.stripe_size = config_.default_stripe_size;
    }
  }
  return rsp;
}

Committed<AttrRsp> Mds::SetLayout(const SetLayoutReq& r) {
  return Run<AttrRsp>(r.caller, [&](Txn& txn) -> Result<AttrRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    AMLFS_RETURN_IF_ERROR(SetLayoutLocked(txn, r.caller, rec, r.layout));
    return AttrRsp{rec.attr};
  });
}

Committed<MigrateBeginRsp> Mds::MigrateBegin(const MigrateBeginReq& r) {
  return Run<MigrateBeginRsp>(r.caller, [&](Txn& txn) -> Result<MigrateBeginRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    if (!rec.is_reg()) return Error(Code::kInvalid, "only regular files can be migrated");
    AMLFS_RETURN_IF_ERROR(CheckAccess(r.caller, rec, kMayWrite));
    ClientId me = r.ignore_own_opens ? r.caller.client : ClientId(0);
    if (opens_.OpenByOthers(rec.attr.ino, me, true))
      return Error(Code::kBusy, "the file is open for writing");
    LayoutTemplate want = r.layout;
    if (want.IsDefault()) {
      auto parent = ReadInode(rec.parent);
      if (parent.ok()) want = InheritedTemplate(*parent);
    }
    AMLFS_ASSIGN_OR_RETURN(Layout l, NewLayout(want, NextComponentId(rec.layout)));
    l.generation = rec.layout.generation + 1;
    // Until the commit, the new objects are garbage if the migration is
    // abandoned: queue them now (the queue skips files that are open, and
    // the migrator keeps the file open), and drop the entry at commit.
    const uint64_t seq = DestroyQueue::Retire(txn, rec.attr.ino, l);
    MigrateBeginRsp rsp;
    rsp.attr = rec.attr;
    rsp.old_layout = rec.layout;
    rsp.new_layout = l;
    rsp.token = opens_.BeginMigration(rec.attr.ino, l, seq);
    txn.OnFailure(
        [this, ino = rec.attr.ino, token = rsp.token] { opens_.ForgetMigration(ino, token); });
    return rsp;
  });
}

Committed<AttrRsp> Mds::MigrateCommit(const MigrateCommitReq& r) {
  return Run<AttrRsp>(r.caller, [&](Txn& txn) -> Result<AttrRsp> {
    AMLFS_ASSIGN_OR_RETURN(InodeRec rec, txn.Inode(r.ino));
    AMLFS_ASSIGN_OR_RETURN(OpenTable::Migration m, opens_.EndMigration(r.ino, r.token));
    ClientId me = r.ignore_own_opens ? r.caller.client : ClientId(0);
    if (m.dirty || opens_.OpenByOthers(rec.attr.ino, me, true))
      return Error(Code::kBusy, "the file was opened for writing during the migration");
    if (rec.attr.size != r.size || rec.attr.mtime != r.mtime)
      return Error(Code::kBusy, "the file changed during the migration");
    txn.Delete(QueueKey(m.queue_seq));
    DestroyQueue::Retire(txn, rec.attr.ino, rec.layout);
    rec.layout = m.layout;
    rec.attr.blksize = BlockSizeOf(rec.layout);
    rec.attr.ctime = txn.now();
    txn.PutInode(rec);
    return AttrRsp{rec.attr};
  });
}

Result<Fid2PathRsp> Mds::Fid2Path(const Fid2PathReq& r) {
  // Names along another user's path may be private, as on Lustre.
  if (r.caller.uid != 0) return Error(Code::kNotPermitted, "fid2path needs root");
  AMLFS_ASSIGN_OR_RETURN(InodeRec rec, ReadInode(r.ino));
  if (rec.attr.nlink == 0) return Error(Code::kNotFound, "the file has no name left");
  std::string path;
  std::unique_ptr<leveldb::Iterator> it(db()->NewIterator(leveldb::ReadOptions()));
  // The name of `ino` in directory `parent` (0: any directory).
  auto find_name = [&](uint64_t parent, uint64_t ino, uint64_t* found_parent) -> std::string {
    std::string px = parent ? DirPrefix(parent) : std::string("D");
    for (it->Seek(px); it->Valid() && it->key().starts_with(px); it->Next()) {
      DentryRec d;
      if (!Decode(it->value().ToString(), &d).ok() || d.ino.value() != ino) continue;
      std::string key = it->key().ToString();
      // key = 'D' + be64(parent) + name
      uint64_t p = 0;
      for (int i = 1; i <= 8; ++i) p = (p << 8) | static_cast<uint8_t>(key[i]);
      *found_parent = p;
      return key.substr(9);
    }
    return {};
  };
  for (int depth = 0; rec.attr.ino != kRootInode; ++depth) {
    if (depth > 4096) return Error(Code::kIo, "directory loop while building the path");
    uint64_t parent = 0;
    std::string name;
    if (rec.parent.value() != 0)
      name = find_name(rec.parent.value(), rec.attr.ino.value(), &parent);
    if (name.empty()) name = find_name(0, rec.attr.ino.value(), &parent);
    if (name.empty()) return Error(Code::kNotFound, "no path leads to this file");
    path = path.empty() ? name : name + "/" + path;
    AMLFS_ASSIGN_OR_RETURN(rec, ReadInode(InodeId(parent)));
  }
  return Fid2PathRsp{path};
}

}  // namespace amlfs::mds
