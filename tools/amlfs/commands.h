// The subcommands, one file each. Each Add*() registers its CLI11
// subcommand and the callback that runs it; the callback stores the exit
// code in `*rc`.
#pragma once

#include <string>
#include <vector>

#include "common/layout.h"

namespace CLI {
class App;
}

namespace amlfs::tools {

// Each subcommand's namespace (and file) registers it with Add(): its
// CLI11 subcommand and the callback that runs it, which stores the exit
// code in `*rc`.
namespace setstripe {
void Add(CLI::App& app, int* rc);
// Parses setstripe's layout options in order (each -E starts a component)
// and the paths. Returns 0, or the exit code after printing the error.
int ParseArgs(const char* cmd, const std::vector<std::string>& args, LayoutTemplate* layout,
              bool* remove, std::vector<std::string>* paths);
}  // namespace setstripe
namespace getstripe {
void Add(CLI::App& app, int* rc);
}
namespace df {
void Add(CLI::App& app, int* rc);
}
namespace find {
void Add(CLI::App& app, int* rc);
}
namespace migrate {
void Add(CLI::App& app, int* rc);
}
namespace fid {
void AddPath2Fid(CLI::App& app, int* rc);
void AddFid2Path(CLI::App& app, int* rc);
}  // namespace fid
namespace targets {
void AddOsts(CLI::App& app, int* rc);
void AddMdts(CLI::App& app, int* rc);
}  // namespace targets
namespace mds_admin {
void Add(CLI::App& app, int* rc);
}  // namespace mds_admin
namespace scrub {
void Add(CLI::App& app, int* rc);
}
namespace stats {
void Add(CLI::App& app, int* rc);
}
namespace top {
void Add(CLI::App& app, int* rc);
}

}  // namespace amlfs::tools
