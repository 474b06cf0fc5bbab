#include "common/net/http_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "common/net/as_tuple.h"

namespace amlfs {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr int kMaxConnections = 64;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}
}  // namespace

std::string RenderHealth(const std::vector<HealthCheck>& checks, bool* healthy) {
  bool ok = true;
  std::string lines;
  for (const auto& c : checks) {
    const char* word = c.state == HealthCheck::State::kOk     ? "ok"
                       : c.state == HealthCheck::State::kWarn ? "warn"
                                                              : "fail";
    if (c.state == HealthCheck::State::kFail) ok = false;
    lines += std::string(word) + ": " + c.text + "\n";
  }
  *healthy = ok;
  return (ok ? "ok\n" : "unhealthy\n") + lines;
}

// The coroutines hold no reference to Impl: Stop() joins the thread that
// runs them, and destroying `io` destroys whatever is left suspended.
struct MetricsHttp::Impl {
  HealthFn health;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<int> sessions{0};
  std::string address;

  http::response<http::string_body> Answer(const http::request<http::string_body>& req,
                                           bool loopback, const std::string& peer) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "amlfs");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.body() = "use GET\n";
      } else {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = metrics::Default().Render();
      }
    } else if (path == "/healthz") {
      bool healthy = true;
      res.body() = RenderHealth(health ? health() : std::vector<HealthCheck>{}, &healthy);
      if (!healthy) res.result(http::status::service_unavailable);
    } else if (path == "/loglevel") {
      static const char* kNames[] = {"debug", "info", "warn", "error"};
      if (req.method() == http::verb::put || req.method() == http::verb::post) {
        LogLevel level;
        if (!loopback) {
          res.result(http::status::forbidden);
          res.body() = "the log level may be changed only from this host\n";
        } else if (!ParseLogLevel(Trim(req.body()), &level)) {
          res.result(http::status::bad_request);
          res.body() = "log level must be debug, info, warn or error\n";
        } else {
          SetLogLevel(level);
          LogLine(LogLevel::kInfo, std::string("log level now ") + kNames[static_cast<int>(level)] +
                                       " (set over HTTP from " + peer + ")");
          res.body() = std::string(kNames[static_cast<int>(level)]) + "\n";
        }
      } else {
        res.body() = std::string(kNames[static_cast<int>(GetLogLevel())]) + "\n";
      }
    } else {
      res.result(http::status::not_found);
      res.body() = "not found: try /metrics, /healthz or /loglevel\n";
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  asio::awaitable<void> Session(tcp::socket sock) {
    boost::system::error_code ec;
    auto remote = sock.remote_endpoint(ec);
    const bool loopback = !ec && remote.address().is_loopback();
    const std::string peer = ec ? "?" : remote.address().to_string();
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buffer;
    for (;;) {
      stream.expires_after(std::chrono::seconds(10));
      http::request_parser<http::string_body> parser;
      parser.header_limit(8192);
      parser.body_limit(64);
      auto [rec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (rec) break;
      auto res = Answer(parser.get(), loopback, peer);
      const bool keep = res.keep_alive();
      auto [wec, m] = co_await http::async_write(stream, res, kTuple);
      if (wec || !keep) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    --sessions;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kTuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: wait rather than spin.
        asio::steady_timer t(io, std::chrono::milliseconds(100));
        co_await t.async_wait(kTuple);
        continue;
      }
      if (sessions.load() >= kMaxConnections) {
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      ++sessions;
      asio::co_spawn(io, Session(std::move(sock)), asio::detached);
    }
  }
};

MetricsHttp::MetricsHttp(HealthFn health) : impl_(std::make_shared<Impl>()) {
  impl_->health = std::move(health);
}

MetricsHttp::~MetricsHttp() { Stop(); }

Status MetricsHttp::Start(const HostPort& where) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(where.host, ec);
  if (ec) return Error(Code::kInvalid, "metrics_listen: '" + where.host + "' is not an IP address");
  tcp::endpoint ep(addr, where.port);
  auto& a = impl_->acceptor;
  if (a.open(ep.protocol(), ec); ec) return Error(Code::kIo, "metrics: socket: " + ec.message());
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (a.bind(ep, ec); ec)
    return Error(Code::kIo,
                 "metrics_listen: cannot bind " + where.ToString() + ": " + ec.message());
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec)
    return Error(Code::kIo,
                 "metrics_listen: cannot listen on " + where.ToString() + ": " + ec.message());
  impl_->address = where.host + ":" + std::to_string(a.local_endpoint().port());
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
  return Status::Ok();
}

std::string MetricsHttp::address() const { return impl_->address; }

void MetricsHttp::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace amlfs
