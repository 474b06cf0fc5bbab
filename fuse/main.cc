// amlfs-fuse: mounts an amlfs file system.
//
//   amlfs-fuse [--mds HOST:PORT[,...]] [--config FILE] [-o OPTS] [-f] MOUNTPOINT
//   amlfs-fuse SOURCE MOUNTPOINT -o OPTS      (as /sbin/mount.fuse.amlfs)
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net/auth.h"
#include "common/net/http_server.h"
#include "common/net/net_context.h"
#include "common/net/tls.h"
#include "fuse/mount.h"
#include "fuse/observe.h"

using namespace amlfs;
using namespace amlfs::fuse;

namespace {

const char kProg[] = "amlfs-fuse";

int Fail(const std::string& what) {
  PrintFatal(kProg, what);
  return 1;
}

bool IsFstabOnly(const std::string& o) {
  static const char* kIgnored[] = {"defaults", "_netdev", "noauto", "auto", "nofail",
                                   "user",     "users",   "nouser", "rw"};
  for (const char* k : kIgnored)
    if (o == k) return true;
  return o.rfind("x-", 0) == 0 || o.rfind("comment=", 0) == 0;
}

bool g_writeback_cache = false;  // -o writeback_cache: faster writes, weaker coherence

// Sets the kernel's readahead window for the mount at `mountpoint` (found in
// /proc/self/mountinfo: asking the mount itself would wait for this very
// process). Large windows let the kernel keep several stripes in flight.
bool SetReadAhead(const std::string& real, unsigned kb) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, dev;
  while (std::getline(in, line)) {
    std::istringstream is(line);
    std::string id, parent, majmin, root, point;
    is >> id >> parent >> majmin >> root >> point;
    if (point == real && line.find(" - fuse.amlfs ") != std::string::npos) dev = majmin;
  }
  if (dev.empty()) return false;
  const std::string path = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  {
    std::ofstream ra(path);
    ra << kb << '\n';
    ra.flush();
    if (!ra) {
      AMLFS_LOG(kInfo) << "cannot set " << path << " (not root?)";
      return true;  // no use retrying
    }
  }
  std::ifstream back(path);
  unsigned now = 0;
  back >> now;
  return now == kb;
}

std::string g_real_mountpoint;
unsigned g_read_ahead_kb = 16384;

