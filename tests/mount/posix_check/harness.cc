#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace posix_check {
namespace {
struct Counters {
  int next = 1, passed = 0, failed = 0, skipped = 0;
};
Counters* g_counters = [] {
  void* p =
      mmap(nullptr, sizeof(Counters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return new (p) Counters();
}();
}  // namespace

int Passed() { return g_counters->passed; }
int Failed() { return g_counters->failed; }
int Skipped() { return g_counters->skipped; }

std::string ErrnoName(int e) {
  switch (e) {
// clang-format off
#define N(x) case x: return #x;
    N(EPERM) N(ENOENT) N(EIO) N(EBADF) N(EACCES) N(EEXIST) N(EXDEV) N(ENOTDIR) N(EISDIR)
    N(EINVAL) N(EFBIG) N(ENOSPC) N(EROFS) N(EMLINK) N(ERANGE) N(ENAMETOOLONG) N(ENOTEMPTY)
    N(ELOOP) N(ENODATA) N(ENXIO) N(EOPNOTSUPP) N(EBUSY) N(E2BIG) N(ETXTBSY) N(ENOTCONN)
    N(ETIMEDOUT)
#undef N
        // clang-format on
        case 0 : return "success";
    default: return "errno " + std::to_string(e);
  }
}

void Report(bool ok, const std::string& desc, const std::string& detail) {
  int n = __atomic_fetch_add(&g_counters->next, 1, __ATOMIC_SEQ_CST);
  if (ok) {
    __atomic_fetch_add(&g_counters->passed, 1, __ATOMIC_SEQ_CST);
    std::printf("ok %d - %s\n", n, desc.c_str());
  } else {
    __atomic_fetch_add(&g_counters->failed, 1, __ATOMIC_SEQ_CST);
    std::printf("not ok %d - %s: %s\n", n, desc.c_str(), detail.c_str());
  }
  std::fflush(stdout);
}

void Skip(const std::string& desc, const std::string& why) {
  int n = __atomic_fetch_add(&g_counters->next, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&g_counters->skipped, 1, __ATOMIC_SEQ_CST);
  std::printf("ok %d - %s # SKIP %s\n", n, desc.c_str(), why.c_str());
  std::fflush(stdout);
}

void ExpectErrno(const std::string& desc, long rc, int want) {
  int got = rc < 0 ? errno : 0;
  bool ok = want == 0 ? rc >= 0 : (rc == -1 && got == want);
  Report(ok, desc,
         "expected " + ErrnoName(want) + ", got " + (rc < 0 ? ErrnoName(got) : "success"));
}

void ExpectTrue(const std::string& desc, bool cond, const std::string& detail) {
  Report(cond, desc, detail.empty() ? "condition false" : detail);
}

void AsUser(const Context& c, void (*fn)(const Context&), unsigned more_group) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<gid_t> groups = {c.user.gid, c.user.extra_group};
    if (more_group) groups.push_back(more_group);
    if (setgroups(groups.size(), groups.data()) != 0 ||
        setresgid(c.user.gid, c.user.gid, c.user.gid) != 0 ||
        setresuid(c.user.uid, c.user.uid, c.user.uid) != 0) {
      Report(false, "drop privileges", std::strerror(errno));
      _exit(1);
    }
    fn(c);
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) Report(false, "unprivileged child", "crashed");
}

std::string P(const Context& c, const std::string& name) { return c.dir + "/" + name; }

bool WriteFile(const std::string& path, const std::string& data, int mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return false;
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  return close(fd) == 0 && ok;
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::string("<").append(ErrnoName(errno)).append(">");  // see checks_dirs.cc
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

}  // namespace posix_check
