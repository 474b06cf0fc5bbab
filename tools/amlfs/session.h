// What every subcommand needs: the amlfs mount a path is on, a connection
// to its metadata server (and OSTs, for migrate), and the Lustre-style
// conventions shared by the output (FIDs, target names, error lines).
// A Session owns its Cluster (common/client/cluster.h); its calls may be
// made from any thread, as the Cluster's objects are thread-safe.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/client/cluster.h"
#include "common/client/mds_client.h"
#include "common/client/ost_pool.h"
#include "common/client/striped_io.h"
#include "common/net/net_context.h"  // for the subcommands that make their own RpcClients
#include "common/protocol.h"

namespace amlfs::tools {

// The program name errors are printed under ("lfs" or "amlfs").
extern std::string g_prog;

// Prints "<prog> <cmd>: <what>" to stderr. Returns `code` for `return Fail(...)`.
int Fail(const std::string& cmd, const std::string& what, int code = 1);

struct Mount {
  std::string root;              // the mount point
  std::vector<std::string> mds;  // metadata server addresses
};

// The amlfs mount holding `path` (which must exist; symlinks followed).
// kNotFound for a missing path, kInvalid "not an amlfs file system".
Result<Mount> MountOf(const std::string& path);
// Every amlfs mount on this node, in mount order.
std::vector<Mount> AllMounts();

// When no key was given (--key-file, $AMLFS_KEY_FILE, the default file),
// loads the one mount `m` uses, if it has one (it says where in its
// mount_xattr::kKeyFile attribute) and this user may read it.
Status UseMountKey(const Mount& m);

class Session {
 public:
  // `timeout`: each call's deadline, the first (FsInfo) included.
  static Result<std::unique_ptr<Session>> Connect(
      const Mount& m, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Session();

  const Mount& mount() const { return mount_; }
  const FsInfoRsp& info() const { return info_; }
  MdsClient& mds() { return cluster_->mds(); }
  const Creds& creds() const { return creds_; }
  // The OSTs' I/O path (migrate), and each OST's client (scrub).
  StripedIo& io() { return cluster_->io(); }
  OstPool& osts() { return cluster_->pool(); }

  template <typename Req>
  Result<typename Req::Response> Call(Req r) {
    return mds().Call(std::move(r), creds_);
  }

  // "<fs_name>-OST0003_UUID" and "<fs_name>-MDT0000_UUID".
  std::string OstUuid(OstIndex i) const;
  std::string MdtUuid(uint32_t i) const;

 private:
  Session() = default;
  Mount mount_;
  FsInfoRsp info_;
  Creds creds_;
  std::unique_ptr<Cluster> cluster_;
};

// A path that exists on an amlfs mount, with its stat and a session.
struct Target {
  std::string path;
  struct stat st {};
  std::unique_ptr<Session> session;
};
// stat()s `path` and connects to its file system; on failure prints one line
// for `cmd` and returns null.
std::unique_ptr<Target> OpenTarget(const std::string& cmd, const std::string& path);

// Lustre FIDs for amlfs inodes: [0x200000400 + (ino >> 32) : ino & 0xffffffff : 0].
std::string FidOf(uint64_t ino);
std::string FidNoBrace(uint64_t ino);
Result<uint64_t> InoOfFid(const std::string& fid);

}  // namespace amlfs::tools
