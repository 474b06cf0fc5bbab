#include "server/mds/raft/snapshot_transfer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "common/log.h"

namespace amlfs::raft {
namespace {

constexpr char kRecvName[] = "snapshot.recv";
constexpr char kTmpName[] = "snapshot.tmp";

Status SyncPath(const std::string& path, bool dir) {
  int fd = ::open(path.c_str(), (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open " + path);
  Status st;
  if (::fsync(fd) != 0) st = FromErrno(errno, "fsync " + path);
  ::close(fd);
  return st;
}

// "snapshot-<index>-<term>" -> (index, term)
bool ParseName(const std::string& name, Index* index, Term* term) {
  unsigned long long i = 0, t = 0;
  int used = 0;
  if (std::sscanf(name.c_str(), "snapshot-%llu-%llu%n", &i, &t, &used) != 2 ||
      static_cast<size_t>(used) != name.size())
    return false;
  *index = i;
  *term = t;
  return true;
}

std::string ConfigPath(const std::string& snapshot) { return snapshot + ".members"; }

Status WriteFileSynced(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FromErrno(errno, "open " + tmp);
  Status st;
  if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    st = FromErrno(errno ? errno : EIO, "write " + tmp);
  else if (::fsync(fd) != 0)
    st = FromErrno(errno, "fsync " + tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = FromErrno(errno, "rename " + tmp);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Result<std::string> ReadConfig(const std::string& snapshot) {
  int fd = ::open(ConfigPath(snapshot).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return FromErrno(errno, "open " + ConfigPath(snapshot));
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  const int err = errno;
  ::close(fd);
  if (n < 0) return FromErrno(err, "read " + ConfigPath(snapshot));
  return out;
}

std::vector<SnapshotFile> ListSnapshots(const std::string& dir) {
  std::vector<SnapshotFile> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    SnapshotFile f;
    if (ParseName(e->d_name, &f.index, &f.term)) {
      f.path = dir + "/" + e->d_name;
      out.push_back(std::move(f));
    }
  }
  ::closedir(d);
  return out;
}

}  // namespace

std::string SnapshotPath(const std::string& dir, Index index, Term term) {
  return dir + "/snapshot-" + std::to_string(index) + "-" + std::to_string(term);
}

Result<std::optional<SnapshotFile>> FindSnapshot(const std::string& dir) {
  ::unlink((dir + "/" + kRecvName).c_str());
  ::unlink((dir + "/" + kTmpName).c_str());
  std::optional<SnapshotFile> best;
  for (SnapshotFile& f : ListSnapshots(dir))
    if (!best || f.index > best->index) best = std::move(f);
  if (!best) return best;
  RemoveOtherSnapshots(dir, *best);
  AMLFS_ASSIGN_OR_RETURN(best->config, ReadConfig(best->path));
  return best;
}

Result<SnapshotFile> PublishSnapshot(const std::string& dir, const std::string& tmp, Index index,
                                     Term term, const std::string& config) {
  AMLFS_RETURN_IF_ERROR(SyncPath(tmp, false));
  SnapshotFile f{index, term, SnapshotPath(dir, index, term), config};
  // The configuration first: a snapshot file is never found without it.
  if (!config.empty()) AMLFS_RETURN_IF_ERROR(WriteFileSynced(ConfigPath(f.path), config));
  if (::rename(tmp.c_str(), f.path.c_str()) != 0) return FromErrno(errno, "rename " + tmp);
  AMLFS_RETURN_IF_ERROR(SyncPath(dir, true));
  return f;
}

void RemoveOtherSnapshots(const std::string& dir, const SnapshotFile& keep) {
  for (const SnapshotFile& f : ListSnapshots(dir))
    if (f.path != keep.path) {
      ::unlink(f.path.c_str());
      ::unlink(ConfigPath(f.path).c_str());
    }
}

// --- sender ---------------------------------------------------------------------

Result<std::unique_ptr<SnapshotSender>> SnapshotSender::Open(const SnapshotFile& f, size_t chunk) {
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open " + f.path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = FromErrno(errno, "stat " + f.path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<SnapshotSender>(new SnapshotSender(
      fd, f.index, f.term, static_cast<uint64_t>(st.st_size), std::max<size_t>(chunk, 1)));
}

SnapshotSender::~SnapshotSender() { ::close(fd_); }

Result<Message> SnapshotSender::Chunk() {
  Message m;
  m.type = MsgType::kSnapshot;
  m.index = index_;
  m.log_term = term_;
  m.offset = offset_;
  const uint64_t want = std::min<uint64_t>(chunk_, size_ - offset_);
  m.data.resize(want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd_, m.data.data() + got, want - got, static_cast<off_t>(offset_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "read snapshot " + std::to_string(index_));
    if (n == 0) return Error(Code::kIo, "snapshot " + std::to_string(index_) + " shrank");
    got += static_cast<size_t>(n);
  }
  m.done = offset_ + want == size_;
  sent_end_ = offset_ + want;
  return m;
}

bool SnapshotSender::Acked(uint64_t offset) {
  if (offset != sent_end_ || offset == offset_) return false;
  offset_ = offset;
  idle_ticks = 0;
  return true;
}

// --- receiver -------------------------------------------------------------------

std::string SnapshotReceiver::path() const { return dir_ + "/" + kRecvName; }

void SnapshotReceiver::Reset() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(path().c_str());
  size_ = 0;
}

Result<SnapshotReceiver::Outcome> SnapshotReceiver::Take(const Message& m) {
  if (m.offset == 0) {
    Reset();
    fd_ = ::open(path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return FromErrno(errno, "create " + path());
    from_ = m.from;
    term_ = m.term;
    index_ = m.index;
    log_term_ = m.log_term;
  } else if (fd_ < 0 || m.from != from_ || m.term != term_ || m.index != index_ ||
             m.log_term != log_term_ || m.offset != size_) {
    return Outcome::kMismatch;
  }
  size_t done = 0;
  while (done < m.data.size()) {
    ssize_t n =
        ::pwrite(fd_, m.data.data() + done, m.data.size() - done, static_cast<off_t>(size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = FromErrno(errno, "write " + path());
      Reset();
      return st;
    }
    done += static_cast<size_t>(n);
  }
  size_ += m.data.size();
  if (!m.done) return Outcome::kAck;
  Status st;
  if (::fdatasync(fd_) != 0) st = FromErrno(errno, "fsync " + path());
  ::close(fd_);
  fd_ = -1;
  size_ = 0;
  if (!st.ok()) {
    ::unlink(path().c_str());
    return st;
  }
  return Outcome::kComplete;
}

}  // namespace amlfs::raft
