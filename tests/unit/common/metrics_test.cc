// Metrics: the text the registry renders parses back to the values counted;
// histograms are cumulative; per-key counters are bounded and age out; the
// HTTP endpoint serves /metrics, /healthz (200/503) and /loglevel over a
// real loopback connection; a server answers Stats over RPC.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "common/net/http_server.h"
#include "common/net/net_context.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"

using namespace amlfs;
using metrics::Registry;

namespace {

double ValueOf(const std::vector<metrics::Sample>& samples, const std::string& name,
               const metrics::Labels& want = {}) {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : want) match = match && s.Label(k) == v;
    if (match) return s.value;
  }
  return NAN;
}

// One HTTP/1.0 exchange with 127.0.0.1:port; the whole answer.
std::string HttpExchange(uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

uint16_t PortOf(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

}  // namespace

TEST_CASE("rendered counters, gauges and labels parse back to their values") {
  Registry r;
  r.SetConstantLabels({{"ost", "OST0002"}});
  r.GetCounter("t_bytes_total", "Bytes.").Add(5);
  r.GetCounter("t_bytes_total", "Bytes.").Add(7);
  r.GetCounter("t_ops_total", "Ops.", {{"op", "read"}}).Add(3);
  r.GetCounter("t_ops_total", "Ops.", {{"op", "write"}}).Add(4);
  r.GetGauge("t_free_bytes", "Free.").Set(1e12);
  r.GetCounter("t_odd_total", "Odd label.", {{"client", "a\"b\\c\nd"}}).Add(1);
  r.AddCollector([](metrics::Writer& w) {
    w.Family("t_computed", "gauge", "At render time.");
    w.Sample("t_computed", {{"k", "v"}}, 42);
  });
  const std::string text = r.Render();
  CHECK(text.find("# TYPE t_bytes_total counter") != std::string::npos);
  CHECK(text.find("# TYPE t_free_bytes gauge") != std::string::npos);
  size_t bad = 99;
  auto s = metrics::ParseText(text, &bad);
  CHECK(bad == 0);
  CHECK(ValueOf(s, "t_bytes_total", {{"ost", "OST0002"}}) == 12);
  CHECK(ValueOf(s, "t_ops_total", {{"op", "read"}}) == 3);
  CHECK(ValueOf(s, "t_ops_total", {{"op", "write"}}) == 4);
  CHECK(ValueOf(s, "t_free_bytes") == 1e12);
  CHECK(ValueOf(s, "t_computed", {{"k", "v"}, {"ost", "OST0002"}}) == 42);
  CHECK(ValueOf(s, "t_odd_total", {{"client", "a\"b\\c\nd"}}) == 1);
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
  Registry r;
  auto& h = r.GetHistogram("t_seconds", "Latency.", {{"op", "x"}});
  h.Observe(0.00005);  // first bucket
  h.Observe(0.003);    // <= 0.005
  h.Observe(0.003);
  h.Observe(60);  // past the last bound: +Inf only
  auto s = metrics::ParseText(r.Render());
  CHECK(ValueOf(s, "t_seconds_bucket", {{"le", "0.0001"}}) == 1);
  CHECK(ValueOf(s, "t_seconds_bucket", {{"le", "0.0025"}}) == 1);
  CHECK(ValueOf(s, "t_seconds_bucket", {{"le", "0.005"}}) == 3);
  CHECK(ValueOf(s, "t_seconds_bucket", {{"le", "10"}}) == 3);
  CHECK(ValueOf(s, "t_seconds_bucket", {{"le", "+Inf"}}) == 4);
  CHECK(ValueOf(s, "t_seconds_count", {{"op", "x"}}) == 4);
  CHECK(std::abs(ValueOf(s, "t_seconds_sum") - 60.00605) < 1e-6);
}

TEST_CASE("counters added from many threads lose nothing") {
  Registry r;
  auto& c = r.GetCounter("t_total", "T.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.Add(3);
    });
  for (auto& t : threads) t.join();
  CHECK(c.value() == 2400000);
}

TEST_CASE("per-key counters: empty keys not counted, the idlest key gives way when full") {
  Registry r;
  metrics::KeyedCounters jobs(r, "jobid", "op", {{"t_job_bytes_total", "B."}}, /*max_keys=*/2);
  jobs.Add("", "read", 0, 100);
  jobs.Add("a", "read", 0, 1);
  jobs.Add("b", "read", 0, 2);
  jobs.Add("a", "read", 0, 10);  // a is now the most recent
  jobs.Add("c", "write", 0, 5);  // b goes
  CHECK(jobs.keys() == 2);
  auto s = metrics::ParseText(r.Render());
  CHECK(ValueOf(s, "t_job_bytes_total", {{"jobid", "a"}, {"op", "read"}}) == 11);
  CHECK(ValueOf(s, "t_job_bytes_total", {{"jobid", "c"}, {"op", "write"}}) == 5);
  CHECK(std::isnan(ValueOf(s, "t_job_bytes_total", {{"jobid", "b"}})));
  CHECK(std::isnan(ValueOf(s, "t_job_bytes_total", {{"jobid", ""}})));
}

