// Directories and names: mkdir, rmdir, readdir, name lengths, rename.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "harness.h"

// Names are built with append, not "f" + std::to_string(i): at -O3, GCC 12
// warns (-Wrestrict) about the insert that operator+(const char*, string&&)
// inlines, a false positive (GCC bug 105329).
namespace posix_check {
namespace {

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) {
    out.insert("<opendir: " + ErrnoName(errno) + ">");
    return out;
  }
  while (dirent* e = readdir(d)) out.insert(e->d_name);
  closedir(d);
  return out;
}

long Nlink(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? static_cast<long>(st.st_nlink) : -1;
}

}  // namespace

void DirChecks(const Context& c) {
  const std::string d = P(c, "dir1");
  long before = Nlink(c.dir);
  ExpectErrno("mkdir creates a directory", mkdir(d.c_str(), 0755), 0);
  ExpectEq("a new directory has nlink 2", 2L, Nlink(d));
  ExpectEq("mkdir raises the parent's nlink", before + 1, Nlink(c.dir));
  ExpectErrno("mkdir of an existing name fails EEXIST", mkdir(d.c_str(), 0755), EEXIST);
  ExpectErrno("mkdir with a missing parent fails ENOENT", mkdir(P(c, "no/such").c_str(), 0755),
              ENOENT);
  ExpectErrno("mkdir under a file fails ENOTDIR",
              (WriteFile(P(c, "plain"), "x"), mkdir(P(c, "plain/sub").c_str(), 0755)), ENOTDIR);
  WriteFile(d + "/inside", "x");
  ExpectErrno("rmdir of a non-empty directory fails ENOTEMPTY", rmdir(d.c_str()), ENOTEMPTY);
  ExpectErrno("rmdir of a file fails ENOTDIR", rmdir(P(c, "plain").c_str()), ENOTDIR);
  ExpectErrno("unlink of a directory fails EISDIR", unlink(d.c_str()), EISDIR);
  ExpectErrno("rmdir of '.' fails EINVAL", rmdir((d + "/.").c_str()), EINVAL);
  ExpectErrno("unlink of a missing name fails ENOENT", unlink(P(c, "ghost").c_str()), ENOENT);
  unlink((d + "/inside").c_str());
  ExpectErrno("rmdir of an empty directory", rmdir(d.c_str()), 0);
  ExpectEq("rmdir lowers the parent's nlink", before, Nlink(c.dir));
  ExpectErrno("the removed directory is gone", access(d.c_str(), F_OK), ENOENT);

  // Names.
  std::string n255(255, 'n'), n256(256, 'n');
  ExpectTrue("a 255-byte name can be created", WriteFile(P(c, n255), "x"));
  ExpectErrno("creating a 256-byte name fails ENAMETOOLONG",
              open(P(c, n256).c_str(), O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
  ExpectErrno("mkdir of a 256-byte name fails ENAMETOOLONG", mkdir(P(c, n256).c_str(), 0755),
              ENAMETOOLONG);
  ExpectErrno("rename to a 256-byte name fails ENAMETOOLONG",
              rename(P(c, n255).c_str(), P(c, n256).c_str()), ENAMETOOLONG);
  ExpectErrno("symlink named with 256 bytes fails ENAMETOOLONG", symlink("t", P(c, n256).c_str()),
              ENAMETOOLONG);
  ExpectErrno("link named with 256 bytes fails ENAMETOOLONG",
              link(P(c, n255).c_str(), P(c, n256).c_str()), ENAMETOOLONG);
  ExpectErrno("stat of a 256-byte name fails ENAMETOOLONG", access(P(c, n256).c_str(), F_OK),
              ENAMETOOLONG);
  unlink(P(c, n255).c_str());

  // readdir.
  const std::string ld = P(c, "listing");
  mkdir(ld.c_str(), 0755);
  std::set<std::string> want = {".", ".."};
  bool made = true;
  for (int i = 0; i < 2000; ++i) {
    std::string name = std::string("e").append(std::to_string(i));
    made = made && WriteFile(ld + "/" + name, "");
    want.insert(name);
  }
  ExpectTrue("2,000 files created in one directory", made);
  ExpectTrue("readdir lists exactly the 2,000 entries plus . and ..", List(ld) == want,
             "listed " + std::to_string(List(ld).size()) + " names");
  for (int i = 0; i < 2000; i += 2) {
    unlink((ld + "/e" + std::to_string(i)).c_str());
    want.erase(std::string("e").append(std::to_string(i)));
  }
  rename((ld + "/e1").c_str(), (ld + "/renamed").c_str());
  want.erase("e1");
  want.insert("renamed");
  ExpectTrue("readdir after unlinks and a rename", List(ld) == want,
             "listed " + std::to_string(List(ld).size()) + " names");
  DIR* dp = opendir(ld.c_str());
  bool types = dp != nullptr;
  while (dp && readdir(dp) && false) {
  }
  if (dp) rewinddir(dp);
  while (dirent* e = dp ? readdir(dp) : nullptr)
    if (e->d_type != DT_UNKNOWN && std::string(e->d_name) != "." && std::string(e->d_name) != "..")
      types = types && e->d_type == DT_REG;
  if (dp) closedir(dp);
  ExpectTrue("d_type of regular files is DT_REG", types);
  for (const auto& n : want)
    if (n != "." && n != "..") unlink((ld + "/" + n).c_str());
  ExpectErrno("a directory emptied of 2,000 files can be removed", rmdir(ld.c_str()), 0);
}

void RenameChecks(const Context& c) {
  const std::string a = P(c, "ra"), b = P(c, "rb");
  WriteFile(a, "A");
  WriteFile(b, "B");
  ExpectErrno("rename a file over another file", rename(a.c_str(), b.c_str()), 0);
  ExpectTrue("the target has the source's data", ReadFile(b) == "A");
  ExpectErrno("the source name is gone", access(a.c_str(), F_OK), ENOENT);
  const std::string d1 = P(c, "rd1"), d2 = P(c, "rd2"), d3 = P(c, "rd3");
  mkdir(d1.c_str(), 0755);
  mkdir(d2.c_str(), 0755);
  mkdir(d3.c_str(), 0755);
  WriteFile(d3 + "/x", "x");
  ExpectErrno("rename a file over a directory fails EISDIR", rename(b.c_str(), d1.c_str()), EISDIR);
  ExpectErrno("rename a directory over a file fails ENOTDIR", rename(d1.c_str(), b.c_str()),
              ENOTDIR);
  ExpectErrno("rename a directory over an empty directory", rename(d1.c_str(), d2.c_str()), 0);
  int rc = rename(d2.c_str(), d3.c_str());
  ExpectTrue("rename over a non-empty directory fails ENOTEMPTY or EEXIST",
             rc == -1 && (errno == ENOTEMPTY || errno == EEXIST), ErrnoName(errno));
  ExpectErrno("rename a directory into its own subdirectory fails EINVAL",
              rename(d3.c_str(), (d3 + "/sub").c_str()), EINVAL);
  ExpectErrno("rename of a missing source fails ENOENT",
              rename(P(c, "nosrc").c_str(), P(c, "x").c_str()), ENOENT);
  // Moving a directory between parents fixes '..' and both link counts.
  const std::string p1 = P(c, "par1"), p2 = P(c, "par2");
  mkdir(p1.c_str(), 0755);
  mkdir(p2.c_str(), 0755);
  mkdir((p1 + "/kid").c_str(), 0755);
  ExpectErrno("rename a directory to another parent",
              rename((p1 + "/kid").c_str(), (p2 + "/kid").c_str()), 0);
  struct stat s1, s2, kidparent;
  stat(p1.c_str(), &s1);
  stat(p2.c_str(), &s2);
  stat((p2 + "/kid/..").c_str(), &kidparent);
  ExpectEq("the old parent's nlink drops", 2L, static_cast<long>(s1.st_nlink));
  ExpectEq("the new parent's nlink rises", 3L, static_cast<long>(s2.st_nlink));
  ExpectEq("'..' of the moved directory is the new parent", static_cast<long>(s2.st_ino),
           static_cast<long>(kidparent.st_ino));
  // renameat2 flags.
  const std::string x = P(c, "rx"), y = P(c, "ry");
  WriteFile(x, "X");
  WriteFile(y, "Y");
  ExpectErrno("RENAME_NOREPLACE onto an existing name fails EEXIST",
              renameat2(AT_FDCWD, x.c_str(), AT_FDCWD, y.c_str(), RENAME_NOREPLACE), EEXIST);
  ExpectErrno("RENAME_NOREPLACE onto a free name",
              renameat2(AT_FDCWD, x.c_str(), AT_FDCWD, P(c, "rz").c_str(), RENAME_NOREPLACE), 0);
  ExpectErrno("RENAME_EXCHANGE swaps a file and a directory",
              renameat2(AT_FDCWD, y.c_str(), AT_FDCWD, p1.c_str(), RENAME_EXCHANGE), 0);
  struct stat sy, sp;
  stat(y.c_str(), &sy);
  stat(p1.c_str(), &sp);
  ExpectTrue("after the exchange the first name is the directory", S_ISDIR(sy.st_mode));
  ExpectTrue("after the exchange the second name is the file", S_ISREG(sp.st_mode));
  ExpectErrno("RENAME_EXCHANGE with a missing target fails ENOENT",
              renameat2(AT_FDCWD, y.c_str(), AT_FDCWD, P(c, "missing").c_str(), RENAME_EXCHANGE),
              ENOENT);
  // Two hard links to one inode.
  const std::string h1 = P(c, "hl1"), h2 = P(c, "hl2");
  WriteFile(h1, "H");
  link(h1.c_str(), h2.c_str());
  ExpectErrno("rename onto another link of the same inode succeeds", rename(h1.c_str(), h2.c_str()),
              0);
  ExpectErrno("and both names remain", access(h1.c_str(), F_OK), 0);
}

}  // namespace posix_check
