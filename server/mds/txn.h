// Txn: the changes of one mutation, buffered as a key -> value overlay over
// the database and committed as one leveldb::WriteBatch. Reads through the
// Txn see its own earlier writes, so an operation may read, change and
// re-read the same inode (rename within one directory) safely.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "server/mds/records.h"

namespace leveldb { class DB; class WriteBatch; }

namespace amlfs::mds {

class Txn {
 public:
  Txn(leveldb::DB* db, Timespec now) : db_(db), now_(now) {}

  const Timespec& now() const { return now_; }

  Result<std::optional<std::string>> Get(const std::string& key);
  void Put(const std::string& key, std::string value) { overlay_[key] = std::move(value); }
  void Delete(const std::string& key) { overlay_[key] = std::nullopt; }

  // Typed helpers.
  Result<InodeRec> Inode(InodeId ino);  // kNotFound if missing
  void PutInode(const InodeRec& rec);
  Result<std::optional<DentryRec>> Dentry(InodeId parent, const std::string& name);
  void PutDentry(InodeId parent, const std::string& name, const InodeRec& child);
  void DeleteDentry(InodeId parent, const std::string& name);
  uint64_t Counter(const char* name);  // current value of a superblock counter
  void SetCounter(const char* name, uint64_t v);
  // True when the directory has no entry (considering this Txn's changes).
  Result<bool> DirEmpty(InodeId dir);

  void FillBatch(leveldb::WriteBatch* batch) const;
  // The changes: key -> new value, or nullopt for a deletion.
  const std::map<std::string, std::optional<std::string>>& changes() const { return overlay_; }
  bool empty() const { return overlay_.empty(); }

 private:
  leveldb::DB* db_;
  Timespec now_;
  std::map<std::string, std::optional<std::string>> overlay_;
};

}  // namespace amlfs::mds
