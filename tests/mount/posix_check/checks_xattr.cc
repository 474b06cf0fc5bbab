// Extended attributes.
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"

namespace posix_check {

void XattrChecks(const Context& c) {
  const std::string f = P(c, "xa");
  WriteFile(f, "x");
  const char* p = f.c_str();
  char buf[128];
  ExpectErrno("setxattr user.a", setxattr(p, "user.a", "value1", 6, 0), 0);
  ExpectEq("getxattr returns the length", 6L,
           static_cast<long>(getxattr(p, "user.a", buf, sizeof(buf))));
  ExpectTrue("getxattr returns the value", std::string(buf, 6) == "value1");
  ExpectEq("getxattr with size 0 probes the length", 6L,
           static_cast<long>(getxattr(p, "user.a", nullptr, 0)));
  ExpectErrno("getxattr into a small buffer fails ERANGE", getxattr(p, "user.a", buf, 3), ERANGE);
  ExpectErrno("getxattr of a missing name fails ENODATA", getxattr(p, "user.none", buf, 128),
              ENODATA);
  ExpectErrno("XATTR_CREATE on an existing name fails EEXIST",
              setxattr(p, "user.a", "v", 1, XATTR_CREATE), EEXIST);
  ExpectErrno("XATTR_REPLACE on a missing name fails ENODATA",
              setxattr(p, "user.b", "v", 1, XATTR_REPLACE), ENODATA);
  ExpectErrno("XATTR_REPLACE on an existing name", setxattr(p, "user.a", "v2", 2, XATTR_REPLACE),
              0);
  ExpectEq("the replaced value reads back", 2L, static_cast<long>(getxattr(p, "user.a", buf, 128)));
  setxattr(p, "user.second", "2", 1, 0);
  char list[256];
  ssize_t n = listxattr(p, list, sizeof(list));
  std::string names(list, n > 0 ? static_cast<size_t>(n) : 0);
  ExpectTrue(
      "listxattr lists both names",
      names.find("user.a") != std::string::npos && names.find("user.second") != std::string::npos,
      "got " + std::to_string(n) + " bytes");
  ExpectErrno("listxattr into a small buffer fails ERANGE", listxattr(p, list, 2), ERANGE);
  std::string big(3000, 'v');
  ExpectErrno("a 3,000-byte value is accepted", setxattr(p, "user.big", big.data(), big.size(), 0),
              0);
  std::string back(4096, '\0');
  ExpectEq("the 3,000-byte value reads back", 3000L,
           static_cast<long>(getxattr(p, "user.big", back.data(), back.size())));
  std::string huge(65537, 'h');
  ExpectErrno("a value over 64 KiB fails E2BIG",
              setxattr(p, "user.huge", huge.data(), huge.size(), 0), E2BIG);
  ExpectErrno("removexattr", removexattr(p, "user.second"), 0);
  ExpectErrno("the removed name is gone", getxattr(p, "user.second", buf, 128), ENODATA);
  ExpectErrno("removexattr of a missing name fails ENODATA", removexattr(p, "user.second"),
              ENODATA);
  ExpectErrno("user xattrs on a directory", setxattr(c.dir.c_str(), "user.d", "1", 1, 0), 0);
  const std::string sl = P(c, "xsym");
  symlink("xa", sl.c_str());
  ExpectErrno("lsetxattr user.* on a symlink fails EPERM",
              lsetxattr(sl.c_str(), "user.x", "1", 1, 0), EPERM);
  if (c.root) {
    ExpectErrno("root sets a trusted.* xattr", setxattr(p, "trusted.t", "tv", 2, 0), 0);
    ExpectEq("root reads the trusted.* xattr", 2L,
             static_cast<long>(getxattr(p, "trusted.t", buf, 128)));
  } else {
    Skip("trusted.* xattrs as root", "not root");
  }
}

}  // namespace posix_check
