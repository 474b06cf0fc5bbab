// posix_check: a POSIX conformance program run over a mounted file system.
// The harness numbers checks, prints "ok N - ..." / "not ok N - ...", and
// shares its counters with children that drop privileges.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

namespace posix_check {

struct Identity {
  unsigned uid = 65534, gid = 65534;
  unsigned extra_group = 65533;  // a supplementary group of the identity
};

struct Context {
  std::string dir;    // scratch directory (mode 0777)
  bool root = false;  // running as root
  Identity user;      // the unprivileged identity
};

// Records one check. `detail` explains a failure.
void Report(bool ok, const std::string& desc, const std::string& detail = "");
void Skip(const std::string& desc, const std::string& why);
// rc == -1 with errno == want (or rc >= 0 when want == 0).
void ExpectErrno(const std::string& desc, long rc, int want);
void ExpectTrue(const std::string& desc, bool cond, const std::string& detail = "");
template <typename T>
void ExpectEq(const std::string& desc, const T& want, const T& got) {
  ExpectTrue(desc, want == got,
             "expected " + std::to_string(want) + ", got " + std::to_string(got));
}
std::string ErrnoName(int e);

// Runs `fn` in a child with the unprivileged identity (its groups: gid and
// extra_group, plus `more_groups` if non-zero); the child's checks count.
void AsUser(const Context& c, void (*fn)(const Context&), unsigned more_group = 0);

// Path helpers.
std::string P(const Context& c, const std::string& name);
bool WriteFile(const std::string& path, const std::string& data, int mode = 0644);
std::string ReadFile(const std::string& path);

// The check groups.
void FileChecks(const Context& c);
void DirChecks(const Context& c);
void RenameChecks(const Context& c);
void LinkChecks(const Context& c);
void AttrChecks(const Context& c);
void XattrChecks(const Context& c);
void PermissionChecks(const Context& c);
void MiscChecks(const Context& c);

}  // namespace posix_check