TEST_CASE("per-key counters idle past their time are forgotten") {
  Registry r;
  metrics::KeyedCounters jobs(r, "jobid", "", {{"t_idle_total", "I."}}, 10,
                              std::chrono::seconds(0));
  jobs.Add("gone", {}, 0, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(metrics::ParseText(r.Render()).empty());
  CHECK(jobs.keys() == 0);
}

TEST_CASE("malformed exposition lines are skipped and counted") {
  size_t bad = 0;
  auto s = metrics::ParseText(
      "ok 1\n{nolabel} 2\nx{a=\"1\" 3\ny notanumber\n# comment\n\nz 4 1700000000\n", &bad);
  CHECK(s.size() == 2);
  CHECK(bad == 3);
  CHECK(ValueOf(s, "z") == 4);
}

TEST_CASE("the HTTP endpoint serves /metrics, /healthz and /loglevel") {
  metrics::Default().GetCounter("t_http_total", "Over HTTP.").Add(9);
  bool healthy = true;
  MetricsHttp http([&] {
    return std::vector<HealthCheck>{
        {healthy ? HealthCheck::State::kOk : HealthCheck::State::kFail, "disk"},
        {HealthCheck::State::kWarn, "OST0001 down"}};
  });
  REQUIRE(http.Start(HostPort{"127.0.0.1", 0}).ok());
  const uint16_t port = PortOf(http.address());

  std::string m = HttpExchange(port, "GET /metrics HTTP/1.0\r\n\r\n");
  CHECK(m.rfind("HTTP/1.0 200", 0) == 0);
  CHECK(m.find("version=0.0.4") != std::string::npos);
  CHECK(m.find("t_http_total 9") != std::string::npos);
  CHECK(m.find("process_resident_memory_bytes") != std::string::npos);

  std::string h = HttpExchange(port, "GET /healthz HTTP/1.0\r\n\r\n");
  CHECK(h.rfind("HTTP/1.0 200", 0) == 0);
  CHECK(h.find("ok\nok: disk\nwarn: OST0001 down\n") != std::string::npos);
  healthy = false;
  h = HttpExchange(port, "GET /healthz HTTP/1.0\r\n\r\n");
  CHECK(h.rfind("HTTP/1.0 503", 0) == 0);
  CHECK(h.find("unhealthy\nfail: disk\n") != std::string::npos);

  const LogLevel before = GetLogLevel();
  std::string l = HttpExchange(port, "PUT /loglevel HTTP/1.0\r\nContent-Length: 5\r\n\r\ndebug");
  CHECK(l.rfind("HTTP/1.0 200", 0) == 0);
  CHECK(GetLogLevel() == LogLevel::kDebug);
  l = HttpExchange(port, "PUT /loglevel HTTP/1.0\r\nContent-Length: 4\r\n\r\nloud");
  CHECK(l.rfind("HTTP/1.0 400", 0) == 0);
  CHECK(GetLogLevel() == LogLevel::kDebug);
  SetLogLevel(before);

  CHECK(HttpExchange(port, "GET /nothing HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0) == 0);
  // Garbage and an oversized body close the connection; the server serves on.
  HttpExchange(port, "NOT HTTP AT ALL\r\n\r\n");
  HttpExchange(port,
               "PUT /loglevel HTTP/1.0\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'x'));
  CHECK(HttpExchange(port, "GET /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0) == 0);
  http.Stop();
}

TEST_CASE("a port already taken fails Start with a line naming it") {
  MetricsHttp a(nullptr), b(nullptr);
  REQUIRE(a.Start(HostPort{"127.0.0.1", 0}).ok());
  Status st = b.Start(HostPort{"127.0.0.1", PortOf(a.address())});
  CHECK(!st.ok());
  CHECK(st.message().find("cannot bind 127.0.0.1:") != std::string::npos);
}

TEST_CASE("a server answers Stats with its metrics, and counts the requests it serves") {
  RpcServer::Options o;
  o.role = "ost";
  o.key = nullptr;
  o.tls = false;
  RpcServer server(
      o, [](std::shared_ptr<RpcCall> call) { call->Reply(Error(Code::kNotSupported, "no"), {}); });
  REQUIRE(server.Listen(HostPort{"127.0.0.1", 0}).ok());
  server.Start();
  NetContext net(1);
  RpcClient::Options co;
  co.key = nullptr;
  co.tls = false;
  RpcClient client(net, "127.0.0.1:" + std::to_string(server.port()), co);
  CHECK(!client.Call(Opcode::kObjSync, "", std::chrono::seconds(5)).ok());
  auto r = client.Call(StatsReq{}, std::chrono::seconds(5));
  REQUIRE(r.ok());
  auto s = metrics::ParseText(r->text);
  CHECK(ValueOf(s, "amlfs_ost_ops_total", {{"op", "obj_sync"}}) >= 1);
  CHECK(ValueOf(s, "amlfs_ost_op_errors_total", {{"op", "obj_sync"}}) >= 1);
  CHECK(ValueOf(s, "amlfs_ost_connections") >= 1);
  CHECK(ValueOf(s, "amlfs_rpc_calls_total", {{"op", "obj_sync"}}) >= 1);
  server.Stop();
}
