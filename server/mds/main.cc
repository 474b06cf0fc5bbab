// amlfs-mds: the metadata server.
#include <CLI/CLI.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <optional>

#include "common/client/cluster.h"
#include "common/client/striped_io.h"
#include "common/config.h"
#include "common/daemon.h"
#include "common/layout.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net/auth.h"
#include "common/net/http_server.h"
#include "common/net/net_context.h"
#include "common/net/rpc_server.h"
#include "common/net/tls.h"
#include "server/mds/mds.h"
#include "server/mds/observe.h"
#include "server/mds/replicated.h"
#include "server/mds/service.h"

using namespace amlfs;

namespace {

// "1=host:port,2=host:port,3=host:port" -> {id: address}
Result<std::map<raft::NodeId, std::string>> ParsePeers(const std::string& text) {
  std::map<raft::NodeId, std::string> out;
  for (const std::string& item : Split(text, ',')) {
    size_t eq = item.find('=');
    unsigned long id = 0;
    try {
      id = eq == std::string::npos ? 0 : std::stoul(item.substr(0, eq));
    } catch (const std::exception&) {
      id = 0;
    }
    if (id == 0 || id > 255 || out.count(static_cast<raft::NodeId>(id)))
      return Error(Code::kInvalid,
                   "'" + item + "' is not ID=HOST:PORT with a new ID from 1 to 255");
    auto hp = ParseHostPort(item.substr(eq + 1));
    if (!hp.ok()) return Error(Code::kInvalid, "'" + item + "': " + hp.status().message());
    out[static_cast<raft::NodeId>(id)] = item.substr(eq + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  TuneMallocForIo();
  RaiseOpenFileLimit();
  BlockStopSignals();
  std::string data, listen = "0.0.0.0:9400", fs_name = "amlfs", stripe_size = "1M";
  std::string dom_stripesize = "1M", mdt_reserve = "64M";
  std::string log_level = "info", log_file, ready_file, metrics_listen = "0.0.0.0:9401";
  int stripe_count = 1, workers = 8, id = 0;
  std::string peers;
  uint64_t snapshot_entries = 10000, snapshot_keep = 1000;
  double ost_timeout = 6, ost_rpc_timeout = 30, lock_lease = 15;
  bool sync_writes = false;
  CLI::App app{"amlfs metadata server: the namespace, layouts and the OST table", "amlfs-mds"};
  AddCommonOptions(app, "/etc/amlfs/mds.conf");
  std::string key_file, allow_text;
  AddKeyOption(app, &key_file);
  bool tls = false;
  AddTlsOption(app, &tls);
  AddAllowOption(app, &allow_text);
  std::string root_squash, squash_mode = "root", nosquash_nets;
  app.add_option("--root-squash,--root_squash", root_squash,
                 "UID:GID that root on a client (or every caller, --squash-mode all) is "
                 "treated as (default: no squashing)");
  app.add_option("--squash-mode,--squash_mode", squash_mode, "root | all")->capture_default_str();
  app.add_option("--nosquash-nets,--nosquash_nets", nosquash_nets,
                 "Client networks exempt from squashing, e.g. '10.1.0.0/16'");
  app.add_option("--data", data, "Data directory (created if missing)")->required();
  app.add_option("--listen", listen, "Address to serve on, HOST:PORT (port 0 = any free)")
      ->capture_default_str();
  app.add_option("--fs-name,--fs_name", fs_name, "File system name")->capture_default_str();
  app.add_option("--default-stripe-count,--default_stripe_count", stripe_count,
                 "Stripe count of new files (-1 = every OST)")
      ->capture_default_str();
  app.add_option("--default-stripe-size,--default_stripe_size", stripe_size,
                 "Stripe size of new files (multiple of 64K; K/M/G suffixes)")
      ->capture_default_str();
  app.add_option("--dom-stripesize,--dom_stripesize", dom_stripesize,
                 "Largest Data-on-MDT component (lfs setstripe -L mdt); a longer one is cut "
                 "to it; 0 refuses Data-on-MDT (multiple of 64K up to 1G)")
      ->capture_default_str();
  app.add_option("--mdt-reserve,--mdt_reserve", mdt_reserve,
                 "Free space kept on the MDS's disk: Data-on-MDT writes that would leave "
                 "less fail with ENOSPC")
      ->capture_default_str();
  app.add_option("--ost-timeout,--ost_timeout", ost_timeout,
                 "Seconds without a heartbeat before an OST is down")
      ->capture_default_str();
  app.add_option("--ost-rpc-timeout,--ost_rpc_timeout", ost_rpc_timeout,
                 "Seconds to wait for an OST when truncating or destroying objects")
      ->capture_default_str();
  app.add_flag("--sync-writes,--sync_writes", sync_writes,
               "fsync the metadata database on every change (survives power loss, slower; "
               "a replicated MDS always syncs its log)");
  app.add_option("--lock-lease,--lock_lease", lock_lease,
                 "Seconds a silent client keeps its fcntl/flock locks")
      ->capture_default_str();
  app.add_option("--workers", workers, "Worker threads")->capture_default_str();
  app.add_option("--peers", peers,
                 "Every replica of a replicated MDS, this one included: ID=HOST:PORT,... "
                 "(without it the MDS runs alone). The initial configuration: once the "
                 "replica's log holds one (amlfs mds add/remove), that one counts");
  app.add_option("--id", id, "This replica's ID in --peers");
  app.add_option("--snapshot-entries,--snapshot_entries", snapshot_entries,
                 "Replicated MDS: snapshot the namespace every this many log entries and "
                 "compact the log (0 = never)")
      ->capture_default_str();
  app.add_option("--snapshot-keep,--snapshot_keep", snapshot_keep,
                 "Replicated MDS: log entries kept behind a snapshot for slow replicas")
      ->capture_default_str();
  bool digest = false;
  app.add_flag("--digest", digest,
               "Print a digest of the namespace in --data (the MDS must be stopped) and exit");
  app.add_option("--log-level,--log_level", log_level, "debug|info|warn|error")
      ->capture_default_str();
  app.add_option("--log-file,--log_file", log_file, "Log to this file instead of stderr");
  app.add_option("--ready-file,--ready_file", ready_file,
                 "Write the bound HOST:PORT here once serving");
  app.add_option("--metrics-listen,--metrics_listen", metrics_listen,
                 "Serve /metrics and /healthz over HTTP on HOST:PORT (empty: off)")
      ->capture_default_str();
  int rc = RunCli(app, argc, argv);
  if (rc >= 0) return rc;

  const std::string prog = "amlfs-mds";
  auto fail = [&](const std::string& what) {
    PrintFatal(prog, what);
    return 1;
  };
  LogLevel level;
  if (!ParseLogLevel(log_level, &level))
    return fail("log_level: '" + log_level + "' is not debug|info|warn|error");
  SetLogLevel(level);
  if (!SetLogFile(log_file)) return fail("log_file: cannot open " + log_file);
  SetLogComponent("mds");
  if (Status st = LoadProcessKey(key_file); !st.ok()) return fail(st.message());
  if (Status st = SetProcessTls(tls); !st.ok()) return fail(st.message());
  auto allow = AllowList::Parse(allow_text);
  if (!allow.ok()) return fail("allow: " + allow.status().message());
  std::optional<HostPort> metrics_at;
  if (!metrics_listen.empty()) {
    auto hp = ParseHostPort(metrics_listen, true);
    if (!hp.ok()) return fail("metrics_listen: " + hp.status().message());
    metrics_at = *hp;
  }
  auto squash = mds::SquashPolicy::Parse(root_squash, squash_mode, nosquash_nets);
  if (!squash.ok()) return fail(squash.status().message());
  auto size = ParseSize(stripe_size);
  if (!size.ok()) return fail("default_stripe_size: " + size.status().message());
  if (Status st = ValidateStripeSize(*size); !st.ok())
    return fail("default_stripe_size: " + st.message());
  if (stripe_count < -1 || stripe_count == 0 || stripe_count > static_cast<int>(kMaxStripeCount))
    return fail("default_stripe_count: " + std::to_string(stripe_count) + " is not -1 or 1.." +
                std::to_string(kMaxStripeCount));
  auto dom = ParseSize(dom_stripesize);
  if (!dom.ok()) return fail("dom_stripesize: " + dom.status().message());
  if (*dom % kStripeSizeUnit != 0 || *dom > kMaxDomSize)
    return fail("dom_stripesize: " + dom_stripesize + " is not a multiple of 64K up to 1G");
  auto reserve = ParseSize(mdt_reserve);
  if (!reserve.ok()) return fail("mdt_reserve: " + reserve.status().message());
  if (ost_timeout <= 0) return fail("ost_timeout: must be positive");
  if (ost_rpc_timeout <= 0) return fail("ost_rpc_timeout: must be positive");
  if (workers < 1 || workers > 256) return fail("workers: must be 1..256");
  if (digest) {
    auto d = mds::Mds::Digest(data);
    if (!d.ok()) return fail(d.status().message());
    std::printf("%s\n", d->c_str());
    return 0;
  }
  auto where = ParseHostPort(listen, true);
  if (!where.ok()) return fail("listen: " + where.status().message());
  std::map<raft::NodeId, std::string> members;
  if (!peers.empty()) {
    auto p = ParsePeers(peers);
    if (!p.ok()) return fail("peers: " + p.status().message());
    members = std::move(*p);
    if (members.count(static_cast<raft::NodeId>(id)) == 0)
      return fail("id: " + std::to_string(id) + " is not one of the --peers IDs");
  } else if (id != 0) {
    return fail("id: given without --peers");
  }

  if (Status st = MakeDirs(data); !st.ok()) return fail(st.message());

  mds::MdsConfig config;
  config.fs_name = fs_name;
  config.default_stripe_count = stripe_count;
  config.default_stripe_size = *size;
  config.dom_max = *dom;
  config.mdt_reserve = *reserve;
  config.ost_timeout = std::chrono::milliseconds(static_cast<int64_t>(ost_timeout * 1000));
  config.sync_writes = sync_writes;
  if (lock_lease < 1) return fail("lock_lease: must be at least 1 second");
  config.lock_lease = std::chrono::milliseconds(static_cast<int64_t>(lock_lease * 1000));

  // The OSTs' data path (truncate, object destruction), wired as every
  // client's; no MDS address, since this is the MDS.
  ClusterOptions co;
  co.name = "mds";
  co.io_timeout = std::chrono::milliseconds(static_cast<int64_t>(ost_rpc_timeout * 1000));
  Cluster osts(co);
  // A replicated MDS's log and leadership; the Mds is opened with its
  // replicator, then is its state machine.
  std::unique_ptr<mds::ReplicatedMds> replicated;
  if (!members.empty()) {
    raft::Replica::Options ro;
    ro.id = static_cast<raft::NodeId>(id);
    ro.members = members;
    ro.dir = data + "/raft";
    ro.snapshot_entries = snapshot_entries;
    ro.keep_entries = snapshot_keep;
    replicated = std::make_unique<mds::ReplicatedMds>(std::move(ro));
  }
  // The metrics port first: taken, it stops the MDS before anything changes.
  // Until the MDS is up, /healthz says it is starting.
  std::unique_ptr<mds::MdsObserver> observer;
  std::atomic<mds::MdsObserver*> observing{nullptr};
  MetricsHttp http([&observing] {
    if (mds::MdsObserver* o = observing.load()) return o->Health();
    return std::vector<HealthCheck>{{HealthCheck::State::kFail, "mds: starting"}};
  });
  if (metrics_at)
    if (Status st = http.Start(*metrics_at); !st.ok()) return fail(st.message());
  auto m = mds::Mds::Open(data, config, &osts.io(), &osts.pool(),
                          replicated ? replicated->replicator() : nullptr);
  if (!m.ok()) return fail(m.status().message());
  mds::Mds* mds = m->get();
  // Data-on-MDT objects the MDS truncates or destroys are its own: served
  // here, on the data path's network threads (as an OST's answer would be).
  osts.io().SetMdt([mds, &net = osts.net()](Opcode op, std::string payload,
                                            std::chrono::milliseconds,
                                            std::function<void(Result<std::string>)> done) {
    boost::asio::post(net.io(), [mds, op, payload = std::move(payload), done = std::move(done)] {
      mds->ServeObject(op, payload, done);
    });
  });
  metrics::SetIdentity("mds", {{"mds", std::to_string(id)}});
  mds::MdsService service(mds);
  std::function<MdsStatusRsp()> status_fn;
  service.SetSquash(*squash);
  if (replicated) {
    if (Status st = replicated->Open(mds); !st.ok()) return fail(st.message());
    status_fn = [r = replicated.get()] { return r->Describe(); };
    service.SetReplication(replicated->Hooks());
  }
  // Reads of single records answer from the network thread, and so do the
  // mutations that only write a LevelDB batch when that write is not synced
  // (no disk wait): a hand-off to a worker and back cost more than the work.
  // Whatever may wait on the OSTs or the disk goes to the workers.
  // A replicated MDS's mutations only hand their batch to the log, and
  // their answers leave once it commits (Committed): no thread waits.
  // (kInline and kInlineUnlessSynced in common/protocol_methods.h.)
  const bool synced_writes = members.empty() && sync_writes;
  auto quick = [synced_writes](Opcode op) { return RunsInline(op, synced_writes); };
  RpcServer::Options server_options;
  server_options.role = "mds";
  server_options.worker_threads = workers;
  server_options.run_inline = quick;
  server_options.allow = *allow;
  RpcServer server(std::move(server_options),
                   [&service](std::shared_ptr<RpcCall> call) { service.Handle(std::move(call)); });
  if (Status st = server.Listen(*where); !st.ok()) return fail(st.message());
  server.Start();
  mds->StartBackground();
  if (replicated) replicated->Start();
  std::string bound = where->host + ":" + std::to_string(server.port());
  AMLFS_LOG(kInfo) << "listening on " << bound << " (data " << data << ")";
  if (!allow->empty()) AMLFS_LOG(kInfo) << "accepting connections only from " << allow->ToString();
  if (squash->mode != mds::SquashPolicy::Mode::kNone)
    AMLFS_LOG(kInfo) << "squashing " << squash->ToString();
  if (!ProcessKey())
    AMLFS_LOG(kWarn) << "no cluster key: anyone who can reach this server may use it "
                        "(amlfs keygen, --key-file)";
  observer = std::make_unique<mds::MdsObserver>(mds, status_fn);
  observing = observer.get();
  if (metrics_at) {
    AMLFS_LOG(kInfo) << "metrics on http://" << http.address() << "/metrics";
    bound += "\nmetrics " + http.address();
  }
  if (Status st = WriteReadyFile(ready_file, bound); !st.ok()) AMLFS_LOG(kWarn) << st.message();
  WaitForStopSignal();
  AMLFS_LOG(kInfo) << "stopping";
  http.Stop();
  server.Stop();
  if (replicated) replicated->Stop();
  return 0;
}
