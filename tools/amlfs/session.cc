#include "tools/amlfs/session.h"

#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/client/mount_xattrs.h"
#include "common/net/auth.h"
#include "common/net/tls.h"

namespace amlfs::tools {

std::string g_prog = "lfs";

int Fail(const std::string& cmd, const std::string& what, int code) {
  std::cerr << g_prog << ' ' << cmd << ": " << what << '\n';
  return code;
}

namespace {

// /proc/self/mountinfo escapes spaces and friends as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t j = 1; j <= 3; ++j) {
        if (i + j >= s.size() || s[i + j] < '0' || s[i + j] > '7')
          ok = false;
        else
          v = v * 8 + (s[i + j] - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

struct MountEntry {
  std::string point;
  std::string fstype;
};

std::vector<MountEntry> ReadMountInfo() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream is(line);
    std::vector<std::string> f;
    std::string w;
    while (is >> w) f.push_back(w);
    // id parent maj:min root point options [optional...] - fstype source super
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i)
      if (f[i] == "-") {
        dash = i;
        break;
      }
    if (f.size() < 5 || dash == 0 || dash + 1 >= f.size()) continue;
    out.push_back(MountEntry{Unescape(f[4]), f[dash + 1]});
  }
  return out;
}

// The MDS addresses an amlfs mount answers for its mount_xattr::kMds attribute.
Result<std::vector<std::string>> MdsOfMount(const std::string& root) {
  char buf[4096];
  ssize_t n = getxattr(root.c_str(), mount_xattr::kMds, buf, sizeof(buf));
  if (n < 0)
    return Error(Code::kInvalid,
                 "not an amlfs file system (" + std::string(std::strerror(errno)) + ")");
  std::vector<std::string> out =
      mount_xattr::ParseMdsList(std::string_view(buf, static_cast<size_t>(n)));
  if (out.empty()) return Error(Code::kInvalid, "not an amlfs file system");
  return out;
}

}  // namespace

Result<Mount> MountOf(const std::string& path) {
  char real[PATH_MAX];
  if (!realpath(path.c_str(), real)) return FromErrno(errno, "cannot access '" + path + "'");
  std::string rp = real;
  const MountEntry* best = nullptr;
  auto entries = ReadMountInfo();
  for (const auto& e : entries) {
    bool under = rp == e.point || e.point == "/" ||
                 (rp.size() > e.point.size() && rp.compare(0, e.point.size(), e.point) == 0 &&
                  rp[e.point.size()] == '/');
    if (under && (!best || e.point.size() >= best->point.size())) best = &e;
  }
  if (!best || best->fstype != "fuse.amlfs")
    return Error(Code::kInvalid, "'" + path + "': not an amlfs file system");
  Mount m;
  m.root = best->point;
  AMLFS_ASSIGN_OR_RETURN(m.mds, MdsOfMount(m.root));
  return m;
}

std::vector<Mount> AllMounts() {
  std::vector<Mount> out;
  for (const auto& e : ReadMountInfo()) {
    if (e.fstype != "fuse.amlfs") continue;
    auto mds = MdsOfMount(e.point);
    if (mds.ok()) out.push_back(Mount{e.point, *mds});
  }
  return out;
}

Status UseMountKey(const Mount& m) {
  char flag[8];
  const bool mount_tls = getxattr(m.root.c_str(), mount_xattr::kTls, flag, sizeof(flag)) > 0;
  if (ProcessKey()) return mount_tls ? SetProcessTls(true) : Status::Ok();
  char file[PATH_MAX];
  ssize_t n = getxattr(m.root.c_str(), mount_xattr::kKeyFile, file, sizeof(file) - 1);
  if (n <= 0) return Status::Ok();  // a mount without a key
  Status st = LoadProcessKey(std::string(file, static_cast<size_t>(n)));
  if (!st.ok()) return Error(Code::kNotPermitted, "the mount's cluster key: " + st.message());
  return mount_tls ? SetProcessTls(true) : Status::Ok();
}

Result<std::unique_ptr<Session>> Session::Connect(const Mount& m,
                                                  std::chrono::milliseconds timeout) {
  std::unique_ptr<Session> s(new Session());
  s->mount_ = m;
  s->creds_.uid = getuid();
  s->creds_.gid = getgid();
  int n = getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> g(static_cast<size_t>(n));
    n = getgroups(n, g.data());
    for (int i = 0; i < n; ++i) s->creds_.groups.push_back(g[static_cast<size_t>(i)]);
  }
  AMLFS_RETURN_IF_ERROR(UseMountKey(m));
  ClusterOptions co;
  co.mds = m.mds;
  co.name = "lfs";
  co.net_threads = 1;
  co.mds_timeout = timeout;
  co.io_timeout = timeout;
  s->cluster_ = std::make_unique<Cluster>(co);
  AMLFS_ASSIGN_OR_RETURN(s->info_, s->Call(FsInfoReq{}));
  s->osts().Update(s->info_.osts);
  return s;
}

Session::~Session() = default;

std::string Session::OstUuid(OstIndex i) const {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "-OST%04x_UUID", i.value());
  return info_.fs_name + buf;
}

std::string Session::MdtUuid(uint32_t i) const {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "-MDT%04x_UUID", i);
  return info_.fs_name + buf;
}

std::unique_ptr<Target> OpenTarget(const std::string& cmd, const std::string& path) {
  auto t = std::make_unique<Target>();
  t->path = path;
  if (stat(path.c_str(), &t->st) != 0) {
    Fail(cmd, "cannot access '" + path + "': " + std::strerror(errno));
    return nullptr;
  }
  auto m = MountOf(path);
  if (!m.ok()) {
    Fail(cmd, m.status().message());
    return nullptr;
  }
  auto s = Session::Connect(*m);
  if (!s.ok()) {
    Fail(cmd, "cannot reach the metadata server of " + m->root + ": " + s.status().message());
    return nullptr;
  }
  t->session = std::move(*s);
  return t;
}

namespace {
constexpr uint64_t kFidSeqBase = 0x200000400ull;
}

namespace {
// The FID of `ino`, in brackets or not.
std::string FormatFid(uint64_t ino, bool brackets) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), brackets ? "[%#llx:0x%x:0x%x]" : "%#llx:0x%x:0x%x",
                static_cast<unsigned long long>(kFidSeqBase + (ino >> 32)),
                static_cast<unsigned>(ino & 0xffffffffu), 0u);
  return buf;
}
}  // namespace

std::string FidNoBrace(uint64_t ino) { return FormatFid(ino, false); }

std::string FidOf(uint64_t ino) { return FormatFid(ino, true); }

Result<uint64_t> InoOfFid(const std::string& text) {
  std::string s = text;
  if (!s.empty() && s.front() == '[') s.erase(0, 1);
  if (!s.empty() && s.back() == ']') s.pop_back();
  unsigned long long seq = 0, oid = 0, ver = 0;
  int used = 0;
  if (std::sscanf(s.c_str(), "%llx:%llx:%llx%n", &seq, &oid, &ver, &used) != 3 ||
      static_cast<size_t>(used) != s.size() || seq < kFidSeqBase || oid > 0xffffffffull || ver != 0)
    return Error(Code::kInvalid, "invalid FID '" + text + "'");
  return ((seq - kFidSeqBase) << 32) | oid;
}

}  // namespace amlfs::tools