void Init(void*, fuse_conn_info* conn) {
  // The kernel sets the mount's readahead window from the INIT reply, which
  // goes out when this returns (and caps it at 128 KiB): widen it after.
  if (g_read_ahead_kb > 0)
    std::thread([] {
      for (int i = 0; i < 20; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (SetReadAhead(g_real_mountpoint, g_read_ahead_kb)) return;
      }
    }).detach();
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (g_writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

}  // namespace

int main(int argc, char** argv) {
  TuneMallocForIo();
  {
    // For the thread that changes the log level (below): blocked in every thread.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  // "-o config=FILE" must be known before the config file is read.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    if (args[i] != "-o") continue;
    for (const auto& o : Split(args[i + 1], ','))
      if (o.rfind("config=", 0) == 0) {
        args.push_back("--config");
        args.push_back(o.substr(7));
      }
  }

  MountOptions mo;
  std::string mds_list, log_level = "warn", log_file, metrics_listen;
  std::vector<std::string> positionals, o_opts;
  bool foreground = false;
  CLI::App app{"amlfs client: mounts the file system with FUSE", kProg};
  AddCommonOptions(app, "/etc/amlfs/amlfs.conf");
  std::string key_file;
  AddKeyOption(app, &key_file);
  bool tls = false;
  AddTlsOption(app, &tls);
  app.add_option("--mds", mds_list, "Metadata server(s), HOST:PORT[,HOST:PORT...]");
  app.add_option("--io-timeout,--io_timeout", mo.io_timeout,
                 "Seconds before I/O to an unreachable OST fails with EIO")
      ->capture_default_str();
  app.add_option("--mds-timeout,--mds_timeout", mo.mds_timeout,
                 "Seconds before a metadata operation to an unreachable MDS fails")
      ->capture_default_str();
  app.add_option("--attr-timeout,--attr_timeout", mo.attr_timeout,
                 "Seconds the kernel caches attributes")
      ->capture_default_str();
  app.add_option("--entry-timeout,--entry_timeout", mo.entry_timeout,
                 "Seconds the kernel caches directory entries")
      ->capture_default_str();
  app.add_option("--negative-timeout,--negative_timeout", mo.negative_timeout,
                 "Seconds the kernel caches the absence of an entry (0: another node's "
                 "new files are seen at once)")
      ->capture_default_str();
  app.add_option("--threads", mo.threads, "FUSE worker threads")->capture_default_str();
  app.add_option("--write-behind-mb,--write_behind_mb", mo.write_behind_mb,
                 "MiB of written data buffered before it reaches the OSTs (0: write-through); "
                 "close and fsync wait for it")
      ->capture_default_str();
  app.add_option("--log-level,--log_level", log_level, "debug|info|warn|error")
      ->capture_default_str();
  app.add_option("--log-file,--log_file", log_file, "Log to this file");
  app.add_option("--metrics-listen,--metrics_listen", metrics_listen,
                 "Serve /metrics and /healthz over HTTP on HOST:PORT (default: off)");
  app.add_option("--jobid-var,--jobid_var", mo.jobid_var,
                 "Environment variable holding a process's job id (procname_uid: "
                 "COMMAND.UID; disable: none)")
      ->capture_default_str();
  app.add_option("--client-name,--client_name", mo.client_name,
                 "How servers name this mount in per-client statistics (default: "
                 "HOST:MOUNTPOINT)");
  app.add_option("-o", o_opts, "Mount options: mds=, io_timeout=, and FUSE options");
  app.add_flag("-f,--foreground", foreground, "Stay in the foreground");
  app.add_option("mount", positionals, "[SOURCE] MOUNTPOINT")->required()->expected(1, 2);

  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  int rc = RunCli(app, static_cast<int>(cargv.size()), cargv.data());
  if (rc >= 0) return rc;

  std::string mountpoint = positionals.back();
  if (positionals.size() == 2 && positionals[0] != "amlfs" && positionals[0] != "none")
    mds_list = positionals[0];
  std::vector<std::string> fuse_opts = {"allow_other", "default_permissions", "fsname=amlfs",
                                        "subtype=amlfs"};
  for (const auto& group : o_opts) {
    for (const auto& o : Split(group, ',')) {
      auto eq = o.find('=');
      std::string key = o.substr(0, eq), val = eq == std::string::npos ? "" : o.substr(eq + 1);
      try {
        if (key == "mds")
          mds_list = val;
        else if (key == "config")
          continue;
        else if (key == "io_timeout")
          mo.io_timeout = std::stod(val);
        else if (key == "mds_timeout")
          mo.mds_timeout = std::stod(val);
        else if (key == "attr_timeout")
          mo.attr_timeout = std::stod(val);
        else if (key == "entry_timeout")
          mo.entry_timeout = std::stod(val);
        else if (key == "negative_timeout")
          mo.negative_timeout = std::stod(val);
        else if (key == "log_file")
          log_file = val;
        else if (key == "key_file")
          key_file = val;
        else if (key == "tls")
          tls = val != "0" && val != "no" && val != "false";
        else if (key == "log_level")
          log_level = val;
        else if (key == "metrics_listen")
          metrics_listen = val;
        else if (key == "jobid_var")
          mo.jobid_var = val;
        else if (key == "client_name")
          mo.client_name = val;
        else if (key == "write_behind_mb")
          mo.write_behind_mb = std::stoull(val);
        else if (key == "writeback_cache")
          g_writeback_cache = val != "0" && val != "no";
        else if (key == "no_writeback_cache")
          g_writeback_cache = false;
        else if (key == "read_ahead_kb")
          g_read_ahead_kb = static_cast<unsigned>(std::stoul(val));
        else if (IsFstabOnly(o))
          continue;
        else
          fuse_opts.push_back(o);
      } catch (const std::exception&) {
        return Fail("-o " + o + ": not a number");
      }
    }
  }
  LogLevel level;
  if (!ParseLogLevel(log_level, &level))
    return Fail("log_level: '" + log_level + "' is not debug|info|warn|error");
  SetLogLevel(level);
  SetLogComponent("fuse");
  if (!SetLogFile(log_file)) return Fail("log_file: cannot open " + log_file);
  if (Status st = LoadProcessKey(key_file); !st.ok()) return Fail(st.message());
  if (Status st = SetProcessTls(tls); !st.ok()) return Fail(st.message());
  if (mds_list.empty())
    return Fail("no MDS address: give --mds HOST:PORT or set mds in /etc/amlfs/amlfs.conf");
  mo.mds = Split(mds_list, ',');
  for (const auto& m : mo.mds)
    if (auto hp = ParseHostPort(m); !hp.ok()) return Fail("mds: " + hp.status().message());
  if (mo.io_timeout <= 0 || mo.mds_timeout <= 0) return Fail("timeouts must be positive");
  if (mo.attr_timeout < 0 || mo.entry_timeout < 0 || mo.negative_timeout < 0)
    return Fail("cache timeouts must be >= 0");
  if (mo.threads < 1 || mo.threads > 1024) return Fail("threads: must be 1..1024");
  if (Status st = JobIds::Check(mo.jobid_var); !st.ok()) return Fail(st.message());
  std::optional<HostPort> metrics_at;
  if (!metrics_listen.empty()) {
    auto hp = ParseHostPort(metrics_listen, true);
    if (!hp.ok()) return Fail("metrics_listen: " + hp.status().message());
    metrics_at = *hp;
    // A taken port fails the mount now, with a clear line, not after it.
    MetricsHttp probe(nullptr);
    if (metrics_at->port != 0)
      if (Status st = probe.Start(*metrics_at); !st.ok()) return Fail(st.message());
  }

  struct stat st;
  if (stat(mountpoint.c_str(), &st) != 0)
    return Fail("mount point " + mountpoint + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return Fail("mount point " + mountpoint + " is not a directory");

  // Refuse to mount when the MDS cannot be reached (within 10 s).
  {
    NetContext net(1);
    MdsClient probe(
        net, mo.mds,
        std::chrono::milliseconds(static_cast<int64_t>(std::min(mo.mds_timeout, 8.0) * 1000)),
        "probe");
    auto r = probe.Call(FsInfoReq{}, Creds{});
    if (r.status().code() == Code::kNotPermitted) return Fail(r.status().message());
    if (!r.ok()) return Fail("cannot reach MDS at " + mds_list + ": " + r.status().message());
  }

  std::string opts;
  for (const auto& o : fuse_opts) opts += (opts.empty() ? "" : ",") + o;
  std::vector<std::string> fargs_s = {kProg, "-o", opts};
  std::vector<char*> fargv;
  for (auto& a : fargs_s) fargv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(fargv.size()), fargv.data());
  // fuse_session_new may add arguments, which it allocates.
  struct FreeArgs {
    fuse_args* a;
    ~FreeArgs() { fuse_opt_free_args(a); }
  } free_args{&fargs};

  fuse_lowlevel_ops ops{};
  ops.init = Init;
  FillDirOps(ops);
  FillAttrOps(ops);
  FillFileOps(ops);
  std::unique_ptr<Mount> client;
  fuse_session* se = fuse_session_new(&fargs, &ops, sizeof(ops), &client);
  if (!se) return Fail("bad mount options: " + opts);
  if (fuse_set_signal_handlers(se) != 0) return Fail("cannot install signal handlers");
  char real[PATH_MAX];
  g_real_mountpoint = realpath(mountpoint.c_str(), real) ? real : mountpoint;
  if (mo.client_name.empty()) {
    char host[256] = "client";
    gethostname(host, sizeof(host) - 1);
    mo.client_name = std::string(host) + ":" + g_real_mountpoint;
  }
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return Fail("cannot mount on " + mountpoint);
  }
  fuse_daemonize(foreground ? 1 : 0);
  // Network threads start only now: they would not survive the fork above.
  client = std::make_unique<Mount>(mo);
  client->set_session(se);
  metrics::SetIdentity("client", {{"client", mo.client_name}});
  ObserveMount(*client);
  MetricsHttp http([&client] { return MountHealth(*client); });
  if (metrics_at) {
    // Checked before the mount, so this fails only if the port was taken since.
    if (Status st = http.Start(*metrics_at); !st.ok()) {
      AMLFS_LOG(kError) << st.message() << ": serving no metrics";
    } else {
      SetMetricsAddress(http.address());
      AMLFS_LOG(kInfo) << "metrics on http://" << http.address() << "/metrics";
    }
  }
  // SIGUSR1 / SIGUSR2 change the log level (libfuse leaves them alone).
  std::thread log_signals([] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGALRM);
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || sig == SIGALRM) return;
      StepLogLevel(sig);
    }
  });
  AMLFS_LOG(kInfo) << "mounted " << mountpoint << " from " << mds_list;
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(mo.threads));
  fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(std::min(mo.threads, 8)));
  int ret = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  pthread_kill(log_signals.native_handle(), SIGALRM);
  log_signals.join();
  http.Stop();
  // Before the session goes: requests still waiting for the MDS are answered
  // from network threads, through the session, as the client shuts down.
  client.reset();
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  return ret == 0 ? 0 : 1;
}
