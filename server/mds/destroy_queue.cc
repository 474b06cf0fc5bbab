#include "server/mds/destroy_queue.h"

#include <leveldb/db.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "common/client/striped_io.h"
#include "common/codec.h"
#include "common/log.h"
#include "server/mds/keys.h"
#include "server/mds/namespace_store.h"
#include "server/mds/open_table.h"
#include "server/mds/ost_table.h"

namespace amlfs::mds {

uint64_t DestroyQueue::Retire(Txn& txn, InodeId ino, const Layout& layout) {
  if (layout.empty()) return 0;
  QueueRec q;
  q.ino = ino;
  q.layout = layout;
  for (const auto& c : layout.comps)
    for (auto o : c.osts)
      if (std::find(q.pending.begin(), q.pending.end(), o) == q.pending.end())
        q.pending.push_back(o);
  const uint64_t seq = txn.Counter(kSuperNextQueue);
  txn.SetCounter(kSuperNextQueue, seq + 1);
  txn.Put(QueueKey(seq), Encode(q));
  return seq;
}

size_t DestroyQueue::Drain() {
  std::vector<std::pair<std::string, QueueRec>> entries;
  {
    std::unique_ptr<leveldb::Iterator> it(store_.db()->NewIterator(leveldb::ReadOptions()));
    for (it->Seek(kQueuePrefix);
         it->Valid() && it->key().starts_with(kQueuePrefix) && entries.size() < 1024; it->Next()) {
      QueueRec q;
      if (!Decode(it->value().ToString(), &q).ok()) continue;
      if (opens_.IsOpen(q.ino)) continue;  // a migrated file's old objects: readers still use them
      entries.emplace_back(it->key().ToString(), q);
    }
  }
  if (entries.empty() || !io_) return entries.size();
  std::map<OstIndex, bool> up;
  for (const OstInfo& o : osts_.Snapshot()) up[o.index] = o.up;
  up[kMdtTarget] = true;  // Data-on-MDT objects: this MDS's own
  // One request per OST for every pending entry, all OSTs in parallel, so an
  // OST that hangs does not hold back the others.
  std::map<OstIndex, std::vector<ObjectId>> per_ost;
  for (auto& [key, q] : entries) {
    auto objects = ObjectsByOst(q.ino, q.layout);
    for (OstIndex ost : q.pending) {
      if (!up[ost]) continue;
      auto& to = per_ost[ost];
      to.insert(to.end(), objects[ost].begin(), objects[ost].end());
    }
  }
  std::map<OstIndex, bool> done;
  for (const auto& [ost, st] : io_->DestroyEach(per_ost)) {
    done[ost] = st.ok();
    if (!st.ok())
      AMLFS_LOG(kDebug) << "destroying objects on OST" << ost.value() << ": " << st.ToString();
  }
  size_t left = 0;
  std::unique_lock lk(store_.mutation_mu());
  Txn txn = store_.MutationTxn(Timespec::Now());
  for (auto& [key, q] : entries) {
    std::vector<OstIndex> still;
    for (OstIndex ost : q.pending)
      if (!done[ost]) still.push_back(ost);
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
    Status st = store_.Commit(txn, lk);
    if (!st.ok()) AMLFS_LOG(kError) << "destroy queue: " << st.ToString();
  }
  return left;
}

}  // namespace amlfs::mds
