#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace amlfs {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
FILE* g_out = nullptr;
std::string g_component = "amlfs";
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

bool ParseLogLevel(const std::string& s, LogLevel* out) {
  if (s == "debug")
    *out = LogLevel::kDebug;
  else if (s == "info")
    *out = LogLevel::kInfo;
  else if (s == "warn")
    *out = LogLevel::kWarn;
  else if (s == "error")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

bool SetLogFile(const std::string& path) {
  std::lock_guard lk(g_mu);
  if (path.empty()) {
    g_out = nullptr;
    return true;
  }
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return false;
  g_out = f;
  return true;
}

void SetLogComponent(const std::string& component) {
  std::lock_guard lk(g_mu);
  g_component = component;
}

void LogLine(LogLevel level, const std::string& text) {
  static const char kLetters[] = {'D', 'I', 'W', 'E'};
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard lk(g_mu);
  FILE* out = g_out ? g_out : stderr;
  std::fprintf(out, "%s.%03dZ %c %s: %s\n", ts, static_cast<int>(ms),
               kLetters[static_cast<int>(level)], g_component.c_str(), text.c_str());
  std::fflush(out);
}

}  // namespace amlfs
