#include "common/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>

namespace amlfs {

Result<HostPort> ParseHostPort(const std::string& text, bool allow_zero) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return Error(Code::kInvalid, "'" + text + "' is not HOST:PORT");
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  std::string port = text.substr(colon + 1);
  for (char c : port)
    if (c < '0' || c > '9') return Error(Code::kInvalid, "'" + text + "' has a bad port");
  if (port.size() > 5) return Error(Code::kInvalid, "'" + text + "' has a bad port");
  unsigned long p = std::stoul(port);
  if (p > 65535 || (p == 0 && !allow_zero))
    return Error(Code::kInvalid, "'" + text + "' has a bad port");
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

void AddCommonOptions(CLI::App& app, const std::string& default_config) {
  auto* opt = app.set_config("--config", default_config, "Config file (key = value per line)");
  (void)opt;
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.set_version_flag("--version", std::string(app.get_name()) + " " AMLFS_VERSION);
}

std::string ConfigFileInUse(CLI::App& app) {
  auto* opt = app.get_config_ptr();
  if (!opt) return "";
  if (opt->count() > 0) return opt->as<std::string>();
  std::string def = opt->get_default_str();
  std::ifstream f(def);
  return f.good() ? def : "";
}

int RunCli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ConfigError& e) {
    std::string msg = e.what();
    const std::string kPrefix = "INI was not able to parse ";
    if (msg.rfind(kPrefix, 0) == 0) msg = "unknown key '" + msg.substr(kPrefix.size()) + "'";
    std::fprintf(stderr, "%s: config %s: %s\n", app.get_name().c_str(),
                 ConfigFileInUse(app).c_str(), msg.c_str());
    return 2;
  } catch (const CLI::ParseError& e) {
    std::string where;
    std::string file = ConfigFileInUse(app);
    if (!file.empty()) where = " (config " + file + ")";
    std::fprintf(stderr, "%s: %s%s\n", app.get_name().c_str(), e.what(), where.c_str());
    return 2;
  }
  return -1;
}

void PrintFatal(const std::string& program, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), what.c_str());
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = std::min(s.find(sep, start), s.size());
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace amlfs
