#include "server/ost/object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "common/checksum.h"
#include "common/log.h"
#include "common/metrics.h"

namespace amlfs {
namespace {

constexpr uint64_t kB = kChecksumBlock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void Reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

Status PreadFull(int fd, char* buf, uint64_t len, uint64_t off, uint64_t* got) {
  *got = 0;
  while (*got < len) {
    ssize_t n = ::pread(fd, buf + *got, len - *got, static_cast<off_t>(off + *got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "pread");
    }
    if (n == 0) break;
    *got += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status PwriteFull(int fd, const char* buf, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "pwrite");
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

uint64_t FileSize(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

// "<ino>.<comp>.<stripe>" (no ".sum"): the object it names.
bool ParseObjName(const char* name, ObjectId* o) {
  unsigned long long ino = 0;
  unsigned comp = 0, stripe = 0;
  int end = 0;
  if (name[0] < '0' || name[0] > '9') return false;
  if (std::sscanf(name, "%llu.%u.%u%n", &ino, &comp, &stripe, &end) != 3 || name[end] != '\0')
    return false;
  *o = ObjectId{ino, comp, stripe};
  return true;
}

std::string ObjName(const ObjectId& o) {
  return std::to_string(o.ino) + "." + std::to_string(o.comp) + "." + std::to_string(o.stripe);
}

}  // namespace

ObjectStore::ObjectStore(std::string dir, uint32_t ost_index)
    : dir_(std::move(dir)), index_(ost_index) {
  ::mkdir((dir_ + "/objects").c_str(), 0700);
}

std::string ObjectStore::DataPath(const ObjectId& obj) const {
  char hh[3];
  std::snprintf(hh, sizeof(hh), "%02x",
                static_cast<unsigned>((obj.ino * 0x9E3779B97F4A7C15ULL) >> 56));
  return dir_ + "/objects/" + hh + "/" + ObjName(obj);
}

std::shared_mutex& ObjectStore::LockFor(const ObjectId& obj) {
  uint64_t h = (obj.ino * 0x9E3779B97F4A7C15ULL) ^ (obj.comp * 31 + obj.stripe);
  return locks_[(h >> 32) % locks_.size()];
}

Status ObjectStore::RehashBlocks(int fd, int sum_fd, uint64_t size, uint64_t first, uint64_t last) {
  std::string buf(kB, '\0');
  for (uint64_t b = first; b <= last; ++b) {
    uint64_t start = b * kB;
    uint64_t sum = 0;
    if (start < size) {
      uint64_t len = std::min(kB, size - start), got = 0;
      AMLFS_RETURN_IF_ERROR(PreadFull(fd, buf.data(), len, start, &got));
      std::memset(buf.data() + got, 0, len - got);
      sum = AllZero(buf.data(), len) ? 0 : Checksum64(buf.data(), len);
    }
    AMLFS_RETURN_IF_ERROR(PwriteFull(sum_fd, reinterpret_cast<const char*>(&sum), 8, b * 8));
  }
  return Status::Ok();
}

namespace {
metrics::Counter& ChecksumErrors() {
  static metrics::Counter& c = metrics::Default().GetCounter(
      "amlfs_ost_checksum_errors_total",
      "Blocks whose checksum did not match: written payloads and stored data.");
  return c;
}
}  // namespace

Status ObjectStore::Write(const ObjectId& obj, uint64_t offset, std::string_view data,
                          uint64_t checksum, bool sync) {
  if (Checksum64(data) != checksum) {
    ChecksumErrors().Add();
    AMLFS_LOG(kError) << "OST" << index_ << " object " << ObjName(obj) << " offset " << offset
                      << ": payload checksum mismatch on write";
    return Error(Code::kCorrupt, "write payload checksum mismatch");
  }
  if (data.empty()) return Status::Ok();
  if (offset > (1ull << 62) || data.size() > (1ull << 32))
    return Error(Code::kTooBig, "offset out of range");
  std::unique_lock lk(LockFor(obj));
  std::string path = DataPath(obj);
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.ok() && errno == ENOENT) {
    ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
    fd.Reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  }
  if (!fd.ok()) return FromErrno(errno, "open " + ObjName(obj));
  Fd sfd(::open((path + ".sum").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!sfd.ok()) return FromErrno(errno, "open sums of " + ObjName(obj));

  const uint64_t old_size = FileSize(fd.get());
  const uint64_t end = offset + data.size();
  const uint64_t new_size = std::max(old_size, end);
  AMLFS_RETURN_IF_ERROR(PwriteFull(fd.get(), data.data(), data.size(), offset));

  // Checksums of whole blocks come straight from the payload; partial blocks
  // (and the old last block, which now reaches further) are rehashed from disk.
  const uint64_t first = offset / kB, last = (end - 1) / kB;
  std::vector<uint64_t> sums(last - first + 1);
  std::vector<uint64_t> partial;
  for (uint64_t b = first; b <= last; ++b) {
    uint64_t bs = b * kB, be = std::min((b + 1) * kB, new_size);
    if (bs >= offset && be <= end) {
      const char* p = data.data() + (bs - offset);
      sums[b - first] = AllZero(p, be - bs) ? 0 : Checksum64(p, be - bs);
    } else {
      partial.push_back(b);
    }
  }
  AMLFS_RETURN_IF_ERROR(PwriteFull(sfd.get(), reinterpret_cast<const char*>(sums.data()),
                                   sums.size() * 8, first * 8));
  for (uint64_t b : partial)
    AMLFS_RETURN_IF_ERROR(RehashBlocks(fd.get(), sfd.get(), new_size, b, b));
  if (old_size % kB != 0 && (old_size - 1) / kB < first)
    AMLFS_RETURN_IF_ERROR(
        RehashBlocks(fd.get(), sfd.get(), new_size, (old_size - 1) / kB, (old_size - 1) / kB));
  if (sync) {
    if (::fdatasync(fd.get()) != 0) return FromErrno(errno, "fsync " + ObjName(obj));
    if (::fdatasync(sfd.get()) != 0) return FromErrno(errno, "fsync sums " + ObjName(obj));
  }
  return Status::Ok();
}

Result<std::string> ObjectStore::Read(const ObjectId& obj, uint64_t offset, uint64_t length) {
  std::string out;
  AMLFS_RETURN_IF_ERROR(ReadAppend(obj, offset, length, &out));
  return out;
}

Status ObjectStore::ReadAppend(const ObjectId& obj, uint64_t offset, uint64_t length,
                               std::string* out) {
  std::shared_lock lk(LockFor(obj));
  std::string path = DataPath(obj);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOENT) return Status::Ok();
    return FromErrno(errno, "open " + ObjName(obj));
  }
  const uint64_t size = FileSize(fd.get());
  if (offset >= size || length == 0) return Status::Ok();
  const uint64_t end = std::min(size, offset + std::min<uint64_t>(length, 1ull << 32));
  const uint64_t first = offset / kB, last = (end - 1) / kB;
  const uint64_t span_start = first * kB, span_end = std::min((last + 1) * kB, size);
  // Whole checksum blocks are read (and verified) straight into `out`; the
  // bytes before `offset` are dropped after.
  const size_t base = out->size();
  out->resize(base + (span_end - span_start));
  struct Shrink {  // on an error, `out` is as it was
    std::string* out;
    size_t base;
    bool keep = false;
    ~Shrink() {
      if (!keep) out->resize(base);
    }
  } shrink{out, base};
  std::string_view buf(out->data() + base, span_end - span_start);
  uint64_t got = 0;
  AMLFS_RETURN_IF_ERROR(PreadFull(fd.get(), out->data() + base, buf.size(), span_start, &got));
  std::vector<uint64_t> sums(last - first + 1, 0);
  Fd sfd(::open((path + ".sum").c_str(), O_RDONLY | O_CLOEXEC));
  if (sfd.ok()) {
    uint64_t sgot = 0;
    AMLFS_RETURN_IF_ERROR(PreadFull(sfd.get(), reinterpret_cast<char*>(sums.data()),
                                    sums.size() * 8, first * 8, &sgot));
  }
  for (uint64_t b = first; b <= last; ++b) {
    uint64_t bs = b * kB - span_start;
    uint64_t bl = std::min(kB, buf.size() - bs);
    const char* p = buf.data() + bs;
    uint64_t want = sums[b - first];
    bool good = want == 0 ? AllZero(p, bl) : Checksum64(p, bl) == want;
    if (!good) {
      ChecksumErrors().Add();
      AMLFS_LOG(kError) << "checksum mismatch: OST" << index_ << " object " << ObjName(obj)
                        << " offset " << b * kB << " (" << bl << " bytes)";
      return Error(Code::kCorrupt, "checksum mismatch on OST" + std::to_string(index_) +
                                       " object " + ObjName(obj) + " offset " +
                                       std::to_string(b * kB));
    }
  }
  if (offset > span_start)
    std::memmove(out->data() + base, out->data() + base + (offset - span_start), end - offset);
  out->resize(base + (end - offset));
  shrink.keep = true;
  return Status::Ok();
}

Status ObjectStore::Truncate(const ObjectId& obj, uint64_t size) {
  std::unique_lock lk(LockFor(obj));
  std::string path = DataPath(obj);
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno != ENOENT) return FromErrno(errno, "open " + ObjName(obj));
    if (size == 0) return Status::Ok();
    ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
    fd.Reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.ok()) return FromErrno(errno, "create " + ObjName(obj));
  }
  Fd sfd(::open((path + ".sum").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!sfd.ok()) return FromErrno(errno, "open sums of " + ObjName(obj));
  uint64_t old_size = FileSize(fd.get());
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return FromErrno(errno, "truncate");
  uint64_t blocks = (size + kB - 1) / kB;
  if (::ftruncate(sfd.get(), static_cast<off_t>(blocks * 8)) != 0)
    return FromErrno(errno, "truncate sums");
  if (size > 0)
    AMLFS_RETURN_IF_ERROR(
        RehashBlocks(fd.get(), sfd.get(), size, (size - 1) / kB, (size - 1) / kB));
  if (old_size > 0 && old_size < size && old_size % kB != 0)
    AMLFS_RETURN_IF_ERROR(
        RehashBlocks(fd.get(), sfd.get(), size, (old_size - 1) / kB, (old_size - 1) / kB));
  return Status::Ok();
}

