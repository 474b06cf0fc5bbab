#include "server/mds/mds.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <random>
#include <sstream>

#include "common/checksum.h"
#include "common/client/ost_pool.h"
#include "common/client/striped_io.h"
#include "common/log.h"
#include "server/mds/db_scan.h"
#include "server/mds/keys.h"
#include "server/mds/logged_batch.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

Result<std::unique_ptr<Mds>> Mds::Open(const std::string& dir, MdsConfig config, StripedIo* io,
                                       OstPool* pool, Replicator* replicator) {
  std::unique_ptr<Mds> m(new Mds());
  m->config_ = std::move(config);
  m->io_ = io;
  m->pool_ = pool;
  m->dir_ = dir;
  m->replicator_ = replicator;
  m->leading_ = replicator == nullptr;
  leveldb::Options opts;
  opts.create_if_missing = true;
  leveldb::DB* db = nullptr;
  leveldb::Status st = leveldb::DB::Open(opts, dir + "/db", &db);
  if (!st.ok()) return Error(Code::kIo, "cannot open metadata database: " + st.ToString());
  m->db_.reset(db);
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
  if (!replicator_) {
    std::unique_lock lk(mutate_mu_);
    AMLFS_RETURN_IF_ERROR(CreateIfMissing(lk));
  }
  LoadState();
  return Status::Ok();
}

Status Mds::CreateIfMissing(std::unique_lock<std::mutex>& lk) {
  Txn txn = MutationTxn(Timespec::Now());
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
  AMLFS_RETURN_IF_ERROR(Commit(txn, lk));
  AMLFS_LOG(kInfo) << "created a new file system " << os.str();
  return Status::Ok();
}

// What the MDS keeps in memory, from the database: the file system's id,
// the OST table (marked down until each OST heartbeats) and the orphans an
// earlier run left.
void Mds::LoadState() {
  std::string uuid;
  db_->Get(leveldb::ReadOptions(), SuperKey(kSuperFsUuid), &uuid);
  std::lock_guard lk(state_mu_);
  fs_uuid_ = uuid;
  osts_.clear();
  startup_orphans_.clear();
  started_ = std::chrono::steady_clock::now();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek("T"); it->Valid() && it->key().starts_with("T"); it->Next()) {
    std::string k = it->key().ToString();
    if (k.size() != 5) continue;
    uint32_t index =
        (uint8_t(k[1]) << 24) | (uint8_t(k[2]) << 16) | (uint8_t(k[3]) << 8) | uint8_t(k[4]);
    OstRec rec;
    if (!Decode(it->value().ToString(), &rec).ok()) continue;
    OstState s;
    s.info.index = OstIndex(index);
    s.info.address = rec.address;
    s.uuid = rec.uuid;
    osts_[index] = s;
  }
  for (it->Seek("O"); it->Valid() && it->key().starts_with("O"); it->Next())
    startup_orphans_.push_back(ReadBe64(it->key().ToString().substr(1)));
  if (pool_) pool_->Update(OstsLocked());
}

// ---------------------------------------------------------------- replication

void Mds::ApplyLogged(uint64_t index, const std::string& ops) {
  std::vector<std::string_view> batches;
  if (!ops.empty()) batches.push_back(ops);
  ApplyLogged(index, batches);
}

void Mds::ApplyLogged(uint64_t last, const std::vector<std::string_view>& ops) {
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

Result<std::string> Mds::Digest(const std::string& dir) {
  leveldb::DB* raw = nullptr;
  leveldb::Status st = leveldb::DB::Open(leveldb::Options(), dir + "/db", &raw);
  if (!st.ok()) return Error(Code::kIo, "cannot open metadata database: " + st.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  MdsDigestRsp d = DigestOf(db.get());
  return d.digest + " keys " + std::to_string(d.keys) + " applied " + std::to_string(d.applied);
}

Result<MdsDigestRsp> Mds::DigestNow(const MdsDigestReq&) { return DigestOf(db_.get()); }

uint64_t Mds::AppliedIndex() {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), SuperKey(kSuperRaftApplied), &v).ok() || v.size() != 8)
    return 0;
  return ReadBe64(v);
}

Status Mds::TakeLead() {
  std::unique_lock lk(mutate_mu_);
  pending_.Reset();  // the last leadership's batches have all failed or been applied
  AMLFS_RETURN_IF_ERROR(CreateIfMissing(lk));
  LoadState();
  leading_ = true;
  return Status::Ok();
}

Txn Mds::MutationTxn(Timespec now) {
  return Txn(db_.get(), now, replicator_ ? &pending_ : nullptr);
}

Status Mds::CommitAsync(Txn& txn, uint64_t* seq) {
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
  wo.sync = config_.sync_writes;
  leveldb::Status st = db_->Write(wo, &batch);
  if (!st.ok()) {
    if (auto undo = txn.TakeUndo()) undo();
    return Error(Code::kIo, "metadata write: " + st.ToString());
  }
  return Status::Ok();
}

