// DbScan: an iterator over one consistent LevelDB snapshot of a database,
// for whole-database scans (digests, snapshot files): it does not fill the
// block cache, and releases the snapshot with the iterator.
#pragma once

#include <leveldb/db.h>

#include <memory>

namespace amlfs::mds {

class DbScan {
 public:
  explicit DbScan(leveldb::DB* db) : db_(db), snap_(db->GetSnapshot()) {
    leveldb::ReadOptions ro;
    ro.snapshot = snap_;
    ro.fill_cache = false;
    it_.reset(db->NewIterator(ro));
  }
  ~DbScan() {
    it_.reset();
    db_->ReleaseSnapshot(snap_);
  }
  DbScan(const DbScan&) = delete;
  DbScan& operator=(const DbScan&) = delete;

  leveldb::Iterator* operator->() const { return it_.get(); }

 private:
  leveldb::DB* db_;
  const leveldb::Snapshot* snap_;
  std::unique_ptr<leveldb::Iterator> it_;
};

}  // namespace amlfs::mds
