// lfs osts [PATH], lfs mdts [PATH]: the targets and whether they are active.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::targets {

namespace {

int Run(const char* cmd, const std::string& path, bool osts) {
  std::vector<Mount> mounts;
  if (!path.empty()) {
    auto m = MountOf(path);
    if (!m.ok()) return Fail(cmd, m.status().message(), 2);
    mounts.push_back(*m);
  } else {
    mounts = AllMounts();
    if (mounts.empty()) return Fail(cmd, "no amlfs file system is mounted", 2);
  }
  int rc = 0;
  for (const auto& m : mounts) {
    auto s = Session::Connect(m);
    if (!s.ok()) {
      rc = Fail(cmd, "cannot reach the metadata server of " + m.root + ": " + s.status().message());
      continue;
    }
    if (osts) {
      std::printf("OBDS:\n");
      for (const auto& o : (*s)->info().osts)
        std::printf("%u: %s %sACTIVE\n", o.index.value(), (*s)->OstUuid(o.index).c_str(),
                    o.up ? "" : "IN");
    } else {
      std::printf("MDTS:\n0: %s ACTIVE\n", (*s)->MdtUuid(0).c_str());
    }
  }
  std::fflush(stdout);
  return rc;
}

}  // namespace

void AddOsts(CLI::App& app, int* rc) {
  auto path = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("osts", "List the OSTs and whether they are active");
  sub->add_option("path", *path, "A path on the file system (default: every amlfs mount)");
  sub->callback([path, rc] { *rc = Run("osts", *path, true); });
}

void AddMdts(CLI::App& app, int* rc) {
  auto path = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("mdts", "List the MDTs");
  sub->add_option("path", *path, "A path on the file system (default: every amlfs mount)");
  sub->callback([path, rc] { *rc = Run("mdts", *path, false); });
}

}  // namespace amlfs::tools::targets
