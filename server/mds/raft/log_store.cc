#include "server/mds/raft/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>

#include "common/checksum.h"
#include "common/codec.h"
#include "common/log.h"

// On-disk format. Integers are little-endian fixed width (common/codec.h);
// nothing is padded or aligned. Magic numbers and entry types are never
// renumbered.
//
//   hardstate := term u64 | vote u32 | sum u32          (exactly 16 bytes)
//                sum = Checksum32 (XXH32) of the 12 bytes before it
//
//   log       := [compacted] entry*
//   record    := header payload
//   header    := magic u32 | length u32 | payload_sum u64 | header_sum u32
//                payload_sum = Checksum64 (XXH3-64) of the `length` payload bytes
//                header_sum  = Checksum32 (XXH32) of the 16 header bytes before it
//   compacted := header(kCompactedMagic) | index u64 | term u64 | config
//                only as the first record: the entries up to `index` were
//                compacted away and entry `index` had term `term`; config
//                is the rest of the payload (length - 16 bytes, possibly
//                none): the configuration as of `index` (an encoded
//                Membership, types.h)
//   entry     := header(kEntryMagic) | term u64 | index u64 | type u8 | data
//                data is the rest of the payload (length - 17 bytes); the
//                first entry's index is compacted.index + 1 (1 without a
//                compacted record), each next one is the previous + 1
//
// Both files are replaced atomically (temp file, fsync, rename, fsync dir);
// the log also grows by appends and shrinks by ftruncate at a record start.
// At Open, a record whose header or payload runs past the end of the file
// is a torn, never-acknowledged append and is cut off; any other damage is
// kCorrupt and leaves the files untouched.