Status ObjectStore::Sync(const ObjectId& obj) {
  std::shared_lock lk(LockFor(obj));
  std::string path = DataPath(obj);
  for (const std::string& p : {path, path + ".sum"}) {
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) continue;
    if (::fsync(fd.get()) != 0) return FromErrno(errno, "fsync " + ObjName(obj));
  }
  return Status::Ok();
}

Status ObjectStore::Destroy(const ObjectId& obj) {
  std::unique_lock lk(LockFor(obj));
  std::string path = DataPath(obj);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return FromErrno(errno, "unlink " + ObjName(obj));
  if (::unlink((path + ".sum").c_str()) != 0 && errno != ENOENT)
    return FromErrno(errno, "unlink sums " + ObjName(obj));
  return Status::Ok();
}

Result<ObjExtentsRsp> ObjectStore::Extents(const ObjectId& obj) {
  std::shared_lock lk(LockFor(obj));
  ObjExtentsRsp rsp;
  Fd fd(::open(DataPath(obj).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOENT) return rsp;
    return FromErrno(errno, "open " + ObjName(obj));
  }
  rsp.size = FileSize(fd.get());
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < rsp.size && rsp.extents.size() < 100000) {
    off_t data = ::lseek(fd.get(), pos, SEEK_DATA);
    if (data < 0) break;
    off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(rsp.size);
    rsp.extents.push_back(Extent{static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)});
    pos = hole;
  }
  return rsp;
}

