// lfs migrate [-c N] [-S SIZE] [-i IDX] [-o LIST] [-E END ...] FILE...
//
// Restripes each file: copies its data into new objects, then swaps the
// layout in one step, keeping the inode. Shows progress on a terminal.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/client/migrate.h"
#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::migrate {

namespace {

constexpr char kCmd[] = "migrate";

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

int MigrateOne(const std::string& path, const LayoutTemplate& layout) {
  auto t = OpenTarget(kCmd, path);
  if (!t) return 2;
  if (!S_ISREG(t->st.st_mode)) return Fail(kCmd, "'" + path + "' is not a regular file", 22);
  MigrateOptions o;
  o.layout = layout;
  const bool tty = isatty(STDERR_FILENO);
  if (tty) {
    o.progress = [&](uint64_t done, uint64_t total) {
      int pct = total ? static_cast<int>(done * 100 / total) : 100;
      std::fprintf(stderr, "\r%s: %3d%% (%s of %s)", path.c_str(), pct, Mib(done).c_str(),
                   Mib(total).c_str());
      std::fflush(stderr);
    };
  }
  Session& s = *t->session;
  auto r = MigrateFile(s.mds(), s.io(), s.creds(), InodeId(t->st.st_ino), o);
  if (tty) std::fprintf(stderr, "\n");
  if (!r.ok()) return Fail(kCmd, "cannot migrate '" + path + "': " + r.status().message(), 1);
  return 0;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto* sub = app.add_subcommand("migrate", "Restripe files: copy their data to a new layout");
  sub->allow_extras();
  sub->prefix_command();
  sub->footer(R"(Usage: migrate [-c COUNT] [-S SIZE] [-i START_OST] [-o OST_LIST]
               [-E END ...] FILE...
  The options are setstripe's; without any, the file gets its directory's
  default layout. The inode stays the same; readers that have the file open
  keep reading correct data. A file that is opened for writing during the
  copy is left as it was, with an error.)");
  sub->callback([sub, rc] {
    LayoutTemplate layout;
    bool remove = false;
    std::vector<std::string> paths;
    *rc = setstripe::ParseArgs(kCmd, sub->remaining(), &layout, &remove, &paths);
    if (*rc != 0) return;
    if (remove) {
      *rc = Fail(kCmd, "-d does not apply to migrate", 22);
      return;
    }
    for (const auto& p : paths)
      if (int r = MigrateOne(p, layout)) *rc = r;
  });
}

}  // namespace amlfs::tools::migrate
