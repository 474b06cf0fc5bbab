#include "tools/amlfs/top_frame.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace amlfs::tools {

namespace {

constexpr double kMB = 1e6;
// Operations the servers send each other, or tools send: not the clients' load.
const std::set<std::string, std::less<>> kInternalOps = {"ost_register", "raft", "stats",
                                                         "mds_status"};

// Per-second rates of one server's counters between two scrapes: known only
// when it answered both. A counter that went down (the server restarted, or
// forgot an idle key) counts from zero.
class Rates {
 public:
  Rates(const ServerStats* prev, const ServerStats& cur, double seconds)
      : prev_(prev), cur_(cur), seconds_(seconds) {}

  bool known() const { return prev_ && prev_->up && cur_.up && seconds_ > 0; }
  double Of(std::string_view name, const metrics::Labels& match = {}) const {
    return known() ? Delta(prev_->Sum(name, match), cur_.Sum(name, match)) / seconds_ : 0;
  }
  std::map<std::string, double> By(std::string_view name, std::string_view key) const {
    std::map<std::string, double> out;
    if (!known()) return out;
    const auto before = prev_->SumBy(name, key);
    for (const auto& [k, now] : cur_.SumBy(name, key)) {
      auto it = before.find(k);
      out[k] = Delta(it == before.end() ? 0 : it->second, now) / seconds_;
    }
    return out;
  }

