// The subcommands, one file each. Each Add*() registers its CLI11
// subcommand and the callback that runs it; the callback stores the exit
// code in `*rc`.
#pragma once

#include <string>
#include <vector>

#include "common/layout.h"

namespace CLI { class App; }

namespace amlfs::tools {

// Parses setstripe's layout options in order (each -E starts a component)
// and the paths. Returns 0, or the exit code after printing the error.
int ParseStripeArgs(const char* cmd, const std::vector<std::string>& args, LayoutTemplate* layout,
                    bool* remove, std::vector<std::string>* paths);

void AddSetstripe(CLI::App& app, int* rc);
void AddGetstripe(CLI::App& app, int* rc);
void AddDf(CLI::App& app, int* rc);
void AddFind(CLI::App& app, int* rc);
void AddMigrate(CLI::App& app, int* rc);
void AddPath2Fid(CLI::App& app, int* rc);
void AddFid2Path(CLI::App& app, int* rc);
void AddOsts(CLI::App& app, int* rc);
void AddMdts(CLI::App& app, int* rc);
void AddMds(CLI::App& app, int* rc);
void AddScrub(CLI::App& app, int* rc);
void AddStats(CLI::App& app, int* rc);
void AddTop(CLI::App& app, int* rc);

}  // namespace amlfs::tools
