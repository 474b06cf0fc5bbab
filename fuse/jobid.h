// JobIds: the job id a request is tagged with for the servers' job
// statistics, read from the environment of the process that made it (as
// Lustre's jobid_var): SLURM_JOB_ID by default, any variable by name,
// "procname_uid" for "COMMAND.UID", or "disable" for none.
//
// Reading /proc/PID/environ costs a few system calls, so answers are cached
// per process for 30 s. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"

namespace amlfs::fuse {

class JobIds {
 public:
  // Fails with kInvalid on an empty or malformed `var`.
  static Status Check(const std::string& var);
  explicit JobIds(std::string var);

  // The job id of process `pid` (running as `uid`); "" when it has none
  // (the variable is unset, the process is gone, or pid is 0: the kernel).
  std::string Of(pid_t pid, uid_t uid);

 private:
  std::string Lookup(pid_t pid, uid_t uid) const;

  const std::string var_;
  std::mutex mu_;
  struct Cached {
    std::string job;
    std::chrono::steady_clock::time_point until;
  };
  std::unordered_map<pid_t, Cached> cache_;
};

}  // namespace amlfs::fuse
