// Fuzz target: config files ("key = value" lines, '#' comments, [sections])
// as every amlfs binary reads them through --config: the input is written
// to a file and parsed with options of each kind the daemons declare.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/config.h"

namespace {
// The file each input is written to; removed when the fuzzer exits.
struct TempFile {
  std::string path = "/tmp/amlfs-fuzz-config." + std::to_string(getpid());
  ~TempFile() { std::remove(path.c_str()); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TempFile file;
  const std::string& path = file.path;
  if (size > 16384) return 0;
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);

  CLI::App app{"config fuzz target", "amlfs-fuzz"};
  amlfs::AddCommonOptions(app, "");
  std::string listen = "127.0.0.1:0", mds, log_level = "info";
  int index = 0, workers = 8;
  double interval = 1.0;
  bool sync = false;
  std::vector<std::string> peers;
  app.add_option("--listen", listen);
  app.add_option("--mds", mds);
  app.add_option("--index", index);
  app.add_option("--workers", workers);
  app.add_option("--heartbeat-interval,--heartbeat_interval", interval);
  app.add_option("--log-level,--log_level", log_level);
  app.add_option("--peers", peers);
  app.add_flag("--sync-writes,--sync_writes", sync);
  std::string config_flag = "--config", arg0 = "amlfs-fuzz";
  char* argv[] = {arg0.data(), config_flag.data(), const_cast<char*>(path.c_str()), nullptr};
  if (amlfs::RunCli(app, 3, argv) < 0) {
    // Parsed: the values are what the daemons then validate.
    (void)amlfs::ParseHostPort(listen, true);
    (void)amlfs::Split(mds, ',');
  }
  return 0;
}