Status Mds::WaitCommitted(uint64_t seq) {
  if (seq == 0) return Status::Ok();
  return pending_.Wait(seq, std::chrono::seconds(10));
}

void Mds::WhenCommitted(uint64_t seq, std::function<void(Status)> done) {
  if (seq == 0) return done(Status::Ok());
  pending_.WhenDone(seq, std::move(done));
}

Status Mds::Commit(Txn& txn, std::unique_lock<std::mutex>& lk) {
  uint64_t seq = 0;
  Status st = CommitAsync(txn, &seq);
  lk.unlock();
  if (!st.ok()) return st;
  return WaitCommitted(seq);
}

Result<InodeRec> Mds::ReadInode(InodeId ino) {
  Txn txn(db_.get(), Timespec{});
  return txn.Inode(ino);
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

bool Mds::IsFull(const OstInfo& o) {
  if (o.capacity_bytes == 0) return false;  // not reported yet
  return o.avail_bytes < std::max<uint64_t>(o.capacity_bytes / 100, kOstFullBytes);
}

std::vector<OstInfo> Mds::OstsLocked() {
  std::vector<OstInfo> out;
  auto now = std::chrono::steady_clock::now();
  for (auto& [i, s] : osts_) {
    OstInfo info = s.info;
    info.up =
        s.last_seen.time_since_epoch().count() != 0 && now - s.last_seen < config_.ost_timeout;
    out.push_back(info);
  }
  return out;
}

Result<Layout> Mds::NewLayout(const LayoutTemplate& requested, uint32_t first_id) {
  LayoutTemplate t = requested;
  AMLFS_RETURN_IF_ERROR(ValidateTemplate(t));
  if (t.IsDefault()) t = LayoutTemplate::Plain(0, 0);
  std::lock_guard lk(state_mu_);
  std::vector<OstInfo> all = OstsLocked();
  if (all.empty()) return Error(Code::kNoSpace, "no OSTs registered");
  // New files go to OSTs that are up and have room; to full ones only when
  // every OST is full, and to down ones only when none is up.
  std::vector<OstInfo> up, roomy;
  for (auto& o : all) {
    if (!o.up) continue;
    up.push_back(o);
    if (!IsFull(o)) roomy.push_back(o);
  }
  const std::vector<OstInfo>& any = up.empty() ? all : up;
  auto exists = [&](uint32_t idx) {
    return std::any_of(all.begin(), all.end(),
                       [&](const OstInfo& o) { return o.index.value() == idx; });
  };
  Layout l;
  uint64_t start = 0;
  for (size_t ci = 0; ci < t.comps.size(); ++ci) {
    const ComponentTemplate& ct = t.comps[ci];
    LayoutComponent c;
    c.start = start;
    c.end = ct.end;
    c.id = first_id + static_cast<uint32_t>(ci);
    c.stripe_size = ct.stripe_size ? ct.stripe_size : config_.default_stripe_size;
    if (!ct.osts.empty()) {
      for (OstIndex o : ct.osts)
        if (!exists(o.value()))
          return Error(Code::kInvalid,
                       "OST index " + std::to_string(o.value()) + " does not exist");
      c.osts = ct.osts;
    } else {
      // An OST asked for by index is used full or not.
      const std::vector<OstInfo>& cand = ct.stripe_offset >= 0 || roomy.empty() ? any : roomy;
      const size_t n = cand.size();
      int32_t want = ct.stripe_count ? ct.stripe_count : config_.default_stripe_count;
      size_t count = want < 0 ? n : std::min<size_t>(static_cast<size_t>(want), n);
      if (count == 0) count = 1;
      size_t first = rr_next_++ % n;
      if (ct.stripe_offset >= 0) {
        if (!exists(static_cast<uint32_t>(ct.stripe_offset)))
          return Error(Code::kInvalid,
                       "OST index " + std::to_string(ct.stripe_offset) + " does not exist");
        for (size_t i = 0; i < n; ++i)
          if (cand[i].index.value() == static_cast<uint32_t>(ct.stripe_offset)) first = i;
      }
      for (size_t i = 0; i < count; ++i) c.osts.push_back(cand[(first + i) % n].index);
    }
    if (c.end != kLayoutEof && c.end % c.stripe_size != 0)
      return Error(Code::kInvalid, "component end " + std::to_string(c.end) +
                                       " is not a multiple of its stripe size " +
                                       std::to_string(c.stripe_size));
    start = c.end;
    l.comps.push_back(std::move(c));
  }
  AMLFS_RETURN_IF_ERROR(ValidateLayout(l));
  return l;
}

bool Mds::IsOpen(InodeId ino) {
  std::lock_guard lk(state_mu_);
  auto it = open_counts_.find(ino.value());
  return it != open_counts_.end() && it->second > 0;
}

bool Mds::OpenByOthers(InodeId ino, ClientId me, bool writers) {
  std::lock_guard lk(state_mu_);
  for (const auto& [h, o] : handles_)
    if (o.ino == ino.value() && (!writers || o.writer) && (me.value() == 0 || o.client != me))
      return true;
  return false;
}

void Mds::RetireLayout(Txn& txn, InodeId ino, const Layout& layout) {
  if (layout.empty()) return;
  QueueRec q;
  q.ino = ino;
  q.layout = layout;
  for (const auto& c : layout.comps)
    for (auto o : c.osts)
      if (std::find(q.pending.begin(), q.pending.end(), o) == q.pending.end())
        q.pending.push_back(o);
  uint64_t seq = txn.Counter(kSuperNextQueue);
  txn.SetCounter(kSuperNextQueue, seq + 1);
  txn.Put(QueueKey(seq), Encode(q));
}

void Mds::DestroyInode(Txn& txn, const InodeRec& rec) {
  uint64_t ino = rec.attr.ino.value();
  txn.Delete(InodeKey(ino));
  txn.Delete(OrphanKey(ino));
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  std::string px = XattrPrefix(ino);
  for (it->Seek(px); it->Valid() && it->key().starts_with(px); it->Next())
    txn.Delete(it->key().ToString());
  uint64_t used = txn.Counter(kSuperUsedInodes);
  txn.SetCounter(kSuperUsedInodes, used > 0 ? used - 1 : 0);
  if (rec.is_reg()) RetireLayout(txn, rec.attr.ino, rec.layout);
}

size_t Mds::DrainDestroyQueue() {
  std::vector<std::pair<std::string, QueueRec>> entries;
  {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek("Q"); it->Valid() && it->key().starts_with("Q") && entries.size() < 1024;
         it->Next()) {
      QueueRec q;
      if (!Decode(it->value().ToString(), &q).ok()) continue;
      if (IsOpen(q.ino)) continue;  // a migrated file's old objects: readers still use them
      entries.emplace_back(it->key().ToString(), q);
    }
  }
  if (entries.empty() || !io_) return entries.size();
  std::map<uint32_t, bool> up;
  {
    std::lock_guard lk(state_mu_);
    for (auto& o : OstsLocked()) up[o.index.value()] = o.up;
  }
  // One request per OST for every pending entry, all OSTs in parallel, so an
  // OST that hangs does not hold back the others.
  std::map<uint32_t, std::vector<ObjectId>> per_ost;
  for (auto& [key, q] : entries)
    for (OstIndex ost : q.pending) {
      if (!up[ost.value()]) continue;
      for (uint32_t c = 0; c < q.layout.comps.size(); ++c)
        for (uint32_t s = 0; s < q.layout.comps[c].osts.size(); ++s)
          if (q.layout.comps[c].osts[s] == ost)
            per_ost[ost.value()].push_back(ObjectOf(q.ino, q.layout, c, s));
    }
  std::map<uint32_t, std::future<Status>> calls;
  for (auto& [ost, objs] : per_ost)
    calls[ost] = std::async(std::launch::async, [this, ost = ost, &objs = objs] {
      return io_->DestroyOn(OstIndex(ost), objs);
    });
  std::map<uint32_t, bool> done;
  for (auto& [ost, f] : calls) {
    Status st = f.get();
    done[ost] = st.ok();
    if (!st.ok()) AMLFS_LOG(kDebug) << "destroying objects on OST" << ost << ": " << st.ToString();
  }
  size_t left = 0;
  std::unique_lock lk(mutate_mu_);
  Txn txn = MutationTxn(Timespec::Now());
  for (auto& [key, q] : entries) {
    std::vector<OstIndex> still;
    for (OstIndex ost : q.pending)
      if (!done[ost.value()]) still.push_back(ost);
    if (still.empty()) {
      txn.Delete(key);
    } else {
      ++left;
      if (still != q.pending) {
        q.pending = still;
        txn.Put(key, Encode(q));
      }
    }
  }
  if (!txn.empty()) {
    Status st = Commit(txn, lk);
    if (!st.ok()) AMLFS_LOG(kError) << "destroy queue: " << st.ToString();
  }
  return left;
}

void Mds::ReapStartupOrphans() {
  if (startup_orphans_.empty()) return;
  if (std::chrono::steady_clock::now() - started_ < config_.orphan_grace) return;
  std::unique_lock lk(mutate_mu_);
  Txn txn = MutationTxn(Timespec::Now());
  for (uint64_t ino : startup_orphans_) {
    if (IsOpen(InodeId(ino))) continue;
    auto rec = txn.Inode(InodeId(ino));
    if (rec.ok() && rec->attr.nlink == 0)
      DestroyInode(txn, *rec);
    else
      txn.Delete(OrphanKey(ino));
  }
  startup_orphans_.clear();
  Status st = Commit(txn, lk);
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
          NoteDownOsts();
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