namespace amlfs::raft {
namespace {

constexpr uint32_t kEntryMagic = 0x454c5241;      // "ARLE" on disk
constexpr uint32_t kCompactedMagic = 0x434c5241;  // "ARLC" on disk
constexpr size_t kHeaderSize = 4 + 4 + 8 + 4;
constexpr size_t kEntryFixedSize = 8 + 8 + 1;
constexpr size_t kCompactedSize = 8 + 8;
constexpr size_t kHardStateSize = 8 + 4 + 4;
constexpr size_t kMaxData = std::numeric_limits<uint32_t>::max() - kEntryFixedSize;
constexpr char kLogName[] = "log";
constexpr char kHardStateName[] = "hardstate";
constexpr char kTmpSuffix[] = ".tmp";

std::string Join(const std::string& dir, const char* name) { return dir + "/" + name; }

Status PwriteAll(int fd, std::string_view buf, uint64_t off, const std::string& path) {
  while (!buf.empty()) {
    ssize_t n = ::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "write " + path);
    }
    buf.remove_prefix(static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Result<std::string> ReadAll(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return FromErrno(errno, "stat " + path);
  std::string buf(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

// fdatasync also makes a changed file size durable, which is all appends and
// truncations need; the name of a new file is made durable by SyncDir.
Status SyncData(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return FromErrno(errno, "fsync " + path);
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open directory " + dir);
  Status st;
  if (::fsync(fd) != 0) st = FromErrno(errno, "fsync directory " + dir);
  ::close(fd);
  return st;
}

std::string ParentOf(const std::string& dir) {
  std::filesystem::path p(dir);
  if (!p.has_filename()) p = p.parent_path();  // "a/b/" -> "a/b"
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

// Writes `contents` as dir/name atomically and returns an open read-write
// descriptor of the new file.
Result<int> ReplaceFile(const std::string& dir, const char* name, std::string_view contents) {
  const std::string path = Join(dir, name);
  const std::string tmp = path + kTmpSuffix;
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FromErrno(errno, "create " + tmp);
  Status st = PwriteAll(fd, contents, 0, tmp);
  if (st.ok()) st = SyncData(fd, tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = FromErrno(errno, "rename " + tmp);
  if (st.ok()) st = SyncDir(dir);
  if (!st.ok()) {
    ::close(fd);
    return st;
  }
  return fd;
}

// Appends one record; `put_payload` encodes the payload at the end of *out.
template <typename F>
void PutRecord(std::string* out, uint32_t magic, F&& put_payload) {
  const size_t start = out->size();
  out->append(kHeaderSize, '\0');
  put_payload(Encoder(out));
  const size_t length = out->size() - start - kHeaderSize;
  std::string header;
  Encoder h(&header);
  h(magic, static_cast<uint32_t>(length), Checksum64(out->data() + start + kHeaderSize, length));
  h(Checksum32(header.data(), header.size()));
  std::memcpy(out->data() + start, header.data(), kHeaderSize);
}

void PutEntry(std::string* out, const Entry& e) {
  PutRecord(out, kEntryMagic, [&](Encoder enc) {
    enc(e.term, e.index, e.type);
    enc.PutRaw(e.data.data(), e.data.size());
  });
}

void PutCompacted(std::string* out, Index index, Term term, const std::string& config) {
  PutRecord(out, kCompactedMagic, [&](Encoder enc) {
    enc(index, term);
    enc.PutRaw(config.data(), config.size());
  });
}

struct ParsedLog {
  Index compacted_index = 0;
  Term compacted_term = 0;
  std::string compacted_config;
  std::vector<Entry> entries;
  std::vector<uint64_t> offsets;
  uint64_t end = 0;  // end of the last whole record
};

Status ParseLog(const std::string& path, std::string_view file, ParsedLog* out) {
  uint64_t off = 0;
  while (off < file.size()) {
    const Index want = out->compacted_index + out->entries.size() + 1;
    auto corrupt = [&](const std::string& what) {
      return Error(Code::kCorrupt, "raft log " + path + ": record at byte offset " +
                                       std::to_string(off) + " (expected index " +
                                       std::to_string(want) + "): " + what);
    };
    const std::string_view rest = file.substr(off);
    if (rest.size() < kHeaderSize) break;  // torn header
    uint32_t magic = 0, length = 0, header_sum = 0;
    uint64_t payload_sum = 0;
    Decoder h(rest.substr(0, kHeaderSize));
    h(magic, length, payload_sum, header_sum);
    if (Checksum32(rest.data(), kHeaderSize - 4) != header_sum) {
      return corrupt("header checksum mismatch");
    }
    if (length > rest.size() - kHeaderSize) break;  // torn payload
    const std::string_view payload = rest.substr(kHeaderSize, length);
    if (Checksum64(payload) != payload_sum) return corrupt("payload checksum mismatch");
    Decoder d(payload);
    if (magic == kCompactedMagic) {
      if (off != 0 || length < kCompactedSize) {
        return corrupt("misplaced or malformed compaction record");
      }
      d(out->compacted_index, out->compacted_term);
      out->compacted_config.assign(payload.substr(kCompactedSize));
    } else if (magic == kEntryMagic) {
      if (length < kEntryFixedSize) return corrupt("entry payload too short");
      Entry e;
      d(e.term, e.index, e.type);
      if (e.index != want) return corrupt("holds index " + std::to_string(e.index));
      if (static_cast<uint8_t>(e.type) > static_cast<uint8_t>(EntryType::kConfig)) {
        return corrupt("unknown entry type " + std::to_string(static_cast<unsigned>(e.type)));
      }
      e.data.assign(payload.substr(kEntryFixedSize));
      out->entries.push_back(std::move(e));
      out->offsets.push_back(off);
    } else {
      return corrupt("unknown record magic");
    }
    off += kHeaderSize + length;
  }
  out->end = off;
  return Status::Ok();
}

Status LoadHardState(const std::string& dir, HardState* hs) {
  const std::string path = Join(dir, kHardStateName);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : FromErrno(errno, "raft store: open " + path);
  Result<std::string> buf = ReadAll(fd, path);
  ::close(fd);
  if (!buf.ok()) return buf.status();
  const std::string& b = buf.value();
  const Status corrupt = Error(Code::kCorrupt, "raft hard state " + path + ": bad length (" +
                                                   std::to_string(b.size()) + ") or checksum");
  if (b.size() != kHardStateSize) return corrupt;
  uint32_t sum = 0;
  Decoder d(b);
  d(hs->term, hs->vote, sum);
  if (Checksum32(b.data(), kHardStateSize - 4) != sum) return corrupt;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LogStore>> LogStore::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) {
    AMLFS_RETURN_IF_ERROR(SyncDir(ParentOf(dir)));
  } else if (errno != EEXIST) {
    return FromErrno(errno, "raft store: create directory " + dir);
  }
  HardState hs;
  AMLFS_RETURN_IF_ERROR(LoadHardState(dir, &hs));

  const std::string path = Join(dir, kLogName);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    created = true;
  }
  if (fd < 0) return FromErrno(errno, "raft store: open " + path);
  std::unique_ptr<LogStore> store(new LogStore(dir, fd));
  if (created) AMLFS_RETURN_IF_ERROR(SyncDir(dir));

  AMLFS_ASSIGN_OR_RETURN(std::string file, ReadAll(fd, path));
  ParsedLog log;
  AMLFS_RETURN_IF_ERROR(ParseLog(path, file, &log));
  if (log.end < file.size()) {
    AMLFS_LOG(kWarn) << "raft log " << path << ": dropping a torn record at byte offset " << log.end
                     << " (" << file.size() - log.end << " bytes, index "
                     << log.compacted_index + log.entries.size() + 1
                     << "): an append that was never acknowledged";
    if (::ftruncate(fd, static_cast<off_t>(log.end)) != 0) {
      return FromErrno(errno, "truncate " + path);
    }
    AMLFS_RETURN_IF_ERROR(SyncData(fd, path));
  }
  // Leftovers of a replacement that crashed before its rename.
  ::unlink((path + kTmpSuffix).c_str());
  ::unlink((Join(dir, kHardStateName) + kTmpSuffix).c_str());

  store->hard_state_ = hs;
  store->compacted_index_ = log.compacted_index;
  store->compacted_term_ = log.compacted_term;
  store->compacted_config_ = std::move(log.compacted_config);
  store->entries_ = std::move(log.entries);
  store->offsets_ = std::move(log.offsets);
  store->end_ = log.end;
  return store;
}

LogStore::~LogStore() {
  if (fd_ >= 0) ::close(fd_);
}

Status LogStore::Fail(Status st) {
  failed_ = st;
  return st;
}

Term LogStore::term_at(Index i) const {
  if (i == compacted_index_) return compacted_term_;  // 0 for i == 0 before any compaction
  if (i < first_index() || i > last_index()) return 0;
  return entries_[i - first_index()].term;
}

const Entry& LogStore::at(Index i) const {
  assert(i >= first_index() && i <= last_index());
  return entries_[i - first_index()];
}

Status LogStore::SaveHardState(const HardState& hs) {
  if (!failed_.ok()) return failed_;
  std::string buf;
  Encoder e(&buf);
  e(hs.term, hs.vote);
  e(Checksum32(buf.data(), buf.size()));
  Result<int> fd = ReplaceFile(dir_, kHardStateName, buf);
  if (!fd.ok()) return Fail(fd.status());
  ::close(fd.value());
  hard_state_ = hs;
  return Status::Ok();
}

Status LogStore::Append(const std::vector<Entry>& entries) {
  if (!failed_.ok()) return failed_;
  size_t bytes = 0;
  Index want = last_index() + 1;
  for (const Entry& e : entries) {
    if (e.index != want) {
      return Error(Code::kInvalid, "raft log append: entry index " + std::to_string(e.index) +
                                       " where " + std::to_string(want) + " was expected");
    }
    if (e.data.size() > kMaxData) {
      return Error(Code::kTooBig, "raft log append: entry " + std::to_string(e.index) +
                                      " too large (" + std::to_string(e.data.size()) + " bytes)");
    }
    bytes += kHeaderSize + kEntryFixedSize + e.data.size();
    ++want;
  }
  if (entries.empty()) return Status::Ok();

  std::string buf;
  buf.reserve(bytes);
  std::vector<uint64_t> offsets;
  offsets.reserve(entries.size());
  for (const Entry& e : entries) {
    offsets.push_back(end_ + buf.size());
    PutEntry(&buf, e);
  }
  const std::string path = Join(dir_, kLogName);
  Status st = PwriteAll(fd_, buf, end_, path);
  if (st.ok()) st = SyncData(fd_, path);
  if (!st.ok()) return Fail(st);
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  offsets_.insert(offsets_.end(), offsets.begin(), offsets.end());
  end_ += buf.size();
  return Status::Ok();
}

Status LogStore::TruncateFrom(Index index) {
  if (!failed_.ok()) return failed_;
  if (index < first_index()) {
    return Error(Code::kInvalid, "raft log truncate from " + std::to_string(index) +
                                     ": before the first kept index " +
                                     std::to_string(first_index()));
  }
  if (index > last_index()) return Status::Ok();
  const size_t keep = index - first_index();
  const uint64_t off = offsets_[keep];
  const std::string path = Join(dir_, kLogName);
  if (::ftruncate(fd_, static_cast<off_t>(off)) != 0) {
    return Fail(FromErrno(errno, "truncate " + path));
  }
  if (Status st = SyncData(fd_, path); !st.ok()) return Fail(st);
  entries_.resize(keep);
  offsets_.resize(keep);
  end_ = off;
  return Status::Ok();
}

Status LogStore::CompactTo(Index index, Term term, std::string config) {
  if (!failed_.ok()) return failed_;
  if (index < first_index()) return Status::Ok();
  // Entries after `index` survive only if they extend the same history.
  const bool keep_tail = index <= last_index() && term_at(index) == term;
  std::string buf;
  PutCompacted(&buf, index, term, config);
  std::vector<uint64_t> offsets;
  if (keep_tail) {
    for (Index i = index + 1; i <= last_index(); ++i) {
      offsets.push_back(buf.size());
      PutEntry(&buf, at(i));
    }
  }
  Result<int> fd = ReplaceFile(dir_, kLogName, buf);
  if (!fd.ok()) return Fail(fd.status());
  ::close(fd_);
  fd_ = fd.value();
  if (keep_tail) {
    entries_.erase(entries_.begin(),
                   entries_.begin() + static_cast<ptrdiff_t>(index - compacted_index_));
  } else {
    entries_.clear();
  }
  offsets_ = std::move(offsets);
  compacted_index_ = index;
  compacted_term_ = term;
  compacted_config_ = std::move(config);
  end_ = buf.size();
  return Status::Ok();
}

}  // namespace amlfs::raft
