// Links, special files, attributes and timestamps, statfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"

namespace posix_check {
namespace {

struct stat Stat(const std::string& p) {
  struct stat st {};
  lstat(p.c_str(), &st);
  return st;
}

bool Later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

}  // namespace

void LinkChecks(const Context& c) {
  const std::string f = P(c, "lf"), l = P(c, "lf.link");
  WriteFile(f, "data");
  ExpectErrno("link creates a second name", link(f.c_str(), l.c_str()), 0);
  ExpectEq("nlink is 2 after link", 2L, static_cast<long>(Stat(f).st_nlink));
  ExpectEq("both names are one inode", static_cast<long>(Stat(f).st_ino),
           static_cast<long>(Stat(l).st_ino));
  ExpectErrno("link onto an existing name fails EEXIST", link(f.c_str(), l.c_str()), EEXIST);
  ExpectErrno("link to a directory fails EPERM", link(c.dir.c_str(), P(c, "dirlink").c_str()),
              EPERM);
  ExpectErrno("unlink one name", unlink(f.c_str()), 0);
  ExpectEq("nlink drops to 1", 1L, static_cast<long>(Stat(l).st_nlink));
  ExpectTrue("the other name keeps the data", ReadFile(l) == "data");

  const std::string s = P(c, "sym"), t = P(c, "sym.target");
  WriteFile(t, "target");
  ExpectErrno("symlink with a relative target", symlink("sym.target", s.c_str()), 0);
  ExpectTrue("lstat sees a symlink", S_ISLNK(Stat(s).st_mode));
  char buf[256] = {};
  ExpectEq("readlink returns the target length", 10L,
           static_cast<long>(readlink(s.c_str(), buf, sizeof(buf))));
  ExpectTrue("readlink returns the target", std::string(buf, 10) == "sym.target");
  ExpectTrue("open follows the symlink", ReadFile(s) == "target");
  struct stat st;
  stat(s.c_str(), &st);
  ExpectTrue("stat follows the symlink", S_ISREG(st.st_mode));
  ExpectErrno("readlink of a regular file fails EINVAL", readlink(t.c_str(), buf, sizeof(buf)),
              EINVAL);
  ExpectErrno("O_NOFOLLOW on a symlink fails ELOOP", open(s.c_str(), O_RDONLY | O_NOFOLLOW), ELOOP);
  const std::string dang = P(c, "dangling");
  ExpectErrno("a dangling symlink can be made", symlink("/nonexistent/x", dang.c_str()), 0);
  ExpectErrno("opening a dangling symlink fails ENOENT", open(dang.c_str(), O_RDONLY), ENOENT);
  const std::string abs = P(c, "abs");
  ExpectErrno("symlink with an absolute target", symlink(t.c_str(), abs.c_str()), 0);
  ExpectTrue("an absolute symlink resolves", ReadFile(abs) == "target");
  ExpectErrno("symlink onto an existing name fails EEXIST", symlink("x", s.c_str()), EEXIST);

  const std::string fifo = P(c, "fifo"), sock = P(c, "sock");
  ExpectErrno("mknod makes a FIFO", mknod(fifo.c_str(), S_IFIFO | 0644, 0), 0);
  ExpectTrue("the FIFO is S_IFIFO", S_ISFIFO(Stat(fifo).st_mode));
  ExpectErrno("mknod makes a socket", mknod(sock.c_str(), S_IFSOCK | 0644, 0), 0);
  ExpectTrue("the socket is S_IFSOCK", S_ISSOCK(Stat(sock).st_mode));
  if (c.root) {
    const std::string chr = P(c, "chr"), blk = P(c, "blk");
    ExpectErrno("root makes a character device", mknod(chr.c_str(), S_IFCHR | 0600, makedev(1, 3)),
                0);
    ExpectTrue("the device keeps its type and number",
               S_ISCHR(Stat(chr).st_mode) && Stat(chr).st_rdev == makedev(1, 3));
    ExpectErrno("root makes a block device", mknod(blk.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
    ExpectTrue("the block device keeps its type", S_ISBLK(Stat(blk).st_mode));
  } else {
    Skip("root makes device nodes", "not root");
  }
}

void AttrChecks(const Context& c) {
  const std::string f = P(c, "attr");
  WriteFile(f, "abc", 0640);
  struct stat st = Stat(f);
  ExpectTrue("a new file has the requested mode (umask 0)", (st.st_mode & 07777) == 0640,
             "mode " + std::to_string(st.st_mode & 07777));
  ExpectEq("a new file has nlink 1", 1L, static_cast<long>(st.st_nlink));
  ExpectEq("a new file is owned by the creator", static_cast<long>(geteuid()),
           static_cast<long>(st.st_uid));
  ExpectEq("a new file has the creator's group", static_cast<long>(getegid()),
           static_cast<long>(st.st_gid));
  ExpectErrno("chmod", chmod(f.c_str(), 0600), 0);
  ExpectTrue("chmod changes the mode", (Stat(f).st_mode & 07777) == 0600);
  int fd = open(f.c_str(), O_RDONLY);
  ExpectErrno("fchmod", fchmod(fd, 0644), 0);
  close(fd);
  ExpectTrue("fchmod changes the mode", (Stat(f).st_mode & 07777) == 0644);

  // Timestamps.
  struct timespec times[2] = {{1000000000, 111}, {1200000000, 222}};
  ExpectErrno("utimensat with explicit times", utimensat(AT_FDCWD, f.c_str(), times, 0), 0);
  st = Stat(f);
  ExpectTrue("atime set exactly", st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 111);
  ExpectTrue("mtime set exactly", st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 222);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ExpectErrno("utimensat with UTIME_OMIT and UTIME_NOW", utimensat(AT_FDCWD, f.c_str(), omit, 0),
              0);
  struct stat st2 = Stat(f);
  ExpectTrue("UTIME_OMIT leaves atime alone", st2.st_atim.tv_sec == 1000000000);
  ExpectTrue("UTIME_NOW sets mtime to now", st2.st_mtim.tv_sec > 1600000000);
  struct stat before = Stat(f);
  usleep(20000);
  ExpectErrno("chmod again", chmod(f.c_str(), 0640), 0);
  struct stat after = Stat(f);
  ExpectTrue("chmod updates ctime", Later(after.st_ctim, before.st_ctim));
  ExpectTrue("chmod leaves mtime alone", after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                                             after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
  usleep(20000);
  fd = open(f.c_str(), O_WRONLY);
  write(fd, "more", 4);
  close(fd);
  struct stat written = Stat(f);
  ExpectTrue("a write updates mtime", Later(written.st_mtim, after.st_mtim));
  ExpectTrue("a write updates ctime", Later(written.st_ctim, after.st_ctim));
  usleep(20000);
  const std::string parent = P(c, "tsdir");
  mkdir(parent.c_str(), 0755);
  struct stat pbefore = Stat(parent);
  usleep(20000);
  WriteFile(parent + "/child", "");
  ExpectTrue("creating an entry updates the directory's mtime",
             Later(Stat(parent).st_mtim, pbefore.st_mtim));
  pbefore = Stat(parent);
  usleep(20000);
  unlink((parent + "/child").c_str());
  ExpectTrue("removing an entry updates the directory's mtime",
             Later(Stat(parent).st_mtim, pbefore.st_mtim));

  if (c.root) {
    const std::string o = P(c, "owned");
    WriteFile(o, "x");
    ExpectErrno("root chowns a file to another user", chown(o.c_str(), 1234, 5678), 0);
    st = Stat(o);
    ExpectTrue("the owner and group changed", st.st_uid == 1234 && st.st_gid == 5678);
    ExpectErrno("chown with -1 -1 changes nothing", chown(o.c_str(), -1, -1), 0);
    st = Stat(o);
    ExpectTrue("owner kept after chown(-1,-1)", st.st_uid == 1234 && st.st_gid == 5678);
    ExpectErrno("chown of only the group", chown(o.c_str(), -1, 4321), 0);
    ExpectTrue("only the group changed", Stat(o).st_uid == 1234 && Stat(o).st_gid == 4321);
    chmod(o.c_str(), 06755);
    ExpectErrno("chown of a setuid file", chown(o.c_str(), 2000, 2000), 0);
    ExpectTrue("chown clears S_ISUID and S_ISGID", (Stat(o).st_mode & 06000) == 0,
               "mode " + std::to_string(Stat(o).st_mode & 07777));
    const std::string sl = P(c, "lsym");
    symlink("x", sl.c_str());
    ExpectErrno("lchown of a symlink", lchown(sl.c_str(), 3000, 3000), 0);
    ExpectEq("lchown changed the link's owner", 3000L, static_cast<long>(Stat(sl).st_uid));
  } else {
    Skip("chown to other users", "not root");
  }

  struct statvfs sv;
  ExpectErrno("statvfs", statvfs(c.dir.c_str(), &sv), 0);
  ExpectTrue("f_bsize is positive", sv.f_bsize > 0);
  ExpectTrue("f_blocks is positive", sv.f_blocks > 0);
  ExpectTrue("f_bfree <= f_blocks", sv.f_bfree <= sv.f_blocks);
  ExpectTrue("f_namemax is 255", sv.f_namemax == 255, std::to_string(sv.f_namemax));
  ExpectErrno("access F_OK on an existing file", access(f.c_str(), F_OK), 0);
  ExpectErrno("access R_OK|W_OK as the owner", access(f.c_str(), R_OK | W_OK), 0);
  ExpectErrno("access X_OK on a non-executable file fails EACCES", access(f.c_str(), X_OK), EACCES);
}

}  // namespace posix_check