 private:
  static double Delta(double before, double now) { return now >= before ? now - before : now; }
  const ServerStats* prev_;
  const ServerStats& cur_;
  double seconds_;
};

struct Usage {
  double read = 0, write = 0, iops = 0, mds_ops = 0;  // bytes/s, bytes/s, requests/s, requests/s
  double bytes() const { return read + write; }
};

// What the clients did in the interval, summed over the servers.
struct Activity {
  std::map<std::string, Usage> clients, jobs;
  std::map<std::string, double> mds_ops;  // the serving replica's, by operation
};

void AddOst(const Rates& r, Activity& a) {
  for (const auto& [k, v] : r.By("amlfs_ost_client_read_bytes_total", "client"))
    a.clients[k].read += v;
  for (const auto& [k, v] : r.By("amlfs_ost_client_write_bytes_total", "client"))
    a.clients[k].write += v;
  for (const auto& [k, v] : r.By("amlfs_ost_client_ops_total", "client")) a.clients[k].iops += v;
  for (const auto& [k, v] : r.By("amlfs_ost_job_read_bytes_total", "jobid")) a.jobs[k].read += v;
  for (const auto& [k, v] : r.By("amlfs_ost_job_write_bytes_total", "jobid")) a.jobs[k].write += v;
  for (const auto& [k, v] : r.By("amlfs_ost_job_ops_total", "jobid")) a.jobs[k].iops += v;
}

void AddMds(const Rates& r, Activity& a) {
  for (const auto& [op, v] : r.By("amlfs_mds_ops_total", "op"))
    if (!kInternalOps.contains(op)) a.mds_ops[op] += v;
  for (const auto& [k, v] : r.By("amlfs_mds_client_ops_total", "client")) a.clients[k].mds_ops += v;
  for (const auto& [k, v] : r.By("amlfs_mds_job_ops_total", "jobid")) a.jobs[k].mds_ops += v;
}

double Seconds(const ClusterStats* prev, const ClusterStats& cur) {
  return prev ? std::chrono::duration<double>(cur.when - prev->when).count() : 0;
}

const ServerStats* Before(const ClusterStats* prev, const ServerStats& s) {
  return prev ? prev->Find(s.role, s.address) : nullptr;
}

Activity Measure(const ClusterStats* prev, const ClusterStats& cur) {
  Activity a;
  const double dt = Seconds(prev, cur);
  for (const auto& s : cur.servers)
    if (s.role == "ost") AddOst(Rates(Before(prev, s), s, dt), a);
  if (const ServerStats* mds = cur.ServingMds()) AddMds(Rates(Before(prev, *mds), *mds, dt), a);
  return a;
}

std::string Format(const char* fmt, double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// How much of `s` fits in `n` bytes without splitting a UTF-8 sequence.
size_t Utf8Prefix(const std::string& s, size_t n) {
  if (n >= s.size()) return s.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return n;
}

// `s` in `width` columns, left-aligned; cut with '~' when longer.
std::string Cell(const std::string& s, size_t width) {
  if (width == 0) return {};
  if (s.size() > width) return s.substr(0, Utf8Prefix(s, width - 1)) + "~";
  return s + std::string(width - s.size(), ' ');
}

// A row: the name in `name_width` columns, then each value right-aligned in 10.
std::string Row(const std::string& name, size_t name_width,
                const std::vector<std::string>& values) {
  std::string out = Cell(name, name_width);
  for (const auto& v : values) out += " " + std::string(v.size() < 10 ? 10 - v.size() : 0, ' ') + v;
  return out;
}

// The name column: what the screen leaves beside `values` columns of 11.
size_t NameWidth(ScreenSize size, size_t values) {
  const size_t rest = size.columns > values * 11 ? size.columns - values * 11 : 0;
  return std::clamp<size_t>(rest, 12, 48);
}

struct Section {
  std::string title;       // "OST": heads the name column, or the whole line
  size_t title_width = 0;  // the name column's; 0: no columns
  std::string columns;     // the other columns' headings
  std::vector<std::string> rows;
  std::string empty;  // the one row when there are none

  // The heading line when `shown` rows fit: "OST 3/40" when not all of them.
  std::string Heading(size_t shown) const {
    std::string t = title;
    if (shown < rows.size()) t += " " + std::to_string(shown) + "/" + std::to_string(rows.size());
    return title_width ? Cell(t, title_width) + columns : t;
  }
};

std::string Clock(double unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string MdsLine(const ClusterStats& cur) {
  std::string line = "MDS:";
  const ServerStats* serving = cur.ServingMds();
  for (const auto& s : cur.servers) {
    if (s.role != "mds") continue;
    line += line.size() > 4 ? ", " : " ";
    if (!s.up)
      line += (s.name == "mds?" ? s.address : s.name) + " DOWN";
    else if (&s == serving)
      line += s.name + " leads (term " + Format("%.0f", s.Sum("amlfs_mds_raft_term")) + ")";
    else
      line += s.name + " follows";
  }
  if (!serving) line += "; no replica serves";
  return line;
}

std::string SpaceLine(const ClusterStats& cur) {
  size_t osts = 0, up = 0;
  double capacity = 0, used = 0, avail = 0;
  for (const auto& s : cur.servers) {
    if (s.role != "ost") continue;
    ++osts;
    if (!s.up) continue;
    ++up;
    capacity += s.Sum("amlfs_ost_capacity_bytes");
    used += s.Sum("amlfs_ost_capacity_bytes") - s.Sum("amlfs_ost_free_bytes");
    avail += s.Sum("amlfs_ost_avail_bytes");
  }
  const ServerStats* mds = cur.ServingMds();
  std::string line = "OSTs: " + std::to_string(up) + "/" + std::to_string(osts) +
                     " up   space: " + HumanBytes(used) + " used of " + HumanBytes(capacity);
  if (used + avail > 0) line += Format(" (%.0f%%)", 100 * used / (used + avail));
  line += "   inodes: " + (mds ? Format("%.0f", mds->Sum("amlfs_mds_inodes")) : std::string("?"));
  return line;
}

std::vector<std::string> Header(const ClusterStats* prev, const ClusterStats& cur) {
  const double dt = Seconds(prev, cur);
  std::string when = prev ? Format("rates over %.1f s", dt) : std::string("no rates yet");
  return {"amlfs top - " + cur.fs_name + " - " + Clock(cur.time) + " - " + when, MdsLine(cur),
          SpaceLine(cur)};
}

// One OST's row, and how busy it was: bytes and requests per second
// (infinite when it is down, so it comes first).
std::pair<double, std::string> OstRow(const ServerStats* before, const ServerStats& s, double dt) {
  if (!s.up) return {HUGE_VAL, Cell(s.name, 10) + " DOWN: " + s.error};
  const Rates r(before, s, dt);
  auto rate = [&](const char* fmt, double v) { return r.known() ? Format(fmt, v) : "-"; };
  const double read = r.Of("amlfs_ost_read_bytes_total"),
               write = r.Of("amlfs_ost_write_bytes_total");
  const double reads = r.Of("amlfs_ost_ops_total", {{"op", "obj_read"}});
  const double writes = r.Of("amlfs_ost_ops_total", {{"op", "obj_write"}});
  const double used = s.Sum("amlfs_ost_capacity_bytes") - s.Sum("amlfs_ost_free_bytes");
  const double avail = s.Sum("amlfs_ost_avail_bytes");
  return {
      read + write + reads + writes,
      Row(s.name, 10,
          {rate("%.1f", read / kMB), rate("%.1f", write / kMB), rate("%.0f", reads),
           rate("%.0f", writes),
           used + avail > 0 ? Format("%.0f%%", 100 * used / (used + avail)) : std::string("-")})};
}

// The OSTs that are down first, then the busiest; idle ones in index order.
Section OstSection(const ClusterStats* prev, const ClusterStats& cur) {
  Section sec;
  sec.title = "OST";
  sec.title_width = 10;
  sec.columns = Row("", 0, {"READ MB/s", "WRITE MB/s", "READ IOPS", "WRITE IOPS", "FULL"});
  sec.empty = "(no OSTs)";
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& s : cur.servers)
    if (s.role == "ost") rows.push_back(OstRow(Before(prev, s), s, Seconds(prev, cur)));
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [busy, row] : rows) sec.rows.push_back(std::move(row));
  return sec;
}

// The busiest first: bytes, then requests, then by name.
std::vector<std::pair<std::string, Usage>> Busiest(const std::map<std::string, Usage>& m) {
  std::vector<std::pair<std::string, Usage>> v;
  for (const auto& [k, u] : m)
    if (u.bytes() > 0 || u.iops > 0 || u.mds_ops > 0) v.emplace_back(k, u);
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    if (a.second.bytes() != b.second.bytes()) return a.second.bytes() > b.second.bytes();
    return a.second.iops + a.second.mds_ops > b.second.iops + b.second.mds_ops;
  });
  return v;
}

