// Configuration helpers shared by every binary.
//
// Each binary declares its options on a CLI::App; every option can also be
// given in an INI-style config file ("key = value", '#' comments) named by
// --config. RunCli() parses both and turns every failure into one line:
//   amlfs-ost: config /etc/amlfs/ost.conf: listen: 'x' is not HOST:PORT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace CLI {
class App;
}

namespace amlfs {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// Parses "host:port" (port may be 0 where `allow_zero`).
Result<HostPort> ParseHostPort(const std::string& text, bool allow_zero = false);

// "a,b,,c" -> {"a", "b", "c"}: the non-empty items between separators.
std::vector<std::string> Split(const std::string& s, char sep);

// Adds --config FILE (reading `default_path` when it exists and --config is
// not given) and --version to `app`.
void AddCommonOptions(CLI::App& app, const std::string& default_config);

// Parses argv. Returns -1 to go on, or the exit code to return from main
// (0 after --help/--version, 2 after an error, which has been printed).
int RunCli(CLI::App& app, int argc, char** argv);

// Prints "<program>: <what>" to stderr; used for fatal start-up errors.
void PrintFatal(const std::string& program, const std::string& what);

// The config file given (or defaulted) for this run, "" if none.
std::string ConfigFileInUse(CLI::App& app);

}  // namespace amlfs
