#include "common/daemon.h"

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/log.h"

namespace amlfs {

namespace {
sigset_t DaemonSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  return set;
}
}  // namespace

void BlockStopSignals() {
  sigset_t set = DaemonSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void StepLogLevel(int sig) {
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  int level = static_cast<int>(GetLogLevel()) + (sig == SIGUSR1 ? -1 : 1);
  level = std::clamp(level, 0, 3);
  SetLogLevel(static_cast<LogLevel>(level));
  // Logged whatever the new level.
  LogLine(LogLevel::kInfo, std::string("log level now ") + kNames[level] + " (signal " +
                               (sig == SIGUSR1 ? "USR1" : "USR2") + ")");
}

int WaitForStopSignal() {
  sigset_t set = DaemonSignals();
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGUSR1 || sig == SIGUSR2) {
      StepLogLevel(sig);
      continue;
    }
    return sig;
  }
}

Status WriteReadyFile(const std::string& path, const std::string& text) {
  if (path.empty()) return Status::Ok();
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text << "\n";
    if (!f.good()) return Error(Code::kIo, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return FromErrno(errno, "rename " + tmp);
  return Status::Ok();
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(Code::kIo, "cannot create " + dir + ": " + ec.message());
  return Status::Ok();
}

void RaiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

void TuneMallocForIo() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace amlfs
