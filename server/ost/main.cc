// amlfs-ost: an object storage target.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <condition_variable>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/config.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/net/auth.h"
#include "common/net/tls.h"
#include "common/net/net_context.h"
#include "common/client/mds_client.h"
#include "common/net/rpc_server.h"
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
};

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
  app.add_option("--mds", o.mds, "Metadata server HOST:PORT (a replicated MDS: every replica, comma-separated)")->required();
  app.add_option("--index", o.index, "This OST's index (0..65535)")->required();
  app.add_option("--advertise", o.advertise,
                 "Address clients use to reach this OST (default: the listen address)");
  app.add_option("--heartbeat-interval,--heartbeat_interval", o.heartbeat_interval,
                 "Seconds between heartbeats to the MDS")->capture_default_str();
  app.add_option("--workers", o.workers, "Disk I/O worker threads")->capture_default_str();
  app.add_option("--log-level,--log_level", o.log_level, "debug|info|warn|error")
      ->capture_default_str();
  app.add_option("--log-file,--log_file", o.log_file, "Log to this file instead of stderr");
  app.add_option("--ready-file,--ready_file", o.ready_file,
                 "Write the bound HOST:PORT here once serving");
  int rc = RunCli(app, argc, argv);
  if (rc >= 0) return rc;

  const std::string prog = "amlfs-ost";
  LogLevel level;
  if (!ParseLogLevel(o.log_level, &level)) return PrintFatal(prog, "log_level: '" + o.log_level + "' is not debug|info|warn|error"), 1;
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
  // One MDS, or every replica of a replicated one: HOST:PORT[,HOST:PORT...]
  const std::vector<std::string> mds_addrs = Split(o.mds, ',');
  if (mds_addrs.empty()) return PrintFatal(prog, "mds: no HOST:PORT given"), 1;
  for (const std::string& a : mds_addrs)
    if (auto hp = ParseHostPort(a); !hp.ok()) return PrintFatal(prog, "mds: " + hp.status().message()), 1;
  if (Status st = MakeDirs(o.data); !st.ok()) return PrintFatal(prog, st.message()), 1;
  auto uuid = FormatOrCheck(o.data, o.index);
  if (!uuid.ok()) return PrintFatal(prog, uuid.status().message()), 1;

  ObjectStore store(o.data, static_cast<uint32_t>(o.index));
  OstService service(&store);
  RpcServer::Options server_options{"ost", 2, o.workers, {}};
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
  NetContext net(1);
  // Follows the leader of a replicated MDS, as clients do.
  MdsClient mds_client(net, mds_addrs, std::chrono::milliseconds(2000), "ost" + std::to_string(o.index));
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
      if (!r.ok() && !failing) AMLFS_LOG(kWarn) << "cannot register with MDS " << o.mds << ": " << r.status().ToString();
      if (r.ok() && failing) AMLFS_LOG(kInfo) << "registered with MDS " << o.mds;
      failing = !r.ok();
      lk.lock();
      cv.wait_for(lk, std::chrono::duration<double>(failing ? 0.5 : o.heartbeat_interval),
                  [&] { return stopping; });
    }
  });
  if (Status st = WriteReadyFile(o.ready_file, listen->host + ":" + std::to_string(server.port()));
      !st.ok())
    AMLFS_LOG(kWarn) << st.message();

  WaitForStopSignal();
  AMLFS_LOG(kInfo) << "stopping";
  {
    std::lock_guard lk(mu);
    stopping = true;
  }
  cv.notify_all();
  heartbeat.join();
  server.Stop();
  return fatal ? 1 : 0;
}