Status ObjectStore::Fallocate(const ObjectId& obj, uint64_t offset, uint64_t length) {
  if (length == 0) return Error(Code::kInvalid, "fallocate of 0 bytes");
  std::unique_lock lk(LockFor(obj));
  std::string path = DataPath(obj);
  ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.ok()) return FromErrno(errno, "open " + ObjName(obj));
  Fd sfd(::open((path + ".sum").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!sfd.ok()) return FromErrno(errno, "open sums of " + ObjName(obj));
  uint64_t old_size = FileSize(fd.get());
  if (::fallocate(fd.get(), 0, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0)
    return FromErrno(errno, "fallocate " + ObjName(obj));
  uint64_t new_size = FileSize(fd.get());
  if (old_size % kB != 0 && new_size > old_size)
    AMLFS_RETURN_IF_ERROR(
        RehashBlocks(fd.get(), sfd.get(), new_size, (old_size - 1) / kB, (old_size - 1) / kB));
  return Status::Ok();
}

Result<OstStatFsRsp> ObjectStore::StatFs() {
  struct statvfs sv;
  if (::statvfs(dir_.c_str(), &sv) != 0) return FromErrno(errno, "statvfs " + dir_);
  OstStatFsRsp rsp;
  rsp.capacity_bytes = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize;
  rsp.free_bytes = static_cast<uint64_t>(sv.f_bfree) * sv.f_frsize;
  rsp.avail_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
  rsp.total_inodes = sv.f_files;
  rsp.free_inodes = sv.f_ffree;
  return rsp;
}

Result<ObjListRsp> ObjectStore::List(const ObjectId* after, uint32_t max) {
  std::vector<ObjEntry> found;
  const std::string root = dir_ + "/objects";
  std::unique_ptr<DIR, int (*)(DIR*)> top(::opendir(root.c_str()), ::closedir);
  if (!top) return FromErrno(errno, "opendir " + root);
  while (dirent* sub = ::readdir(top.get())) {
    if (sub->d_name[0] == '.') continue;
    const std::string subdir = root + "/" + sub->d_name;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(subdir.c_str()), ::closedir);
    if (!d) continue;
    while (dirent* e = ::readdir(d.get())) {
      ObjEntry entry;
      if (!ParseObjName(e->d_name, &entry.object)) continue;  // ".", "..", sums
      if (after && !(*after < entry.object)) continue;
      struct stat st;
      if (::stat((subdir + "/" + e->d_name).c_str(), &st) != 0) continue;  // just removed
      entry.size = static_cast<uint64_t>(st.st_size);
      found.push_back(entry);
    }
  }
  std::sort(found.begin(), found.end(),
            [](const ObjEntry& a, const ObjEntry& b) { return a.object < b.object; });
  ObjListRsp rsp;
  rsp.done = found.size() <= max;
  if (!rsp.done) found.resize(max);
  rsp.objects = std::move(found);
  return rsp;
}

Result<ObjVerifyRsp> ObjectStore::Verify(const ObjectId& obj, uint64_t offset, uint64_t length) {
  // Read() verifies every block it touches: read in 4 MiB steps, and find
  // the block of a step that fails.
  constexpr uint64_t kStep = 4 << 20;
  ObjVerifyRsp rsp;
  std::string buf;
  const uint64_t end = offset + std::min(length, ~uint64_t{0} - offset);
  for (uint64_t pos = offset; pos < end;) {
    const uint64_t len = std::min(kStep, end - pos);
    buf.clear();
    Status st = ReadAppend(obj, pos, len, &buf);
    if (st.code() == Code::kCorrupt) {
      for (uint64_t b = pos / kB * kB; b < pos + len; b += kB) {
        buf.clear();
        if (ReadAppend(obj, b, kB, &buf).code() == Code::kCorrupt) {
          rsp.damaged = true;
          rsp.bad_offset = b;
          return rsp;
        }
      }
    }
    if (!st.ok()) return st;
    rsp.verified += buf.size();
    if (buf.size() < len) break;  // the object's end
    pos += len;
  }
  return rsp;
}

}  // namespace amlfs
