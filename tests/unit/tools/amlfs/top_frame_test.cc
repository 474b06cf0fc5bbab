// `amlfs top`'s frame from two scrapes: rates per OST, per client and per
// job from the counters' deltas, a server that stopped answering shown as
// DOWN, a restarted server's counters counted from zero, names from the
// wire stripped of control characters, and the frame cut to the screen.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include "tools/amlfs/top_frame.h"

using namespace amlfs;
using namespace amlfs::tools;

namespace {

metrics::Sample S(std::string name, metrics::Labels labels, double v) {
  return metrics::Sample{std::move(name), std::move(labels), v};
}

ServerStats Ost(const std::string& name, double read, double written, double job_written,
                const std::string& job, const std::string& client) {
  ServerStats s{name, "ost", "127.0.0.1:1", true, "", {}};
  const metrics::Labels me{{"ost", name}};
  s.samples = {
      S("amlfs_ost_read_bytes_total", me, read),
      S("amlfs_ost_write_bytes_total", me, written),
      S("amlfs_ost_ops_total", {{"ost", name}, {"op", "obj_write"}}, written / 1e6),
      S("amlfs_ost_capacity_bytes", me, 1000),
      S("amlfs_ost_avail_bytes", me, 250),
      S("amlfs_ost_free_bytes", me, 250),
      S("amlfs_ost_job_write_bytes_total", {{"ost", name}, {"jobid", job}}, job_written),
      S("amlfs_ost_client_write_bytes_total", {{"ost", name}, {"client", client}}, written)};
  return s;
}

ServerStats Mds(double creates) {
  ServerStats s{"mds1", "mds", "127.0.0.1:2", true, "", {}};
  s.samples = {S("amlfs_mds_serving", {{"mds", "1"}}, 1),
               S("amlfs_mds_is_leader", {{"mds", "1"}}, 1),
               S("amlfs_mds_raft_term", {{"mds", "1"}}, 3),
               S("amlfs_mds_ops_total", {{"mds", "1"}, {"op", "create"}}, creates),
               S("amlfs_mds_ops_total", {{"mds", "1"}, {"op", "ost_register"}}, creates * 7)};
  return s;
}

ClusterStats At(double seconds, std::vector<ServerStats> servers) {
  ClusterStats c;
  c.time = 1e9 + seconds;
  c.when = std::chrono::steady_clock::time_point(
      std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  c.fs_name = "testfs";
  c.servers = std::move(servers);
  return c;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> f;
  std::istringstream in(line);
  for (std::string w; in >> w;) f.push_back(w);
  return f;
}

// The whitespace-separated fields of the row whose first field is `name`
// (empty if there is none), cut to its first `n` fields.
std::vector<std::string> Row(const std::vector<std::string>& lines, const std::string& name,
                             size_t n) {
  for (const auto& l : lines) {
    auto f = Fields(l);
    if (!f.empty() && f[0] == name) {
      if (f.size() > n) f.resize(n);
      return f;
    }
  }
  return {};
}

using Cells = std::vector<std::string>;

}  // namespace

TEST_CASE("top: per-OST, per-client and per-job rates over the interval") {
  auto prev = At(10, {Mds(100), Ost("OST0000", 0, 0, 0, "job7", "node1:/mnt"),
                      Ost("OST0001", 0, 0, 0, "job7", "node1:/mnt")});
  // Two seconds later: OST0000 wrote 40 MB (all job7's), OST0001 read 10 MB.
  auto cur = At(12, {Mds(150), Ost("OST0000", 0, 40e6, 40e6, "job7", "node1:/mnt"),
                     Ost("OST0001", 10e6, 0, 0, "job7", "node1:/mnt")});
  auto lines = RenderFrame(&prev, cur, ScreenSize{120, 40});
  // NAME, READ MB/s, WRITE MB/s, READ IOPS, WRITE IOPS, FULL.
  CHECK(Row(lines, "OST0000", 6) == Cells{"OST0000", "0.0", "20.0", "0", "20", "75%"});  // 40 MB
  CHECK(Row(lines, "OST0001", 6) == Cells{"OST0001", "5.0", "0.0", "0", "0", "75%"});    // 10 MB
  // NAME, READ MB/s, WRITE MB/s: job7 and its client wrote the 40 MB.
  CHECK(Row(lines, "job7", 3) == Cells{"job7", "0.0", "20.0"});
  CHECK(Row(lines, "node1:/mnt", 3) == Cells{"node1:/mnt", "0.0", "20.0"});
  CHECK(Row(lines, "create", 2) == Cells{"create", "25.0"});  // 50 creates over 2 s
  CHECK(Row(lines, "ost_register", 2).empty());               // the servers' own traffic
}

TEST_CASE("top: a server that stops answering shows DOWN; a restarted one counts from zero") {
  auto prev =
      At(0, {Mds(10), Ost("OST0000", 0, 500e6, 0, "j", "c"), Ost("OST0001", 0, 0, 0, "j", "c")});
  auto down = Ost("OST0001", 0, 0, 0, "j", "c");
  down.up = false;
  down.error = "127.0.0.1:1: Connection refused";
  // OST0000 restarted: its counter went from 500 MB back to 3 MB.
  auto cur = At(1, {Mds(10), Ost("OST0000", 0, 3e6, 0, "j", "c"), down});
  auto lines = RenderFrame(&prev, cur, ScreenSize{120, 40});
  CHECK(Row(lines, "OST0001", 5) ==
        Cells{"OST0001", "DOWN:", "127.0.0.1:1:", "Connection", "refused"});
  // 3 MB since the restart, not 3 - 500.
  CHECK(Row(lines, "OST0000", 6) == Cells{"OST0000", "0.0", "3.0", "0", "3", "75%"});
}

TEST_CASE("top: names from the wire cannot put control characters on the terminal") {
  auto prev = At(0, {Mds(0), Ost("OST0000", 0, 0, 0, "evil\x1b[2Jjob", "c\rlient")});
  auto cur = At(1, {Mds(0), Ost("OST0000", 0, 1e6, 1e6, "evil\x1b[2Jjob", "c\rlient")});
  for (const auto& l : RenderFrame(&prev, cur, ScreenSize{120, 40}))
    for (char ch : l) CHECK(static_cast<unsigned char>(ch) >= 0x20);
}

TEST_CASE("top: the frame fits the screen, the first one too") {
  std::vector<ServerStats> many{Mds(0)};
  for (int i = 0; i < 50; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "OST%04x", i);
    many.push_back(Ost(name, 0, 0, 0, "j", "c"));
  }
  auto cur = At(0, many);
  for (ScreenSize size : {ScreenSize{80, 24}, ScreenSize{40, 10}, ScreenSize{200, 60}}) {
    auto lines = RenderFrame(nullptr, cur, size);
    CHECK(lines.size() <= size.rows);
    CHECK(!lines.empty());
    for (const auto& l : lines) CHECK(l.size() <= size.columns);
  }
}
