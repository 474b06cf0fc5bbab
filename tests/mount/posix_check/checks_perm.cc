// Permissions, checked from a child that runs as an unprivileged user
// (uid/gid from --unprivileged, with one supplementary group).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"

namespace posix_check {
namespace {

constexpr unsigned kOtherGid = 4242;

std::string D(const Context& c, const std::string& n) { return P(c, "perm/" + n); }

void MakeOwned(const Context& c, const std::string& name, int mode, unsigned uid, unsigned gid) {
  WriteFile(D(c, name), "secret");
  chown(D(c, name).c_str(), uid, gid);
  chmod(D(c, name).c_str(), mode);
}

void UserChecks(const Context& c) {
  ExpectErrno("other: a 0600 root file cannot be read (EACCES)",
              open(D(c, "root600").c_str(), O_RDONLY), EACCES);
  ExpectErrno("other: a 0644 root file can be read", open(D(c, "root644").c_str(), O_RDONLY), 0);
  ExpectErrno("other: a 0644 root file cannot be written (EACCES)",
              open(D(c, "root644").c_str(), O_WRONLY), EACCES);
  ExpectErrno("group: a supplementary group grants read+write",
              open(D(c, "group660").c_str(), O_RDWR), 0);
  ExpectErrno("owner: the owner class denies even when other allows",
              open(D(c, "owner077").c_str(), O_RDONLY), EACCES);
  ExpectErrno("access W_OK on a 0644 root file fails EACCES", access(D(c, "root644").c_str(), W_OK),
              EACCES);
  ExpectErrno("access R_OK on a 0644 root file", access(D(c, "root644").c_str(), R_OK), 0);
  ExpectErrno("creating in a 0555 directory fails EACCES",
              open(D(c, "ro/new").c_str(), O_CREAT | O_WRONLY, 0644), EACCES);
  ExpectErrno("mkdir in a 0555 directory fails EACCES", mkdir(D(c, "ro/sub").c_str(), 0755),
              EACCES);
  struct stat st;
  ExpectErrno("stat below a 0700 root directory fails EACCES",
              stat(D(c, "private/inner").c_str(), &st), EACCES);
  ExpectErrno("an execute-only directory: a known name is reachable",
              stat(D(c, "xonly/known").c_str(), &st), 0);
  ExpectErrno("an execute-only directory cannot be listed (EACCES)",
              open(D(c, "xonly").c_str(), O_RDONLY | O_DIRECTORY), EACCES);
  ExpectErrno("sticky dir: another user's file cannot be unlinked (EPERM)",
              unlink(D(c, "sticky/rootfile").c_str()), EPERM);
  ExpectErrno("sticky dir: another user's file cannot be renamed (EPERM)",
              rename(D(c, "sticky/rootfile").c_str(), D(c, "sticky/mine").c_str()), EPERM);
  ExpectTrue("sticky dir: a user creates a file", WriteFile(D(c, "sticky/own"), "o"));
  ExpectErrno("sticky dir: a user removes his own file", unlink(D(c, "sticky/own").c_str()), 0);
  ExpectTrue("setgid dir: a user creates a file", WriteFile(D(c, "sgid/f"), "g"));
  stat(D(c, "sgid/f").c_str(), &st);
  ExpectEq("setgid dir: the new file takes the directory's group", static_cast<long>(kOtherGid),
           static_cast<long>(st.st_gid));
  ExpectErrno("setgid dir: mkdir", mkdir(D(c, "sgid/d").c_str(), 0755), 0);
  stat(D(c, "sgid/d").c_str(), &st);
  ExpectTrue("setgid dir: the new subdirectory inherits S_ISGID", (st.st_mode & S_ISGID) != 0);
  int fd = open(D(c, "suid").c_str(), O_WRONLY);
  ExpectTrue("a user opens a 04777 root file for writing", fd >= 0, ErrnoName(errno));
  if (fd >= 0) {
    write(fd, "w", 1);
    close(fd);
  }
  stat(D(c, "suid").c_str(), &st);
  ExpectTrue("a write by another user clears S_ISUID", (st.st_mode & S_ISUID) == 0,
             "mode " + std::to_string(st.st_mode & 07777));
  ExpectErrno("chmod of another user's file fails EPERM", chmod(D(c, "root644").c_str(), 0777),
              EPERM);
  ExpectTrue("a user creates his own file", WriteFile(D(c, "userfile"), "u"));
  ExpectErrno("chown of his own file to root fails EPERM", chown(D(c, "userfile").c_str(), 0, -1),
              EPERM);
  ExpectErrno("chgrp to a group he belongs to",
              chown(D(c, "userfile").c_str(), -1, c.user.extra_group), 0);
  ExpectErrno("chgrp to a group he is not in fails EPERM",
              chown(D(c, "userfile").c_str(), -1, kOtherGid + 1), EPERM);
  struct timespec explicit_times[2] = {{1000, 0}, {1000, 0}};
  ExpectErrno("explicit utimes on another user's writable file fail EPERM",
              utimensat(AT_FDCWD, D(c, "world666").c_str(), explicit_times, 0), EPERM);
  ExpectErrno("UTIME_NOW on another user's writable file is allowed",
              utimensat(AT_FDCWD, D(c, "world666").c_str(), nullptr, 0), 0);
  ExpectErrno("UTIME_NOW on a file he cannot write fails EACCES",
              utimensat(AT_FDCWD, D(c, "root644").c_str(), nullptr, 0), EACCES);
  ExpectErrno("truncate without write permission fails EACCES",
              truncate(D(c, "root644").c_str(), 0), EACCES);
  ExpectErrno("mknod of a device as a user fails EPERM",
              mknod(D(c, "sticky/dev").c_str(), S_IFCHR | 0600, makedev(1, 3)), EPERM);
  ExpectErrno("setting a trusted.* xattr as a user fails EPERM",
              setxattr(D(c, "world666").c_str(), "trusted.x", "1", 1, 0), EPERM);
  char buf[16];
  ExpectErrno("reading a trusted.* xattr as a user fails ENODATA",
              getxattr(D(c, "world666").c_str(), "trusted.t", buf, sizeof(buf)), ENODATA);
  ExpectErrno("setting a user.* xattr without write permission fails EACCES",
              setxattr(D(c, "root644").c_str(), "user.x", "1", 1, 0), EACCES);
  ExpectErrno("setting a user.* xattr on his own file",
              setxattr(D(c, "userfile").c_str(), "user.x", "1", 1, 0), 0);
  ExpectErrno("unlinking in a directory without write permission fails EACCES",
              unlink(D(c, "ro/present").c_str()), EACCES);
}

}  // namespace

void PermissionChecks(const Context& c) {
  if (!c.root) {
    Skip("permission checks as another user", "needs root to set up and switch users");
    return;
  }
  const unsigned u = c.user.uid, g = c.user.gid;
  mkdir(P(c, "perm").c_str(), 0777);
  chmod(P(c, "perm").c_str(), 0777);
  MakeOwned(c, "root600", 0600, 0, 0);
  MakeOwned(c, "root644", 0644, 0, 0);
  MakeOwned(c, "group660", 0660, 0, c.user.extra_group);
  MakeOwned(c, "owner077", 0077, u, g);
  MakeOwned(c, "world666", 0666, 0, 0);
  setxattr(D(c, "world666").c_str(), "trusted.t", "1", 1, 0);
  MakeOwned(c, "suid", 04777, 0, 0);
  mkdir(D(c, "ro").c_str(), 0555);
  WriteFile(D(c, "ro/present"), "p");
  chmod(D(c, "ro").c_str(), 0555);
  mkdir(D(c, "private").c_str(), 0700);
  WriteFile(D(c, "private/inner"), "i");
  mkdir(D(c, "xonly").c_str(), 0711);
  WriteFile(D(c, "xonly/known"), "k");
  chmod(D(c, "xonly").c_str(), 0711);
  mkdir(D(c, "sticky").c_str(), 0777);
  chmod(D(c, "sticky").c_str(), 01777);
  MakeOwned(c, "sticky/rootfile", 0666, 0, 0);
  mkdir(D(c, "sgid").c_str(), 0777);
  chown(D(c, "sgid").c_str(), 0, kOtherGid);
  chmod(D(c, "sgid").c_str(), 02777);
  AsUser(c, UserChecks);
}

void MiscChecks(const Context& c) {
  // A directory tree several levels deep, then removed bottom-up.
  std::string p = P(c, "deep");
  bool ok = mkdir(p.c_str(), 0755) == 0;
  for (int i = 0; i < 20; ++i) {
    p += "/l" + std::to_string(i);
    ok = ok && mkdir(p.c_str(), 0755) == 0;
  }
  ExpectTrue("a 20-level directory tree", ok);
  ExpectTrue("a file at the bottom of it",
             WriteFile(p + "/leaf", "leaf") && ReadFile(p + "/leaf") == "leaf");
}

}  // namespace posix_check
