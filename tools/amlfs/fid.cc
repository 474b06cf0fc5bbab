// lfs path2fid PATH..., lfs fid2path MOUNT FID...
#include <CLI/CLI.hpp>
#include <cstdio>

#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::fid {

void AddPath2Fid(CLI::App& app, int* rc) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand("path2fid", "Print the FID of each path");
  sub->add_option("path", *paths, "Files or directories")->required();
  sub->callback([paths, rc] {
    *rc = 0;
    for (const auto& p : *paths) {
      struct stat st {};
      if (stat(p.c_str(), &st) != 0) {
        *rc = Fail("path2fid", "cannot get fid for '" + p + "': " + std::strerror(errno), 2);
        continue;
      }
      auto m = MountOf(p);
      if (!m.ok()) {
        *rc = Fail("path2fid", "cannot get fid for '" + p + "': " + m.status().message(), 22);
        continue;
      }
      if (paths->size() > 1) std::printf("%s: ", p.c_str());
      std::printf("%s\n", FidOf(st.st_ino).c_str());
    }
    std::fflush(stdout);
  });
}

void AddFid2Path(CLI::App& app, int* rc) {
  auto root = std::make_shared<std::string>();
  auto fids = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand("fid2path", "Print the path of each FID");
  sub->add_option("mount", *root, "The mount point")->required();
  sub->add_option("fid", *fids, "FIDs, as printed by path2fid")->required();
  sub->callback([root, fids, rc] {
    auto m = MountOf(*root);
    if (!m.ok()) {
      *rc = Fail("fid2path", m.status().message(), 2);
      return;
    }
    auto s = Session::Connect(*m);
    if (!s.ok()) {
      *rc = Fail("fid2path",
                 "cannot reach the metadata server of " + m->root + ": " + s.status().message());
      return;
    }
    *rc = 0;
    for (const auto& f : *fids) {
      auto ino = InoOfFid(f);
      if (!ino.ok()) {
        *rc = Fail("fid2path", "invalid FID '" + f + "'", 22);
        continue;
      }
      auto p = (*s)->Call(Fid2PathReq{{}, InodeId(*ino)});
      if (!p.ok()) {
        *rc = Fail("fid2path", "cannot find " + m->root + " " + f + ": " + p.status().message(), 2);
        continue;
      }
      std::printf("%s%s%s\n", m->root.c_str(), m->root == "/" || p->path.empty() ? "" : "/",
                  p->path.c_str());
    }
    std::fflush(stdout);
  });
}

}  // namespace amlfs::tools::fid
