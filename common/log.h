// Logging: one line per event, "2026-11-24T12:00:00.123Z I mds: text", to
// stderr or a file. Thread-safe.
#pragma once

#include <sstream>
#include <string>

namespace amlfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug|info|warn|error".
bool ParseLogLevel(const std::string& s, LogLevel* out);
// Sends log lines to `path` (appending) instead of stderr. Empty = stderr.
bool SetLogFile(const std::string& path);
void SetLogComponent(const std::string& component);
void LogLine(LogLevel level, const std::string& text);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, os_.str()); }
  std::ostringstream& stream() { return os_; }

 private:
  LogLevel level_;
  std::ostringstream os_;
};

}  // namespace amlfs

namespace amlfs {
// Turns "stream << a << b" into a void expression for AMLFS_LOG's ?: form.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace amlfs

// AMLFS_LOG(kInfo) << "text " << value;  — safe inside an unbraced if/else.
#define AMLFS_LOG(level)                              \
  (::amlfs::LogLevel::level < ::amlfs::GetLogLevel()) \
      ? (void)0                                       \
      : ::amlfs::LogVoidify() & ::amlfs::LogMessage(::amlfs::LogLevel::level).stream()