Section UsageSection(const char* what, const std::map<std::string, Usage>& m, ScreenSize size,
                     bool rates) {
  Section sec;
  const size_t w = NameWidth(size, 4);
  sec.title = what;
  sec.title_width = w;
  sec.columns = Row("", 0, {"READ MB/s", "WRITE MB/s", "IOPS", "MDS OPS/s"});
  sec.empty = rates ? "(idle)" : "-";
  for (const auto& [name, u] : Busiest(m))
    sec.rows.push_back(Row(name.empty() ? "(none)" : name, w,
                           {Format("%.1f", u.read / kMB), Format("%.1f", u.write / kMB),
                            Format("%.0f", u.iops), Format("%.1f", u.mds_ops)}));
  return sec;
}

// The operations side by side, busiest first, as many to a row as fit.
Section MdsOpsSection(const ClusterStats& cur, const Activity& a, ScreenSize size, bool rates) {
  Section sec;
  const ServerStats* mds = cur.ServingMds();
  sec.title =
      "MDS OPERATIONS/s" + (mds ? " (" + mds->name + ")" : std::string(" (no replica serves)"));
  sec.empty = rates ? "(idle)" : "-";
  std::vector<std::pair<std::string, double>> ops;
  for (const auto& [op, v] : a.mds_ops)
    if (v > 0) ops.emplace_back(op, v);
  std::stable_sort(ops.begin(), ops.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  constexpr size_t kCell = 24;
  const size_t per_row = std::max<size_t>(1, size.columns / kCell);
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i % per_row == 0) sec.rows.emplace_back();
    std::string v = Format("%.1f", ops[i].second);
    std::string cell = Cell(ops[i].first, kCell - 2 - v.size()) + " " + v;
    sec.rows.back() += (i % per_row ? " " : "") + cell;
  }
  return sec;
}

// The sections in `budget` lines, a blank line between two: each gets its
// heading and one row, then the rows left are dealt out one at a time in
// turn; a section that cannot have a row is left out, from the last.
std::vector<std::string> Fit(std::vector<Section> sections, size_t budget) {
  while (!sections.empty() && 3 * sections.size() - 1 > budget) sections.pop_back();
  if (sections.empty()) return {};
  std::vector<size_t> shown(sections.size(), 1);
  size_t left = budget - (3 * sections.size() - 1);
  for (bool grew = true; grew && left > 0;) {
    grew = false;
    for (size_t i = 0; i < sections.size() && left > 0; ++i)
      if (shown[i] < sections[i].rows.size()) {
        ++shown[i];
        --left;
        grew = true;
      }
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < sections.size(); ++i) {
    const Section& s = sections[i];
    if (i) out.emplace_back();
    out.push_back(s.Heading(shown[i]));
    if (s.rows.empty()) out.push_back(s.empty);
    for (size_t r = 0; r < shown[i] && r < s.rows.size(); ++r) out.push_back(s.rows[r]);
  }
  return out;
}

// `line` with control characters made visible, cut to `columns` bytes
// without splitting a UTF-8 sequence.
std::string Clip(std::string line, size_t columns) {
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  line.resize(Utf8Prefix(line, columns));
  return line;
}

}  // namespace

std::vector<std::string> RenderFrame(const ClusterStats* prev, const ClusterStats& cur,
                                     ScreenSize size) {
  const Activity a = Measure(prev, cur);
  std::vector<std::string> lines = Header(prev, cur);
  lines.emplace_back();
  const size_t budget = size.rows > lines.size() ? size.rows - lines.size() : 0;
  const bool rates = prev != nullptr;
  auto body = Fit({OstSection(prev, cur), UsageSection("CLIENT", a.clients, size, rates),
                   MdsOpsSection(cur, a, size, rates), UsageSection("JOB", a.jobs, size, rates)},
                  budget);
  lines.insert(lines.end(), body.begin(), body.end());
  if (lines.size() > size.rows) lines.resize(size.rows);
  for (auto& l : lines) l = Clip(std::move(l), size.columns);
  return lines;
}

}  // namespace amlfs::tools
