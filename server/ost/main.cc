// amlfs-ost: an object storage target.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <atomic>
#include <condition_variable>
#include <csignal>

#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "common/client/mds_client.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net/auth.h"
#include "common/net/http_server.h"
#include "common/net/net_context.h"
#include "common/net/rpc_server.h"
#include "common/net/tls.h"
#include "server/ost/object_store.h"
#include "server/ost/ost_service.h"

using namespace amlfs;

namespace {

struct Options {
  std::string data;
  std::string listen = "0.0.0.0:9500";
  std::string mds;
  std::string advertise;
  int index = -1;
  double heartbeat_interval = 2;
  int workers = 8;
  std::string log_level = "info";
  std::string log_file;
  std::string ready_file;
  std::string metrics_listen = "0.0.0.0:9501";
};

// The OST's /healthz: its disk takes a small synced write, and the MDS
// answered its last heartbeat.
std::vector<HealthCheck> CheckHealth(const std::string& data,
                                     const std::atomic<int64_t>& last_heard,
                                     double heartbeat_interval) {
  std::vector<HealthCheck> checks;
  const std::string probe = data + "/.healthz";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written = fd >= 0 && ::write(fd, "ok\n", 3) == 3 && ::fsync(fd) == 0;
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (written)
    checks.push_back({HealthCheck::State::kOk, "disk: " + data + " writable"});
  else
    checks.push_back(
        {HealthCheck::State::kFail, "disk: cannot write " + probe + ": " + std::strerror(err)});
  const int64_t heard = last_heard.load();
  const double ago =
      heard == 0
          ? -1
          : std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch() -
                                          std::chrono::nanoseconds(heard))
                .count();
  // Three missed heartbeats (at least 6 s) and the MDS counts this OST down.
  if (heard != 0 && ago <= std::max(6.0, 3 * heartbeat_interval)) {
    checks.push_back(
        {HealthCheck::State::kOk,
         "mds: last heartbeat answered " + std::to_string(static_cast<int>(ago)) + " s ago"});
  } else {
    checks.push_back(
        {HealthCheck::State::kFail, heard == 0 ? std::string("mds: not registered yet")
                                               : "mds: no heartbeat answered for " +
                                                     std::to_string(static_cast<int>(ago)) + " s"});
  }
  return checks;
}

// Reads or creates DIR/ost.id; returns the uuid.
Result<std::string> FormatOrCheck(const std::string& dir, int index) {
  std::string path = dir + "/ost.id";
  std::ifstream in(path);
  if (in.good()) {
    std::string line, uuid;
    int found = -1;
    while (std::getline(in, line)) {
      if (line.rfind("index=", 0) == 0) found = std::stoi(line.substr(6));
      if (line.rfind("uuid=", 0) == 0) uuid = line.substr(5);
    }
    if (found != index)
      return Error(Code::kInvalid, "data directory " + dir + " belongs to OST index " +
                                       std::to_string(found) + ", not " + std::to_string(index));
    return uuid;
  }
  std::random_device rd;
  std::ostringstream uuid;
  uuid << std::hex << rd() << rd() << rd() << rd();
  std::ostringstream body;
  body << "index=" << index << "\nuuid=" << uuid.str();
  AMLFS_RETURN_IF_ERROR(WriteReadyFile(path, body.str()));
  return uuid.str();
}

}  // namespace

