#include "server/mds/namespace_store.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <cstdio>
#include <cstdlib>

#include "common/checksum.h"
#include "common/log.h"
#include "server/mds/db_scan.h"
#include "server/mds/keys.h"
#include "server/mds/logged_batch.h"

namespace amlfs::mds {

Result<std::unique_ptr<NamespaceStore>> NamespaceStore::Open(const std::string& dir,
                                                             bool sync_writes,
                                                             Replicator* replicator) {
  std::unique_ptr<NamespaceStore> s(new NamespaceStore());
  s->dir_ = dir;
  s->sync_writes_ = sync_writes;
  s->replicator_ = replicator;
  leveldb::Options opts;
  opts.create_if_missing = true;
  leveldb::DB* db = nullptr;
  leveldb::Status st = leveldb::DB::Open(opts, dir + "/db", &db);
  if (!st.ok()) return Error(Code::kIo, "cannot open metadata database: " + st.ToString());
  s->db_.reset(db);
  return s;
}

NamespaceStore::~NamespaceStore() = default;

Txn NamespaceStore::MutationTxn(Timespec now) {
  return Txn(db_.get(), now, replicator_ ? &pending_ : nullptr);
}

Status NamespaceStore::CommitAsync(Txn& txn, uint64_t* seq) {
  *seq = 0;
  if (replicator_) {
    std::string logged = EncodeBatch(LoggedBatch::Of(txn.changes()));
    // Pending before it is proposed: the next mutation may read it at once.
    *seq = pending_.Add(txn.changes(), txn.TakeUndo());
    replicator_->Replicate(std::move(logged),
                           [this, s = *seq](Status st) { pending_.Done(s, st.ok()); });
    return Status::Ok();
  }
  leveldb::WriteBatch batch;
  txn.FillBatch(&batch);
  leveldb::WriteOptions wo;
  wo.sync = sync_writes_;
  leveldb::Status st = db_->Write(wo, &batch);
  if (!st.ok()) {
    if (auto undo = txn.TakeUndo()) undo();
    return Error(Code::kIo, "metadata write: " + st.ToString());
  }
  return Status::Ok();
}

Status NamespaceStore::Commit(Txn& txn, std::unique_lock<std::mutex>& lk) {
  uint64_t seq = 0;
  Status st = CommitAsync(txn, &seq);
  lk.unlock();
  if (!st.ok()) return st;
  return WaitCommitted(seq);
}

Status NamespaceStore::WaitCommitted(uint64_t seq) {
  if (seq == 0) return Status::Ok();
  return pending_.Wait(seq, std::chrono::seconds(10));
}

void NamespaceStore::WhenCommitted(uint64_t seq, std::function<void(Status)> done) {
  if (seq == 0) return done(Status::Ok());
  pending_.WhenDone(seq, std::move(done));
}

void NamespaceStore::ResetPending() { pending_.Reset(); }

void NamespaceStore::ApplyLogged(uint64_t last, const std::vector<std::string_view>& ops) {
  leveldb::WriteBatch batch;
  for (std::string_view one : ops) {
    LoggedBatch b;
    if (Status st = DecodeBatch(one, &b); !st.ok()) {
      AMLFS_LOG(kError) << "a log entry up to " << last << " is not a metadata batch ("
                        << st.ToString() << "); skipped";
      continue;
    }
    for (const LoggedOp& op : b.ops) {
      if (op.put)
        batch.Put(op.key, op.value);
      else
        batch.Delete(op.key);
    }
  }
  std::string be;
  AppendBe64(&be, last);
  batch.Put(SuperKey(kSuperRaftApplied), be);
  // Unsynced: the log is the durable record, and re-applying it after a
  // crash writes the same values again.
  leveldb::Status st = db_->Write(leveldb::WriteOptions(), &batch);
  if (!st.ok()) {
    AMLFS_LOG(kError) << "cannot apply log entries up to " << last << ": " << st.ToString();
    std::abort();  // a replica that cannot apply must not go on answering
  }
}

uint64_t NamespaceStore::AppliedIndex() {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), SuperKey(kSuperRaftApplied), &v).ok() || v.size() != 8)
    return 0;
  return ReadBe64(v);
}

Result<InodeRec> NamespaceStore::ReadInode(InodeId ino) {
  Txn txn(db_.get(), Timespec{});
  return txn.Inode(ino);
}

namespace {
// Every key and value but the applied index, in key order, chained through
// one hash; read from one LevelDB snapshot, so consistent with the applied
// index it holds.
MdsDigestRsp DigestOf(leveldb::DB* db) {
  DbScan it(db);
  const std::string applied_key = SuperKey(kSuperRaftApplied);
  MdsDigestRsp out;
  uint64_t h = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() == applied_key) {
      if (it->value().size() == 8) out.applied = ReadBe64(it->value().ToString());
      continue;
    }
    std::string rec(reinterpret_cast<const char*>(&h), sizeof(h));
    rec += std::to_string(it->key().size()) + ":" + it->key().ToString() + it->value().ToString();
    h = Checksum64(rec);
    ++out.keys;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  out.digest = hex;
  return out;
}
}  // namespace

MdsDigestRsp NamespaceStore::DigestNow() { return DigestOf(db_.get()); }

Result<std::string> NamespaceStore::Digest(const std::string& dir) {
  leveldb::DB* raw = nullptr;
  leveldb::Status st = leveldb::DB::Open(leveldb::Options(), dir + "/db", &raw);
  if (!st.ok()) return Error(Code::kIo, "cannot open metadata database: " + st.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  MdsDigestRsp d = DigestOf(db.get());
  return d.digest + " keys " + std::to_string(d.keys) + " applied " + std::to_string(d.applied);
}

}  // namespace amlfs::mds
