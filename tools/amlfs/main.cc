// amlfs (also installed as lfs): Lustre-compatible layout and file system
// commands for amlfs mounts.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/net/auth.h"
#include "common/net/tls.h"
#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

int main(int argc, char** argv) {
  using namespace amlfs::tools;
  std::string prog = argv[0];
  if (auto slash = prog.find_last_of('/'); slash != std::string::npos)
    prog = prog.substr(slash + 1);
  g_prog = prog == "lfs" ? "lfs" : "amlfs";
  CLI::App app{"Layout and file system commands for amlfs (Lustre lfs compatible)", g_prog};
  app.require_subcommand(1);
  int rc = 0;
  // The cluster key, for the connections to the servers: loaded as the
  // option is read, before any subcommand runs.
  std::string key_file;
  amlfs::Status key_status;
  app.add_option("--key-file", key_file,
                 std::string("The cluster key; default $AMLFS_KEY_FILE, else ") +
                     amlfs::kDefaultKeyFile + " if it exists")
      ->each([&](const std::string& path) { key_status = amlfs::LoadProcessKey(path); });
  bool tls = false;
  amlfs::AddTlsOption(app, &tls);
  app.parse_complete_callback([&] {
    if (key_file.empty()) key_status = amlfs::LoadProcessKey("");
    if (key_status.ok() && tls) key_status = amlfs::SetProcessTls(true);
    if (!key_status.ok()) throw CLI::RuntimeError(g_prog + ": " + key_status.message(), 1);
  });
  auto* keygen =
      app.add_subcommand("keygen", "Print a new cluster key (for --key-file, mode 0600)");
  keygen->callback([] { std::cout << amlfs::ClusterKey::Generate().Hex() << "\n"; });
  setstripe::Add(app, &rc);
  getstripe::Add(app, &rc);
  df::Add(app, &rc);
  find::Add(app, &rc);
  migrate::Add(app, &rc);
  fid::AddPath2Fid(app, &rc);
  fid::AddFid2Path(app, &rc);
  targets::AddOsts(app, &rc);
  targets::AddMdts(app, &rc);
  mds_admin::Add(app, &rc);
  scrub::Add(app, &rc);
  stats::Add(app, &rc);
  top::Add(app, &rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {
    std::cerr << e.what() << "\n";
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << g_prog << ": " << e.what() << " (see " << g_prog << " --help)\n";
    return 2;
  }
  return rc;
}
