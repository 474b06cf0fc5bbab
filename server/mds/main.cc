// amlfs-mds: the metadata server.
#include <CLI/CLI.hpp>

#include "common/client/ost_pool.h"
#include "common/client/striped_io.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/layout.h"
#include "common/log.h"
#include "common/net/net_context.h"
#include "common/net/rpc_server.h"
#include "server/mds/mds.h"
#include "server/mds/service.h"

using namespace amlfs;

int main(int argc, char** argv) {
  TuneMallocForIo();
  BlockStopSignals();
  std::string data, listen = "0.0.0.0:9400", fs_name = "amlfs", stripe_size = "1M";
  std::string log_level = "info", log_file, ready_file;
  int stripe_count = 1, workers = 8;
  double ost_timeout = 6, ost_rpc_timeout = 30, lock_lease = 15;
  bool sync_writes = false;
  CLI::App app{"amlfs metadata server: the namespace, layouts and the OST table", "amlfs-mds"};
  AddCommonOptions(app, "/etc/amlfs/mds.conf");
  app.add_option("--data", data, "Data directory (created if missing)")->required();
  app.add_option("--listen", listen, "Address to serve on, HOST:PORT (port 0 = any free)")
      ->capture_default_str();
  app.add_option("--fs-name,--fs_name", fs_name, "File system name")->capture_default_str();
  app.add_option("--default-stripe-count,--default_stripe_count", stripe_count,
                 "Stripe count of new files (-1 = every OST)")->capture_default_str();
  app.add_option("--default-stripe-size,--default_stripe_size", stripe_size,
                 "Stripe size of new files (multiple of 64K; K/M/G suffixes)")
      ->capture_default_str();
  app.add_option("--ost-timeout,--ost_timeout", ost_timeout,
                 "Seconds without a heartbeat before an OST is down")->capture_default_str();
  app.add_option("--ost-rpc-timeout,--ost_rpc_timeout", ost_rpc_timeout,
                 "Seconds to wait for an OST when truncating or destroying objects")
      ->capture_default_str();
  app.add_option("--sync-writes,--sync_writes", sync_writes,
                 "fsync the metadata log on every change (survives power loss, slower)")
      ->capture_default_str();
  app.add_option("--lock-lease,--lock_lease", lock_lease,
                 "Seconds a silent client keeps its fcntl/flock locks")->capture_default_str();
  app.add_option("--workers", workers, "Worker threads")->capture_default_str();
  app.add_option("--log-level,--log_level", log_level, "debug|info|warn|error")
      ->capture_default_str();
  app.add_option("--log-file,--log_file", log_file, "Log to this file instead of stderr");
  app.add_option("--ready-file,--ready_file", ready_file,
                 "Write the bound HOST:PORT here once serving");
  int rc = RunCli(app, argc, argv);
  if (rc >= 0) return rc;

  const std::string prog = "amlfs-mds";
  auto fail = [&](const std::string& what) {
    PrintFatal(prog, what);
    return 1;
  };
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) return fail("log_level: '" + log_level + "' is not debug|info|warn|error");
  SetLogLevel(level);
  if (!SetLogFile(log_file)) return fail("log_file: cannot open " + log_file);
  SetLogComponent("mds");
  auto size = ParseSize(stripe_size);
  if (!size.ok()) return fail("default_stripe_size: " + size.status().message());
  if (Status st = ValidateStripeSize(*size); !st.ok()) return fail("default_stripe_size: " + st.message());
  if (stripe_count < -1 || stripe_count == 0 || stripe_count > static_cast<int>(kMaxStripeCount))
    return fail("default_stripe_count: " + std::to_string(stripe_count) + " is not -1 or 1.." +
                std::to_string(kMaxStripeCount));
  if (ost_timeout <= 0) return fail("ost_timeout: must be positive");
  if (ost_rpc_timeout <= 0) return fail("ost_rpc_timeout: must be positive");
  if (workers < 1 || workers > 256) return fail("workers: must be 1..256");
  auto where = ParseHostPort(listen, true);
  if (!where.ok()) return fail("listen: " + where.status().message());
  if (Status st = MakeDirs(data); !st.ok()) return fail(st.message());

  mds::MdsConfig config;
  config.fs_name = fs_name;
  config.default_stripe_count = stripe_count;
  config.default_stripe_size = *size;
  config.ost_timeout = std::chrono::milliseconds(static_cast<int64_t>(ost_timeout * 1000));
  config.sync_writes = sync_writes;
  if (lock_lease < 1) return fail("lock_lease: must be at least 1 second");
  config.lock_lease = std::chrono::milliseconds(static_cast<int64_t>(lock_lease * 1000));

  NetContext net(2);
  OstPool pool(net, "mds");
  StripedIo io(pool, std::chrono::milliseconds(static_cast<int64_t>(ost_rpc_timeout * 1000)));
  auto m = mds::Mds::Open(data, config, &io, &pool);
  if (!m.ok()) return fail(m.status().message());
  mds::MdsService service(m->get());
  // Reads of single records answer from the network thread, and so do the
  // mutations that only write a LevelDB batch when that write is not synced
  // (no disk wait): a hand-off to a worker and back cost more than the work.
  // Whatever may wait on the OSTs or the disk goes to the workers.
  auto quick = [sync_writes](Opcode op) {
    switch (op) {
      case Opcode::kLookup: case Opcode::kGetAttr: case Opcode::kReadlink: case Opcode::kStatFs:
      case Opcode::kGetXattr: case Opcode::kListXattr: case Opcode::kAccess: case Opcode::kFsInfo:
      case Opcode::kOstMap: case Opcode::kGetLayout:
      case Opcode::kGetLk: case Opcode::kSetLk: case Opcode::kLockCancel: case Opcode::kLockRelease:
      case Opcode::kLockRenew:  // in memory; a waiting SetLk is answered later, not waited for
        return true;
      case Opcode::kCreate: case Opcode::kMknod: case Opcode::kMkdir: case Opcode::kUnlink:
      case Opcode::kRmdir: case Opcode::kRename: case Opcode::kLink: case Opcode::kSymlink:
      case Opcode::kRelease: case Opcode::kSetXattr: case Opcode::kRemoveXattr:
      case Opcode::kUpdateSize: case Opcode::kAppend:
        return !sync_writes;
      default:
        return false;
    }
  };
  RpcServer server(RpcServer::Options{"mds", 2, workers, quick},
                   [&service](std::shared_ptr<RpcCall> call) { service.Handle(std::move(call)); });
  if (Status st = server.Listen(*where); !st.ok()) return fail(st.message());
  server.Start();
  (*m)->StartBackground();
  std::string bound = where->host + ":" + std::to_string(server.port());
  AMLFS_LOG(kInfo) << "listening on " << bound << " (data " << data << ")";
  if (Status st = WriteReadyFile(ready_file, bound); !st.ok()) AMLFS_LOG(kWarn) << st.message();
  WaitForStopSignal();
  AMLFS_LOG(kInfo) << "stopping";
  server.Stop();
  return 0;
}
