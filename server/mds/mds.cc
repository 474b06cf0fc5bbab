#include "server/mds/mds.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "common/log.h"
#include "server/mds/keys.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

Result<std::unique_ptr<Mds>> Mds::Open(const std::string& dir, MdsConfig config, StripedIo* io,
                                       OstPool* pool, Replicator* replicator) {
  std::unique_ptr<Mds> m(new Mds());
  m->config_ = std::move(config);
  m->io_ = io;
  m->leading_ = replicator == nullptr;
  AMLFS_ASSIGN_OR_RETURN(m->store_, NamespaceStore::Open(dir, m->config_.sync_writes, replicator));
  m->osts_ = std::make_unique<OstTable>(
      m->config_.ost_timeout,
      OstTable::Defaults{m->config_.default_stripe_count, m->config_.default_stripe_size,
                         m->config_.dom_max},
      pool);
  m->queue_ = std::make_unique<DestroyQueue>(*m->store_, m->opens_, *m->osts_, io);
  AMLFS_RETURN_IF_ERROR(m->Init());
  return m;
}

Mds::~Mds() {
  {
    std::lock_guard lk(worker_mu_);
    stopping_ = true;
  }
  worker_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Status Mds::Init() {
  // A replica learns the file system from the log: the first leader makes it.
  if (!store_->replicated()) {
    std::unique_lock lk(store_->mutation_mu());
    AMLFS_RETURN_IF_ERROR(CreateIfMissing(lk));
  }
  LoadState();
  return Status::Ok();
}

Status Mds::CreateIfMissing(std::unique_lock<std::mutex>& lk) {
  Txn txn = store_->MutationTxn(Timespec::Now());
  AMLFS_ASSIGN_OR_RETURN(auto uuid, txn.Get(SuperKey(kSuperFsUuid)));
  if (uuid) return Status::Ok();
  // First start: the root directory and the counters.
  std::random_device rd;
  std::ostringstream os;
  os << std::hex << rd() << rd() << rd() << rd();
  txn.Put(SuperKey(kSuperFsUuid), os.str());
  InodeRec root;
  root.attr.ino = kRootInode;
  root.attr.mode = 0040755;
  root.attr.nlink = 2;
  root.attr.atime = root.attr.mtime = root.attr.ctime = txn.now();
  root.attr.blksize = 4096;
  root.parent = kRootInode;
  txn.PutInode(root);
  txn.SetCounter(kSuperNextIno, kRootInode.value() + 1);
  txn.SetCounter(kSuperUsedInodes, 1);
  txn.SetCounter(kSuperNextQueue, 1);
  AMLFS_RETURN_IF_ERROR(store_->Commit(txn, lk));
  AMLFS_LOG(kInfo) << "created a new file system " << os.str();
  return Status::Ok();
}

// What the MDS keeps in memory, from the database: the file system's id,
// the OST table (marked down until each OST heartbeats) and the orphans an
// earlier run left.
void Mds::LoadState() {
  std::string uuid;
  db()->Get(leveldb::ReadOptions(), SuperKey(kSuperFsUuid), &uuid);
  std::map<uint32_t, OstRec> recorded;
  std::vector<uint64_t> orphans;
  std::unique_ptr<leveldb::Iterator> it(db()->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(kOstPrefix); it->Valid() && it->key().starts_with(kOstPrefix); it->Next()) {
    if (it->key().size() != kOstKeySize) continue;
    OstRec rec;
    if (!Decode(it->value().ToString(), &rec).ok()) continue;
    recorded[ReadBe32(std::string_view(it->key().data() + 1, 4))] = rec;
  }
  for (it->Seek(kOrphanPrefix); it->Valid() && it->key().starts_with(kOrphanPrefix); it->Next())
    if (it->key().size() == kOrphanKeySize)
      orphans.push_back(ReadBe64(std::string_view(it->key().data() + 1, 8)));
  osts_->Load(recorded);
  std::lock_guard lk(state_mu_);
  fs_uuid_ = uuid;
  startup_orphans_ = std::move(orphans);
  started_ = std::chrono::steady_clock::now();
}

// ---------------------------------------------------------------- replication

void Mds::ApplyLogged(uint64_t index, const std::string& ops) {
  std::vector<std::string_view> batches;
  if (!ops.empty()) batches.push_back(ops);
  store_->ApplyLogged(index, batches);
}

void Mds::ApplyLogged(uint64_t last, const std::vector<std::string_view>& ops) {
  store_->ApplyLogged(last, ops);
}

Result<std::string> Mds::Digest(const std::string& dir) { return NamespaceStore::Digest(dir); }

Result<MdsDigestRsp> Mds::DigestNow(const MdsDigestReq&) { return store_->DigestNow(); }

Status Mds::TakeLead() {
  std::unique_lock lk(store_->mutation_mu());
  store_->ResetPending();  // the last leadership's batches have all failed or been applied
  AMLFS_RETURN_IF_ERROR(CreateIfMissing(lk));
  LoadState();
  leading_ = true;
  return Status::Ok();
}

LayoutTemplate Mds::InheritedTemplate(const InodeRec& dir) {
  InodeRec rec = dir;
  for (int depth = 0; depth < 4096; ++depth) {
    if (rec.has_template && !rec.tmpl.IsDefault()) return rec.tmpl;
    if (rec.attr.ino == kRootInode || rec.parent.value() == 0) break;
    auto up = ReadInode(rec.parent);
    if (!up.ok()) break;
    rec = std::move(*up);
  }
  return LayoutTemplate{};
}

void Mds::DestroyInode(Txn& txn, const InodeRec& rec) {
  uint64_t ino = rec.attr.ino.value();
  txn.Delete(InodeKey(ino));
  txn.Delete(OrphanKey(ino));
  std::unique_ptr<leveldb::Iterator> it(db()->NewIterator(leveldb::ReadOptions()));
  std::string px = XattrPrefix(ino);
  for (it->Seek(px); it->Valid() && it->key().starts_with(px); it->Next())
    txn.Delete(it->key().ToString());
  uint64_t used = txn.Counter(kSuperUsedInodes);
  txn.SetCounter(kSuperUsedInodes, used > 0 ? used - 1 : 0);
  if (rec.is_reg()) DestroyQueue::Retire(txn, rec.attr.ino, rec.layout);
}

size_t Mds::DrainDestroyQueue() { return queue_->Drain(); }

void Mds::ReapStartupOrphans() {
  std::vector<uint64_t> orphans;
  {
    std::lock_guard lk(state_mu_);
    if (startup_orphans_.empty()) return;
    if (std::chrono::steady_clock::now() - started_ < config_.orphan_grace) return;
    orphans.swap(startup_orphans_);
  }
  std::unique_lock lk(store_->mutation_mu());
  Txn txn = store_->MutationTxn(Timespec::Now());
  for (uint64_t ino : orphans) {
    if (IsOpen(InodeId(ino))) continue;
    auto rec = txn.Inode(InodeId(ino));
    if (rec.ok() && rec->attr.nlink == 0)
      DestroyInode(txn, *rec);
    else
      txn.Delete(OrphanKey(ino));
  }
  Status st = store_->Commit(txn, lk);
  if (!st.ok()) AMLFS_LOG(kError) << "orphan cleanup: " << st.ToString();
}

void Mds::StartBackground() {
  worker_ = std::thread([this] {
    std::unique_lock lk(worker_mu_);
    while (!stopping_) {
      lk.unlock();
      // A follower only applies the log: the leader does this work.
      if (leading_) {
        try {
          ReapStartupOrphans();
          DrainDestroyQueue();
          osts_->NoteDown();
          if (size_t n = locks_.Expire(std::chrono::steady_clock::now() - config_.lock_lease))
            AMLFS_LOG(kWarn)
                << n << " client(s) stopped renewing their lock lease: their locks are released";
        } catch (const std::exception& e) {
          AMLFS_LOG(kError) << "background worker: " << e.what();
        }
      }
      lk.lock();
      worker_cv_.wait_for(lk, std::chrono::seconds(1), [this] { return stopping_; });
    }
  });
}

}  // namespace amlfs::mds