int main(int argc, char** argv) {
  TuneMallocForIo();
  RaiseOpenFileLimit();
  BlockStopSignals();
  Options o;
  CLI::App app{"amlfs object storage target: stores file stripes as checksummed objects",
               "amlfs-ost"};
  AddCommonOptions(app, "/etc/amlfs/ost.conf");
  std::string key_file, allow_text;
  AddKeyOption(app, &key_file);
  bool tls = false;
  AddTlsOption(app, &tls);
  AddAllowOption(app, &allow_text);
  app.add_option("--data", o.data, "Data directory (created if missing)")->required();
  app.add_option("--listen", o.listen, "Address to serve on, HOST:PORT (port 0 = any free)")
      ->capture_default_str();
  app.add_option("--mds", o.mds,
                 "Metadata server HOST:PORT (a replicated MDS: every replica, comma-separated)")
      ->required();
  app.add_option("--index", o.index, "This OST's index (0..65535)")->required();
  app.add_option("--advertise", o.advertise,
                 "Address clients use to reach this OST (default: the listen address)");
  app.add_option("--heartbeat-interval,--heartbeat_interval", o.heartbeat_interval,
                 "Seconds between heartbeats to the MDS")
      ->capture_default_str();
  app.add_option("--workers", o.workers, "Disk I/O worker threads")->capture_default_str();
  app.add_option("--log-level,--log_level", o.log_level, "debug|info|warn|error")
      ->capture_default_str();
  app.add_option("--log-file,--log_file", o.log_file, "Log to this file instead of stderr");
  app.add_option("--ready-file,--ready_file", o.ready_file,
                 "Write the bound HOST:PORT here once serving");
  app.add_option("--metrics-listen,--metrics_listen", o.metrics_listen,
                 "Serve /metrics and /healthz over HTTP on HOST:PORT (empty: off)")
      ->capture_default_str();
  int rc = RunCli(app, argc, argv);
  if (rc >= 0) return rc;

  const std::string prog = "amlfs-ost";
  LogLevel level;
  if (!ParseLogLevel(o.log_level, &level))
    return PrintFatal(prog, "log_level: '" + o.log_level + "' is not debug|info|warn|error"), 1;
  SetLogLevel(level);
  if (!SetLogFile(o.log_file)) return PrintFatal(prog, "cannot open log file " + o.log_file), 1;
  if (Status st = LoadProcessKey(key_file); !st.ok()) return PrintFatal(prog, st.message()), 1;
  if (Status st = SetProcessTls(tls); !st.ok()) return PrintFatal(prog, st.message()), 1;
  auto allow = AllowList::Parse(allow_text);
  if (!allow.ok()) return PrintFatal(prog, "allow: " + allow.status().message()), 1;
  if (o.index < 0 || o.index > 65535) return PrintFatal(prog, "index: must be 0..65535"), 1;
  if (o.heartbeat_interval <= 0 || o.heartbeat_interval > 60)
    return PrintFatal(prog, "heartbeat_interval: must be in (0, 60] seconds"), 1;
  if (o.workers < 1 || o.workers > 256) return PrintFatal(prog, "workers: must be 1..256"), 1;
  SetLogComponent("ost" + std::to_string(o.index));
  auto listen = ParseHostPort(o.listen, true);
  if (!listen.ok()) return PrintFatal(prog, "listen: " + listen.status().message()), 1;
  std::optional<HostPort> metrics_at;
  if (!o.metrics_listen.empty()) {
    auto hp = ParseHostPort(o.metrics_listen, true);
    if (!hp.ok()) return PrintFatal(prog, "metrics_listen: " + hp.status().message()), 1;
    metrics_at = *hp;
  }
  // One MDS, or every replica of a replicated one: HOST:PORT[,HOST:PORT...]
  const std::vector<std::string> mds_addrs = Split(o.mds, ',');
  if (mds_addrs.empty()) return PrintFatal(prog, "mds: no HOST:PORT given"), 1;
  for (const std::string& a : mds_addrs)
    if (auto hp = ParseHostPort(a); !hp.ok())
      return PrintFatal(prog, "mds: " + hp.status().message()), 1;
  // The metrics port first: taken, it stops the OST before anything changes.
  std::atomic<int64_t> last_heard{0};  // steady clock, ns: the MDS's last answer
  MetricsHttp http([&] { return CheckHealth(o.data, last_heard, o.heartbeat_interval); });
  if (metrics_at)
    if (Status st = http.Start(*metrics_at); !st.ok()) return PrintFatal(prog, st.message()), 1;
  if (Status st = MakeDirs(o.data); !st.ok()) return PrintFatal(prog, st.message()), 1;
  auto uuid = FormatOrCheck(o.data, o.index);
  if (!uuid.ok()) return PrintFatal(prog, uuid.status().message()), 1;

  char ost_name[16];
  std::snprintf(ost_name, sizeof(ost_name), "OST%04x", o.index);
  metrics::SetIdentity("ost", {{"ost", ost_name}});
  ObjectStore store(o.data, static_cast<uint32_t>(o.index));
  metrics::Default().AddCollector([&store](metrics::Writer& w) {
    auto fs = store.StatFs();
    if (!fs.ok()) return;
    const std::pair<const char*, uint64_t> gauges[] = {
        {"amlfs_ost_capacity_bytes", fs->capacity_bytes},
        {"amlfs_ost_free_bytes", fs->free_bytes},
        {"amlfs_ost_avail_bytes", fs->avail_bytes},
        {"amlfs_ost_inodes", fs->total_inodes},
        {"amlfs_ost_free_inodes", fs->free_inodes}};
    for (const auto& [name, v] : gauges) {
      w.Family(name, "gauge", "The OST's data file system, as statfs(2) reports it.");
      w.Sample(name, static_cast<double>(v));
    }
  });
  OstService service(&store);
  RpcServer::Options server_options;
  server_options.role = "ost";
  server_options.worker_threads = o.workers;
  server_options.allow = *allow;
  RpcServer server(std::move(server_options),
                   [&service](std::shared_ptr<RpcCall> call) { service.Handle(std::move(call)); });
  if (Status st = server.Listen(*listen); !st.ok()) return PrintFatal(prog, st.message()), 1;
  std::string advertise = o.advertise;
  if (advertise.empty()) {
    if (listen->host == "0.0.0.0" || listen->host == "::")
      return PrintFatal(prog, "advertise: needed when listening on a wildcard address"), 1;
    advertise = listen->host + ":" + std::to_string(server.port());
  } else if (!ParseHostPort(advertise).ok()) {
    return PrintFatal(prog, "advertise: '" + advertise + "' is not HOST:PORT"), 1;
  }
  server.Start();
  AMLFS_LOG(kInfo) << "listening on " << listen->host << ":" << server.port() << " (index "
                   << o.index << ", data " << o.data << ")";
  if (!allow->empty()) AMLFS_LOG(kInfo) << "accepting connections only from " << allow->ToString();
  if (!ProcessKey())
    AMLFS_LOG(kWarn) << "no cluster key: anyone who can reach this server may use it "
                        "(amlfs keygen, --key-file)";

  // Registration and heartbeats run until shutdown.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::atomic<bool> fatal{false};
  metrics::Gauge& mds_connected = metrics::Default().GetGauge(
      "amlfs_ost_mds_connected", "1 when the last heartbeat reached the MDS.");
  NetContext net(1);
  // Follows the leader of a replicated MDS, as clients do.
  MdsClient mds_client(net, mds_addrs, std::chrono::milliseconds(2000),
                       "ost" + std::to_string(o.index));
  std::thread heartbeat([&] {
    bool failing = false;
    std::unique_lock lk(mu);
    while (!stopping) {
      lk.unlock();
      OstRegisterReq req;
      req.index = OstIndex(static_cast<uint32_t>(o.index));
      req.address = advertise;
      req.ost_uuid = *uuid;
      if (auto fs = store.StatFs(); fs.ok()) {
        req.capacity_bytes = fs->capacity_bytes;
        req.free_bytes = fs->free_bytes;
        req.avail_bytes = fs->avail_bytes;
        req.total_inodes = fs->total_inodes;
        req.free_inodes = fs->free_inodes;
      }
      auto r = mds_client.Call(req, Creds{});
      if (!r.ok() && r.status().code() == Code::kExists) {
        AMLFS_LOG(kError) << "MDS refused registration: " << r.status().message();
        fatal = true;
        kill(getpid(), SIGTERM);
        return;
      }
      if (!r.ok() && !failing)
        AMLFS_LOG(kWarn) << "cannot register with MDS " << o.mds << ": " << r.status().ToString();
      if (r.ok() && failing) AMLFS_LOG(kInfo) << "registered with MDS " << o.mds;
      failing = !r.ok();
      mds_connected.Set(r.ok() ? 1 : 0);
      if (r.ok()) last_heard = std::chrono::steady_clock::now().time_since_epoch().count();
      lk.lock();
      cv.wait_for(lk, std::chrono::duration<double>(failing ? 0.5 : o.heartbeat_interval),
                  [&] { return stopping; });
    }
  });
  std::string ready = listen->host + ":" + std::to_string(server.port());
  if (metrics_at) {
    AMLFS_LOG(kInfo) << "metrics on http://" << http.address() << "/metrics";
    ready += "\nmetrics " + http.address();
  }
  if (Status st = WriteReadyFile(o.ready_file, ready); !st.ok()) AMLFS_LOG(kWarn) << st.message();

  WaitForStopSignal();
  AMLFS_LOG(kInfo) << "stopping";
  {
    std::lock_guard lk(mu);
    stopping = true;
  }
  cv.notify_all();
  heartbeat.join();
  http.Stop();
  server.Stop();
  return fatal ? 1 : 0;
}
