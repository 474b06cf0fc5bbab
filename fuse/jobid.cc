#include "fuse/jobid.h"

#include <fstream>
#include <iterator>

namespace amlfs::fuse {
namespace {
constexpr auto kTtl = std::chrono::seconds(30);
constexpr size_t kMaxCached = 4096;
constexpr size_t kMaxJobBytes = 64;  // longer ids are cut: they are labels, not data

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

Status JobIds::Check(const std::string& var) {
  if (var.empty()) return Error(Code::kInvalid, "jobid_var: empty (use 'disable' for none)");
  for (char c : var)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return Error(
          Code::kInvalid,
          "jobid_var: '" + var + "' is not an environment variable name, procname_uid or disable");
  return Status::Ok();
}

JobIds::JobIds(std::string var) : var_(std::move(var)) {}

std::string JobIds::Lookup(pid_t pid, uid_t uid) const {
  const std::string proc = "/proc/" + std::to_string(pid);
  if (var_ == "procname_uid") {
    std::string comm = ReadFile(proc + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return comm.empty() ? std::string() : comm + "." + std::to_string(uid);
  }
  // NUL-separated NAME=VALUE entries.
  const std::string env = ReadFile(proc + "/environ");
  const std::string prefix = var_ + "=";
  for (size_t at = 0; at < env.size();) {
    size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    if (env.compare(at, prefix.size(), prefix) == 0) {
      std::string job = env.substr(at + prefix.size(), end - at - prefix.size());
      if (job.size() > kMaxJobBytes) job.resize(kMaxJobBytes);
      return job;
    }
    at = end + 1;
  }
  return {};
}

std::string JobIds::Of(pid_t pid, uid_t uid) {
  if (pid <= 0 || var_ == "disable") return {};
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(pid);
    if (it != cache_.end() && it->second.until > now) return it->second.job;
  }
  std::string job = Lookup(pid, uid);
  std::lock_guard lk(mu_);
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_[pid] = Cached{job, now + kTtl};
  return job;
}

}  // namespace amlfs::fuse
