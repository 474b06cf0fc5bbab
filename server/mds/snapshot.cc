// The replicated MDS's snapshots: the whole namespace database in one
// checksummed file (NamespaceStore::SaveSnapshot, NamespaceStore::InstallSnapshot).
//
// Format. Integers are little-endian fixed width (common/codec.h); a
// string is u32 length + bytes. Block kinds are never renumbered.
//
//   snapshot := head records* end          (nothing may follow `end`)
//   block    := length u32 | kind u8 | payload | sum u64
//               length = payload bytes; sum = Checksum64 (XXH3-64) of the
//               5 + length bytes before it
//   head     := block(kHead):    magic u32 "AMSN" | version u32 (1) | index u64
//   records  := block(kRecords): (key string | value string)*   (~1 MiB)
//   end      := block(kEnd):     count u64 (records in the file)
//
// Keys appear in LevelDB order; the Raft applied index (kSuperRaftApplied)
// holds the head's index.
#include <fcntl.h>
#include <unistd.h>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <cerrno>
#include <string_view>

#include "common/checksum.h"
#include "common/codec.h"
#include "common/log.h"
#include "server/mds/db_scan.h"
#include "server/mds/keys.h"
#include "server/mds/namespace_store.h"

namespace amlfs::mds {
namespace {

constexpr uint32_t kSnapshotMagic = 0x4e534d41;  // "AMSN" on disk
constexpr uint32_t kSnapshotVersion = 1;
constexpr uint8_t kHead = 1, kRecords = 2, kEnd = 3;
constexpr size_t kBlockTarget = 1 << 20;
constexpr size_t kBlockHeader = 4 + 1;
constexpr size_t kBlockMax = 64u << 20;  // a record may exceed the target, not this

class BlockWriter {
 public:
  BlockWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  Status Put(uint8_t kind, const std::string& payload) {
    std::string b;
    Encoder e(&b);
    e(static_cast<uint32_t>(payload.size()), kind);
    b += payload;
    e(Checksum64(b));
    std::string_view rest = b;
    while (!rest.empty()) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FromErrno(errno, "write " + path_);
      rest.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
};

Status WriteSnapshot(leveldb::DB* db, uint64_t index, int fd, const std::string& path) {
  BlockWriter w(fd, path);
  std::string head;
  Encoder he(&head);
  he(kSnapshotMagic, kSnapshotVersion, index);
  AMLFS_RETURN_IF_ERROR(w.Put(kHead, head));
  const std::string applied_key = SuperKey(kSuperRaftApplied);
  std::string applied_value;
  AppendBe64(&applied_value, index);
  std::string block;
  uint64_t count = 0;
  Status st;
  DbScan it(db);
  for (it->SeekToFirst(); st.ok() && it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    Encoder be(&block);
    be(key, key == applied_key ? applied_value : it->value().ToString());
    ++count;
    if (block.size() >= kBlockTarget) {
      st = w.Put(kRecords, block);
      block.clear();
    }
  }
  if (st.ok() && !it->status().ok())
    st = Error(Code::kIo, "reading the metadata database: " + it->status().ToString());
  AMLFS_RETURN_IF_ERROR(st);
  if (!block.empty()) AMLFS_RETURN_IF_ERROR(w.Put(kRecords, block));
  std::string end;
  Encoder ee(&end);
  ee(count);
  return w.Put(kEnd, end);
}

// Reads the whole snapshot at `path` into `batch` (puts only), checking
// every block; kCorrupt names the byte offset of the first damage.
Status ReadSnapshot(const std::string& path, uint64_t index, leveldb::WriteBatch* batch) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open " + path);
  std::string file;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = FromErrno(errno, "read " + path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    file.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  uint64_t off = 0, count = 0;
  bool head = false, end = false, applied = false;
  const std::string applied_key = SuperKey(kSuperRaftApplied);
  auto corrupt = [&](const std::string& what) {
    return Error(Code::kCorrupt, "metadata snapshot " + path + ": block at byte offset " +
                                     std::to_string(off) + ": " + what);
  };
  while (off < file.size()) {
    if (end) return corrupt("data after the end block");
    const std::string_view rest = std::string_view(file).substr(off);
    if (rest.size() < kBlockHeader + 8) return corrupt("truncated block header");
    uint32_t length = 0;
    uint8_t kind = 0;
    Decoder hd(rest.substr(0, kBlockHeader));
    hd(length, kind);
    if (length > kBlockMax || length > rest.size() - kBlockHeader - 8)
      return corrupt("truncated or oversized block (" + std::to_string(length) + " bytes)");
    uint64_t sum = 0;
    Decoder sd(rest.substr(kBlockHeader + length, 8));
    sd(sum);
    if (Checksum64(rest.data(), kBlockHeader + length) != sum) return corrupt("checksum mismatch");
    Decoder d(rest.substr(kBlockHeader, length));
    if (!head) {
      uint32_t magic = 0, version = 0;
      uint64_t at = 0;
      d(magic, version, at);
      if (kind != kHead || !d.ok() || d.remaining() != 0 || magic != kSnapshotMagic)
        return corrupt("not a metadata snapshot");
      if (version != kSnapshotVersion)
        return corrupt("unknown snapshot version " + std::to_string(version));
      if (at != index)
        return corrupt("holds index " + std::to_string(at) + ", not " + std::to_string(index));
      head = true;
    } else if (kind == kRecords) {
      while (d.ok() && d.remaining() > 0) {
        std::string key, value;
        d(key, value);
        if (!d.ok()) return corrupt("malformed record");
        if (key == applied_key) applied = value.size() == 8 && ReadBe64(value) == index;
        batch->Put(key, value);
        ++count;
      }
    } else if (kind == kEnd) {
      uint64_t want = 0;
      d(want);
      if (!d.ok() || d.remaining() != 0) return corrupt("malformed end block");
      if (want != count)
        return corrupt("holds " + std::to_string(count) + " records, the end block says " +
                       std::to_string(want));
      end = true;
    } else {
      return corrupt("unknown block kind " + std::to_string(kind));
    }
    off += kBlockHeader + length + 8;
  }
  if (!end) return corrupt("the end block is missing (a truncated file)");
  if (!applied)
    return Error(Code::kCorrupt, "metadata snapshot " + path + " does not record log index " +
                                     std::to_string(index) + " as applied");
  return Status::Ok();
}

}  // namespace

Status NamespaceStore::SaveSnapshot(uint64_t index, const std::string& path) {
  if (const uint64_t applied = AppliedIndex(); applied != index)
    return Error(Code::kInternal, "snapshot at " + std::to_string(index) +
                                      " asked of a database at " + std::to_string(applied));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FromErrno(errno, "create " + path);
  Status st = WriteSnapshot(db_.get(), index, fd, path);
  if (::close(fd) != 0 && st.ok()) st = FromErrno(errno, "close " + path);
  return st;
}

Status NamespaceStore::InstallSnapshot(uint64_t index, const std::string& path) {
  leveldb::WriteBatch batch;
  // The current contents go first: the snapshot's puts follow in the same
  // batch, so a key in both ends with the snapshot's value.
  {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(it->key());
    if (!it->status().ok())
      return Error(Code::kIo, "reading the metadata database: " + it->status().ToString());
  }
  AMLFS_RETURN_IF_ERROR(ReadSnapshot(path, index, &batch));
  // One batch is atomic: after a crash the database is wholly the old
  // state or wholly the snapshot's.
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::Status st = db_->Write(wo, &batch);
  if (!st.ok()) return Error(Code::kIo, "installing a metadata snapshot: " + st.ToString());
  AMLFS_LOG(kInfo) << "installed the metadata snapshot at log index " << index << " ("
                   << batch.ApproximateSize() << " bytes)";
  return Status::Ok();
}

}  // namespace amlfs::mds
