// posix_check [--unprivileged UID:GID[:GROUP]] [--run-as UID:GID[:GROUP]]
//             [--filter GROUP] DIR
//
// --unprivileged names the identity the permission checks switch to (in a
// child); --run-as runs the whole program as that identity.
//
// Runs POSIX conformance checks in a scratch directory under DIR, printing
// "ok N - ..." or "not ok N - ...", then "N passed, M failed[, K skipped]".
// Exit status 1 when any check failed.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"

namespace posix_check {
int Passed();
int Failed();
int Skipped();
}  // namespace posix_check

using namespace posix_check;

int main(int argc, char** argv) {
  Context c;
  std::string filter, dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--unprivileged" && i + 1 < argc) {
      unsigned uid = 0, gid = 0, group = 0;
      int n = std::sscanf(argv[++i], "%u:%u:%u", &uid, &gid, &group);
      if (n < 2) {
        std::fprintf(stderr, "posix_check: --unprivileged wants UID:GID[:GROUP]\n");
        return 2;
      }
      c.user.uid = uid;
      c.user.gid = gid;
      if (n == 3) c.user.extra_group = group;
    } else if (a == "--run-as" && i + 1 < argc) {
      // Run every check as this identity (root-only checks are skipped).
      unsigned uid = 0, gid = 0, group = 0;
      int n = std::sscanf(argv[++i], "%u:%u:%u", &uid, &gid, &group);
      std::vector<gid_t> groups = {gid};
      if (n == 3) groups.push_back(group);
      if (n < 2 || setgroups(groups.size(), groups.data()) != 0 || setresgid(gid, gid, gid) != 0 ||
          setresuid(uid, uid, uid) != 0) {
        std::fprintf(stderr, "posix_check: --run-as %s: cannot switch identity\n", argv[i]);
        return 2;
      }
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: posix_check [--unprivileged UID:GID[:GROUP]] [--run-as UID:GID[:GROUP]] "
          "[--filter GROUP] DIR\n");
      return 0;
    } else {
      dir = a;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: posix_check [--unprivileged UID:GID[:GROUP]] DIR\n");
    return 2;
  }
  umask(0);
  c.root = geteuid() == 0;
  c.dir = dir + "/posix_check." + std::to_string(getpid());
  if (mkdir(c.dir.c_str(), 0777) != 0 || chmod(c.dir.c_str(), 0777) != 0) {
    std::perror(("posix_check: mkdir " + c.dir).c_str());
    return 2;
  }
  struct Group {
    const char* name;
    void (*fn)(const Context&);
  } groups[] = {{"files", FileChecks},      {"dirs", DirChecks},   {"rename", RenameChecks},
                {"links", LinkChecks},      {"attrs", AttrChecks}, {"xattr", XattrChecks},
                {"perm", PermissionChecks}, {"misc", MiscChecks}};
  for (const auto& g : groups) {
    if (!filter.empty() && filter != g.name) continue;
    std::printf("# %s\n", g.name);
    g.fn(c);
  }
  // Remove the scratch tree (make everything writable first).
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(c.dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0777);
  std::filesystem::remove_all(c.dir, ec);
  if (ec) std::printf("# could not remove %s: %s\n", c.dir.c_str(), ec.message().c_str());
  if (Skipped() > 0)
    std::printf("%d passed, %d failed, %d skipped\n", Passed(), Failed(), Skipped());
  else
    std::printf("%d passed, %d failed\n", Passed(), Failed());
  return Failed() > 0 ? 1 : 0;
}
