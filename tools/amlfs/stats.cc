// amlfs stats [--json] [MOUNT]
//
// Every server's metrics, asked directly (cluster_stats.h): each MDS
// replica at the mount's addresses and each OST of the OST map. Prints a
// summary per server, or with --json one document holding every sample:
//   {"time": T, "fs": NAME, "servers": [{"name", "role", "address", "up",
//    "error" (when down) | "metrics": [{"name", "labels": {...}, "value"}]}]}
// Exit status: 0 when every server answered, 1 when one did not or the
// metadata server is unreachable, 2 on a usage error.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "tools/amlfs/cluster_stats.h"
#include "tools/amlfs/commands.h"

namespace amlfs::tools::stats {

namespace {

constexpr char kCmd[] = "stats";

// The length of the well-formed UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t n = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if ((b == 0xe0 && b1 < 0xa0) || (b == 0xed && b1 >= 0xa0) || (b == 0xf0 && b1 < 0x90) ||
      (b == 0xf4 && b1 >= 0x90))
    return 0;  // overlong, a surrogate, or past U+10FFFF
  return n;
}

// `s` as a JSON string; bytes that are not UTF-8 become U+FFFD.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (size_t n = Utf8Length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n - 1;
    } else {
      out += "\\ufffd";
    }
  }
  return out + "\"";
}

// The shortest form that reads back the same; null when not finite.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "null";
}

std::string JsonMetrics(const std::vector<metrics::Sample>& samples) {
  std::string out = "[";
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    out += i ? ",\n    " : "\n    ";
    out += "{\"name\": " + JsonString(s.name) + ", \"labels\": {";
    for (size_t k = 0; k < s.labels.size(); ++k)
      out +=
          (k ? ", " : "") + JsonString(s.labels[k].first) + ": " + JsonString(s.labels[k].second);
    out += "}, \"value\": " + JsonNumber(s.value) + "}";
  }
  return out + (samples.empty() ? "]" : "\n   ]");
}

std::string Json(const ClusterStats& c) {
  std::string out = "{\"time\": " + JsonNumber(c.time) + ", \"fs\": " + JsonString(c.fs_name) +
                    ", \"servers\": [";
  for (size_t i = 0; i < c.servers.size(); ++i) {
    const auto& s = c.servers[i];
    out += i ? ",\n  " : "\n  ";
    out += "{\"name\": " + JsonString(s.name) + ", \"role\": " + JsonString(s.role) +
           ", \"address\": " + JsonString(s.address) + ", \"up\": " + (s.up ? "true" : "false");
    out +=
        s.up ? ", \"metrics\": " + JsonMetrics(s.samples) : ", \"error\": " + JsonString(s.error);
    out += "}";
  }
  return out + (c.servers.empty() ? "]}\n" : "\n]}\n");
}

std::string Count(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

// `line` followed by `items`, comma-separated, wrapped at 78 columns under `indent`.
std::string Wrap(std::string line, const std::vector<std::string>& items, size_t indent) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string piece = items[i] + (i + 1 < items.size() ? "," : "");
    if (line.size() + 1 + piece.size() > 78 && line.size() > indent) {
      out += line + "\n";
      line = std::string(indent, ' ') + piece;
    } else {
      line += " " + piece;
    }
  }
  return out + line;
}

void PrintMds(const ServerStats& s) {
  const bool replicated = s.Sum("amlfs_mds_raft_members") > 1;
  std::string role = !replicated                        ? "unreplicated"
                     : s.Sum("amlfs_mds_is_leader") > 0 ? "leader"
                                                        : "follower";
  role += s.Sum("amlfs_mds_serving") > 0 ? ", serving" : ", not serving";
  std::printf("%-8s mds  %-21s %s, term %s, %s inodes\n", s.name.c_str(), s.address.c_str(),
              role.c_str(), Count(s.Sum("amlfs_mds_raft_term")).c_str(),
              Count(s.Sum("amlfs_mds_inodes")).c_str());
  std::vector<std::string> ops;
  double total = 0;
  for (const auto& [op, n] : s.SumBy("amlfs_mds_ops_total", "op")) {
    if (n <= 0) continue;
    ops.push_back(op + " " + Count(n));
    total += n;
  }
  if (!ops.empty())
    std::printf("%s\n", Wrap(std::string(9, ' ') + "ops " + Count(total) + ":", ops, 13).c_str());
}

void PrintOst(const ServerStats& s) {
  const double capacity = s.Sum("amlfs_ost_capacity_bytes");
  const double avail = s.Sum("amlfs_ost_avail_bytes");
  const double used = capacity - s.Sum("amlfs_ost_free_bytes");
  const double full = used + avail > 0 ? 100 * used / (used + avail) : 0;
  std::printf("%-8s ost  %-21s read %s, written %s; %s reads, %s writes\n", s.name.c_str(),
              s.address.c_str(), HumanBytes(s.Sum("amlfs_ost_read_bytes_total")).c_str(),
              HumanBytes(s.Sum("amlfs_ost_write_bytes_total")).c_str(),
              Count(s.Sum("amlfs_ost_ops_total", {{"op", "obj_read"}})).c_str(),
              Count(s.Sum("amlfs_ost_ops_total", {{"op", "obj_write"}})).c_str());
  std::printf("%9s%s available of %s (%.0f%% full)\n", "", HumanBytes(avail).c_str(),
              HumanBytes(capacity).c_str(), full);
}

void PrintSummary(const ClusterStats& c) {
  size_t mds = 0;
  for (const auto& s : c.servers) mds += s.role == "mds";
  const size_t osts = c.servers.size() - mds;
  std::printf("%s: %zu MDS replica%s, %zu OST%s; %s\n", c.fs_name.c_str(), mds, mds == 1 ? "" : "s",
              osts, osts == 1 ? "" : "s",
              c.down() ? (std::to_string(c.down()) + " not answering").c_str() : "all answering");
  for (const auto& s : c.servers) {
    if (!s.up)
      std::printf("%-8s %-4s %-21s DOWN: %s\n", s.name.c_str(), s.role.c_str(), s.address.c_str(),
                  s.error.c_str());
    else if (s.role == "mds")
      PrintMds(s);
    else
      PrintOst(s);
  }
}

int Run(const std::string& path, bool json) {
  auto m = ChooseMount(path);
  if (!m.ok()) return Fail(kCmd, m.status().message(), 2);
  auto scraper = ClusterScraper::Connect(*m);
  if (!scraper.ok()) return Fail(kCmd, scraper.status().message());
  const ClusterStats c = (*scraper)->Scrape();
  if (json)
    std::fputs(Json(c).c_str(), stdout);
  else
    PrintSummary(c);
  std::fflush(stdout);
  return c.down() ? 1 : 0;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto json = std::make_shared<bool>(false);
  auto root = std::make_shared<std::string>();
  auto* sub =
      app.add_subcommand("stats", "Every server's counters, asked directly: a summary, or JSON");
  sub->add_flag("--json", *json, "Print every metric of every server as one JSON document");
  sub->add_option("mount", *root, "The mount point (default: the only amlfs mount)");
  sub->callback([json, root, rc] { *rc = Run(*root, *json); });
}

}  // namespace amlfs::tools::stats
