// The extended attributes an amlfs mount answers itself, without asking the
// MDS: how the tools (tools/amlfs, lfs) learn from a path which cluster the
// mount under it talks to, and how. fuse/ops_attr.cc serves them (getxattr
// on any inode of the mount; listxattr does not list them) and
// tools/amlfs/session.cc reads them from the mount root; both use the names
// and formats below, so the two sides cannot drift apart.
//
// Values are plain text without a trailing NUL. A name whose value the mount
// does not have (no key file, no TLS, no metrics port) is answered with
// ENODATA, as a missing attribute. Constants and pure functions only:
// thread-safe, nothing owned.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace amlfs::mount_xattr {

// The metadata server addresses the mount was given, in its order:
// "host:port,host:port" (FormatMdsList / ParseMdsList).
inline constexpr char kMds[] = "amlfs.mds";
// The path of the cluster key file the mount uses (never the key itself),
// so that the tools of a user who may read it load the same one.
inline constexpr char kKeyFile[] = "amlfs.key_file";
// "1" when the mount's connections run inside TLS.
inline constexpr char kTls[] = "amlfs.tls";
inline constexpr char kTlsOn[] = "1";
// "host:port" where the mount serves /metrics and /healthz.
inline constexpr char kMetrics[] = "amlfs.metrics";

// The value of kMds for `addresses`.
inline std::string FormatMdsList(const std::vector<std::string>& addresses) {
  std::string out;
  for (const std::string& a : addresses) {
    if (!out.empty()) out += ',';
    out += a;
  }
  return out;
}

// The addresses in a kMds value; empty entries are skipped.
inline std::vector<std::string> ParseMdsList(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view a = value.substr(0, comma);
    if (!a.empty()) out.emplace_back(a);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace amlfs::mount_xattr
