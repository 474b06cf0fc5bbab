#include "server/mds/txn.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <memory>

#include "server/mds/keys.h"

namespace amlfs::mds {

Result<std::optional<std::string>> Txn::Get(const std::string& key) {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return it->second;
  std::string value;
  leveldb::Status st = db_->Get(leveldb::ReadOptions(), key, &value);
  if (st.IsNotFound()) return std::optional<std::string>();
  if (!st.ok()) return Error(Code::kIo, "metadata read: " + st.ToString());
  return std::optional<std::string>(std::move(value));
}

Result<InodeRec> Txn::Inode(InodeId ino) {
  AMLFS_ASSIGN_OR_RETURN(auto v, Get(InodeKey(ino.value())));
  if (!v) return Error(Code::kNotFound, "no inode " + std::to_string(ino.value()));
  InodeRec rec;
  Status st = Decode(*v, &rec);
  if (!st.ok()) return Error(Code::kInternal, "corrupt inode " + std::to_string(ino.value()));
  return rec;
}

void Txn::PutInode(const InodeRec& rec) { Put(InodeKey(rec.attr.ino.value()), Encode(rec)); }

Result<std::optional<DentryRec>> Txn::Dentry(InodeId parent, const std::string& name) {
  AMLFS_ASSIGN_OR_RETURN(auto v, Get(DentryKey(parent.value(), name)));
  if (!v) return std::optional<DentryRec>();
  DentryRec d;
  if (!Decode(*v, &d).ok()) return Error(Code::kInternal, "corrupt entry '" + name + "'");
  return std::optional<DentryRec>(d);
}

void Txn::PutDentry(InodeId parent, const std::string& name, const InodeRec& child) {
  DentryRec d;
  d.ino = child.attr.ino;
  d.type = child.type();
  Put(DentryKey(parent.value(), name), Encode(d));
}

void Txn::DeleteDentry(InodeId parent, const std::string& name) {
  Delete(DentryKey(parent.value(), name));
}

uint64_t Txn::Counter(const char* name) {
  auto v = Get(SuperKey(name));
  if (!v.ok() || !*v || (*v)->size() != 8) return 0;
  return ReadBe64(**v);
}

void Txn::SetCounter(const char* name, uint64_t v) {
  std::string s;
  AppendBe64(&s, v);
  Put(SuperKey(name), s);
}

Result<bool> Txn::DirEmpty(InodeId dir) {
  std::string prefix = DirPrefix(dir.value());
  // Entries added or removed by this Txn first.
  for (auto it = overlay_.lower_bound(prefix); it != overlay_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (it->second) return false;
  }
  std::unique_ptr<leveldb::Iterator> iter(db_->NewIterator(leveldb::ReadOptions()));
  for (iter->Seek(prefix); iter->Valid() && iter->key().starts_with(prefix); iter->Next()) {
    auto o = overlay_.find(iter->key().ToString());
    if (o != overlay_.end() && !o->second) continue;  // deleted here
    return false;
  }
  if (!iter->status().ok()) return Error(Code::kIo, "metadata read: " + iter->status().ToString());
  return true;
}

void Txn::FillBatch(leveldb::WriteBatch* batch) const {
  for (const auto& [k, v] : overlay_) {
    if (v) batch->Put(k, *v);
    else batch->Delete(k);
  }
}

}  // namespace amlfs::mds
