// amlfs (also installed as lfs): Lustre-compatible layout and file system
// commands for amlfs mounts.
#include <CLI/CLI.hpp>
#include <iostream>

#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

int main(int argc, char** argv) {
  using namespace amlfs::tools;
  std::string prog = argv[0];
  if (auto slash = prog.find_last_of('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  g_prog = prog == "lfs" ? "lfs" : "amlfs";
  CLI::App app{"Layout and file system commands for amlfs (Lustre lfs compatible)", g_prog};
  app.require_subcommand(1);
  int rc = 0;
  AddSetstripe(app, &rc);
  AddGetstripe(app, &rc);
  AddDf(app, &rc);
  AddFind(app, &rc);
  AddMigrate(app, &rc);
  AddPath2Fid(app, &rc);
  AddFid2Path(app, &rc);
  AddOsts(app, &rc);
  AddMdts(app, &rc);
  AddMds(app, &rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << g_prog << ": " << e.what() << " (see " << g_prog << " --help)\n";
    return 2;
  }
  return rc;
}
