// One screen of `amlfs top`: what the file system did between two scrapes
// (cluster_stats.h), per OST, per client, per metadata operation and per
// job. Pure: no I/O, no terminal.
#pragma once

#include <string>
#include <vector>

#include "tools/amlfs/cluster_stats.h"

namespace amlfs::tools {

struct ScreenSize {
  size_t columns = 80;
  size_t rows = 24;
};

// The lines of the frame for the interval from `prev` to `cur` (`prev`
// null: the first scrape, so no rates yet): at most size.rows lines of at
// most size.columns bytes, plain text without escape codes or control
// characters (names from the wire included).
std::vector<std::string> RenderFrame(const ClusterStats* prev, const ClusterStats& cur,
                                     ScreenSize size);

}  // namespace amlfs::tools
