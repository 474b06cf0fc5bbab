#include "server/mds/txn.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <utility>

#include "server/mds/keys.h"

namespace amlfs::mds {

uint64_t PendingChanges::Add(const Changes& changes, std::function<void()> undo) {
  std::lock_guard lk(mu_);
  const uint64_t seq = next_++;
  Open& batch = open_[seq];
  batch.undo = std::move(undo);
  for (const auto& [k, v] : changes) {
    keys_[k] = Value{v, seq};
    batch.keys.push_back(k);
  }
  return seq;
}

void PendingChanges::Done(uint64_t seq, bool committed) {
  std::unique_lock lk(mu_);
  auto it = open_.find(seq);
  if (it == open_.end()) return;
  for (const std::string& k : it->second.keys) {
    auto v = keys_.find(k);
    if (v != keys_.end() && v->second.seq == seq) keys_.erase(v);
  }
  std::function<void()> undo = std::move(it->second.undo);
  open_.erase(it);
  if (!committed) {
    // Later batches were built on this one's changes and fail with it.
    failed_from_ = std::min(failed_from_, seq);
    std::erase_if(keys_, [seq](const auto& kv) { return kv.second.seq >= seq; });
  }
  if (!undo || OutcomeLocked(seq).ok()) undo = nullptr;
  cv_.notify_all();
  // Waiters for batches before the oldest one still open are answered,
  // outside the lock (an answer may take it again).
  const uint64_t open_from = open_.empty() ? UINT64_MAX : open_.begin()->first;
  std::vector<std::pair<std::function<void(Status)>, Status>> ready;
  for (auto w = waiters_.begin(); w != waiters_.end() && w->first < open_from;) {
    ready.emplace_back(std::move(w->second), OutcomeLocked(w->first));
    w = waiters_.erase(w);
  }
  lk.unlock();
  if (undo) undo();  // before the failure is answered
  for (auto& [done, st] : ready) done(st);
}

bool PendingChanges::Find(const std::string& key, std::optional<std::string>* value,
                          uint64_t* seq) const {
  std::lock_guard lk(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return false;
  *value = it->second.value;
  *seq = std::max(*seq, it->second.seq);
  return true;
}

PendingChanges::Changes PendingChanges::Scan(const std::string& prefix, uint64_t* seq) const {
  std::lock_guard lk(mu_);
  Changes out;
  for (auto it = keys_.lower_bound(prefix); it != keys_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out[it->first] = it->second.value;
    *seq = std::max(*seq, it->second.seq);
  }
  return out;
}

Status PendingChanges::Wait(uint64_t seq, std::chrono::milliseconds limit) {
  std::unique_lock lk(mu_);
  const bool done =
      cv_.wait_for(lk, limit, [&] { return open_.empty() || open_.begin()->first > seq; });
  if (!done)
    return Error(Code::kUnavailable, "the metadata log did not commit within " +
                                         std::to_string(limit.count() / 1000) + " s");
  return OutcomeLocked(seq);
}

Status PendingChanges::OutcomeLocked(uint64_t seq) const {
  if (failed_from_ <= seq)
    return Error(Code::kUnavailable, "the metadata leadership changed before the change committed");
  return Status::Ok();
}

void PendingChanges::WhenDone(uint64_t seq, std::function<void(Status)> done) {
  std::unique_lock lk(mu_);
  if (open_.empty() || open_.begin()->first > seq) {
    Status st = OutcomeLocked(seq);
    lk.unlock();
    return done(st);
  }
  waiters_.emplace(seq, std::move(done));
}

void PendingChanges::Reset() {
  std::lock_guard lk(mu_);
  failed_from_ = UINT64_MAX;
}

Result<std::optional<std::string>> Txn::Get(const std::string& key) {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return it->second;
  if (pending_) {
    std::optional<std::string> v;
    if (pending_->Find(key, &v, &read_seq_)) return v;
  }
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
  AMLFS_ASSIGN_OR_RETURN(bool any, AnyWithPrefix(DirPrefix(dir.value())));
  return !any;
}

Result<bool> Txn::HasXattrs(InodeId ino) { return AnyWithPrefix(XattrPrefix(ino.value())); }

Result<bool> Txn::AnyWithPrefix(const std::string& prefix) {
  // Keys added or removed by this Txn first, then by pending batches
  // (scanned before the database: a batch applied meanwhile is in it).
  for (auto it = overlay_.lower_bound(prefix); it != overlay_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (it->second) return true;
  }
  PendingChanges::Changes pending;
  if (pending_) pending = pending_->Scan(prefix, &read_seq_);
  for (const auto& [k, v] : pending)
    if (v && overlay_.count(k) == 0) return true;
  std::unique_ptr<leveldb::Iterator> iter(db_->NewIterator(leveldb::ReadOptions()));
  for (iter->Seek(prefix); iter->Valid() && iter->key().starts_with(prefix); iter->Next()) {
    const std::string k = iter->key().ToString();
    auto o = overlay_.find(k);
    if (o != overlay_.end() && !o->second) continue;  // deleted here
    auto p = pending.find(k);
    if (o == overlay_.end() && p != pending.end() && !p->second)
      continue;  // deleted by a pending batch
    return true;
  }
  if (!iter->status().ok()) return Error(Code::kIo, "metadata read: " + iter->status().ToString());
  return false;
}

std::function<void()> Txn::TakeUndo() {
  if (undo_.empty()) return {};
  return [undo = std::exchange(undo_, {})] {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) (*it)();
  };
}

void Txn::FillBatch(leveldb::WriteBatch* batch) const {
  for (const auto& [k, v] : overlay_) {
    if (v)
      batch->Put(k, *v);
    else
      batch->Delete(k);
  }
}

}  // namespace amlfs::mds
