#include "common/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/log.h"

namespace amlfs::metrics {
namespace {

void AppendNumber(std::string* out, double v) {
  if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    *out += "NaN";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, ec == std::errc() ? end : buf);
}

void AppendLabels(std::string* out, const Labels& constant, const Labels& labels,
                  const std::pair<std::string, std::string>* extra = nullptr) {
  if (constant.empty() && labels.empty() && !extra) return;
  *out += '{';
  bool first = true;
  auto put = [&](const std::string& k, const std::string& v) {
    if (!first) *out += ',';
    first = false;
    *out += k;
    *out += "=\"";
    *out += EscapeLabelValue(v);
    *out += '"';
  };
  for (const auto& [k, v] : constant) put(k, v);
  for (const auto& [k, v] : labels) put(k, v);
  if (extra) put(extra->first, extra->second);
  *out += '}';
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Histogram::Observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  size_t i = 0;
  while (i < kBuckets && seconds > kLatencyBuckets[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Writer::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) out_ += c == '\n' ? ' ' : c;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Writer::Sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  AppendLabels(&out_, constant_, labels);
  out_ += ' ';
  AppendNumber(&out_, value);
  out_ += '\n';
}

void Writer::HistogramSamples(std::string_view name, const Labels& labels, const Histogram& h) {
  const std::string base(name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= Histogram::kBuckets; ++i) {
    cumulative += h.bucket(i);
    std::pair<std::string, std::string> le{"le", ""};
    if (i < Histogram::kBuckets) {
      char bound[32];  // "0.0001", as clients in other languages write it
      std::snprintf(bound, sizeof(bound), "%g", Histogram::kLatencyBuckets[i]);
      le.second = bound;
    } else {
      le.second = "+Inf";
    }
    out_ += base + "_bucket";
    AppendLabels(&out_, constant_, labels, &le);
    out_ += ' ';
    AppendNumber(&out_, static_cast<double>(cumulative));
    out_ += '\n';
  }
  Sample(base + "_sum", labels, h.sum());
  Sample(base + "_count", labels, static_cast<double>(h.count()));
}

// One family: its series by label values. Series are never removed.
struct Registry::FamilyData {
  std::string type, help;
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::SetConstantLabels(Labels labels) {
  std::lock_guard lk(mu_);
  constant_ = std::move(labels);
}

Registry::FamilyData& Registry::FamilyFor(const std::string& name, const std::string& type,
                                          const std::string& help) {
  auto& f = families_[name];
  if (!f) {
    f = std::make_unique<FamilyData>();
    f->type = type;
    f->help = help;
  }
  return *f;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard lk(mu_);
  auto& slot = FamilyFor(name, "counter", help).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lk(mu_);
  auto& slot = FamilyFor(name, "gauge", help).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  std::lock_guard lk(mu_);
  auto& slot = FamilyFor(name, "histogram", help).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void Registry::AddCollector(std::function<void(Writer&)> fn) {
  std::lock_guard lk(mu_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::Render() {
  std::vector<std::function<void(Writer&)>> collectors;
  Labels constant;
  std::string text;
  {
    std::lock_guard lk(mu_);
    constant = constant_;
    collectors = collectors_;
    Writer w(constant);
    for (const auto& [name, f] : families_) {
      w.Family(name, f->type, f->help);
      for (const auto& [labels, c] : f->counters)
        w.Sample(name, labels, static_cast<double>(c->value()));
      for (const auto& [labels, g] : f->gauges) w.Sample(name, labels, g->value());
      for (const auto& [labels, h] : f->histograms) w.HistogramSamples(name, labels, *h);
    }
    text = std::move(w.text());
  }
  // Collectors run without the lock: they may create series.
  Writer w(constant);
  for (const auto& fn : collectors) fn(w);
  return text + w.text();
}

namespace {

// process_* from /proc/self.
void CollectProcess(Writer& w) {
  static const long kTicks = sysconf(_SC_CLK_TCK);
  static const long kPage = sysconf(_SC_PAGESIZE);
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream is(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; is >> x;) f.push_back(x);
    // f[0] is field 3 (state): field N is f[N - 3].
    if (f.size() > 21) {
      double cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(kTicks);
      w.Family("process_cpu_seconds_total", "counter", "User and system CPU time spent.");
      w.Sample("process_cpu_seconds_total", cpu);
      w.Family("process_resident_memory_bytes", "gauge", "Resident memory size.");
      w.Sample("process_resident_memory_bytes", std::stod(f[21]) * static_cast<double>(kPage));
      static const double kStart = [&] {
        std::ifstream s("/proc/stat");
        std::string line;
        double btime = 0;
        while (std::getline(s, line))
          if (line.rfind("btime ", 0) == 0) btime = std::stod(line.substr(6));
        return btime + std::stod(f[19]) / static_cast<double>(kTicks);
      }();
      w.Family("process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
      w.Sample("process_start_time_seconds", kStart);
    }
  }
  size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++fds;
    closedir(d);
    w.Family("process_open_fds", "gauge", "Open file descriptors.");
    w.Sample("process_open_fds", static_cast<double>(fds ? fds - 1 : 0));  // less opendir's own
  }
  w.Family("amlfs_log_level", "gauge", "Log level: 0 debug, 1 info, 2 warn, 3 error.");
  w.Sample("amlfs_log_level", static_cast<double>(GetLogLevel()));
}

}  // namespace

Registry& Default() {
  static Registry* r = [] {
    auto* reg = new Registry();
    reg->AddCollector(CollectProcess);
    return reg;
  }();
  return *r;
}

OpMetrics::OpMetrics(Registry& registry, std::string count, std::string errors, std::string seconds)
    : registry_(registry),
      count_(std::move(count)),
      errors_(std::move(errors)),
      seconds_(std::move(seconds)) {}

const OpMetrics::Op& OpMetrics::For(uint16_t code, const char* name) {
  const size_t slot = code >= kSlots - 1 ? kSlots - 1 : code;
  if (const Op* op = ops_[slot].load(std::memory_order_acquire)) return *op;
  std::lock_guard lk(mu_);
  if (const Op* op = ops_[slot].load(std::memory_order_acquire)) return *op;
  const Labels labels{{"op", slot == kSlots - 1 ? "unknown" : name}};
  auto op = std::make_unique<Op>(Op{
      &registry_.GetCounter(count_, "Operations, by kind.", labels),
      errors_.empty() ? nullptr
                      : &registry_.GetCounter(errors_, "Operations that failed, by kind.", labels),
      &registry_.GetHistogram(seconds_, "Latency of operations, by kind.", labels)});
  ops_[slot].store(op.get(), std::memory_order_release);
  return *owned_.emplace_back(std::move(op));
}

void SetIdentity(const std::string& role, Labels constant) {
  Registry& r = Default();
  r.SetConstantLabels(std::move(constant));
#ifdef AMLFS_VERSION
  const char* version = AMLFS_VERSION;
#else
  const char* version = "unknown";
#endif
  r.GetGauge("amlfs_build_info", "Always 1; labels name the version and role.",
             {{"version", version}, {"role", role}})
      .Set(1);
}

KeyedCounters::KeyedCounters(Registry& registry, std::string label, std::string sub_label,
                             std::vector<Spec> specs, size_t max_keys, std::chrono::seconds idle)
    : label_(std::move(label)),
      sub_label_(std::move(sub_label)),
      specs_(std::move(specs)),
      max_keys_(max_keys),
      idle_(idle) {
  registry.AddCollector([this](Writer& w) { Collect(w); });
}

void KeyedCounters::Add(std::string_view key, std::string_view sub, size_t which, uint64_t n) {
  if (which >= specs_.size()) return;
  std::vector<uint64_t> deltas(specs_.size());
  deltas[which] = n;
  AddEach(key, sub, deltas);
}

void KeyedCounters::AddEach(std::string_view key, std::string_view sub,
                            std::span<const uint64_t> deltas) {
  if (key.empty() || deltas.size() != specs_.size()) return;
  std::string k;
  k.reserve(key.size() + sub.size() + 1);
  k.append(key).append(1, '\0').append(sub);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {
      auto oldest = entries_.begin();
      for (auto e = entries_.begin(); e != entries_.end(); ++e)
        if (e->second.last < oldest->second.last) oldest = e;
      entries_.erase(oldest);
    }
    it = entries_.emplace(std::move(k), Entry{std::vector<uint64_t>(specs_.size()), now}).first;
  }
  for (size_t i = 0; i < deltas.size(); ++i) it->second.values[i] += deltas[i];
  it->second.last = now;
}

size_t KeyedCounters::keys() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

void KeyedCounters::Collect(Writer& w) {
  std::vector<std::pair<std::string, std::vector<uint64_t>>> snapshot;
  {
    const auto cutoff = std::chrono::steady_clock::now() - idle_;
    std::lock_guard lk(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.last < cutoff) {
        it = entries_.erase(it);
      } else {
        snapshot.emplace_back(it->first, it->second.values);
        ++it;
      }
    }
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    w.Family(specs_[i].name, "counter", specs_[i].help);
    for (const auto& [k, values] : snapshot) {
      auto nul = k.find('\0');
      Labels labels{{label_, k.substr(0, nul)}};
      if (!sub_label_.empty()) labels.emplace_back(sub_label_, k.substr(nul + 1));
      w.Sample(specs_[i].name, labels, static_cast<double>(values[i]));
    }
  }
}

std::string Sample::Label(std::string_view key) const {
  for (const auto& [k, v] : labels)
    if (k == key) return v;
  return {};
}

namespace {

bool ParseLine(std::string_view line, Sample* s) {
  size_t i = 0;
  while (i < line.size() &&
         (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':'))
    ++i;
  if (i == 0) return false;
  s->name = std::string(line.substr(0, i));
  s->labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      size_t k = i;
      while (i < line.size() && line[i] != '=') ++i;
      if (i + 1 >= line.size() || line[i + 1] != '"') return false;
      std::string key(line.substr(k, i - k)), value;
      i += 2;
      for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value += line[i] == 'n' ? '\n' : line[i];
        } else {
          value += line[i];
        }
      }
      if (i >= line.size()) return false;
      ++i;  // closing quote
      s->labels.emplace_back(std::move(key), std::move(value));
    }
  }
  while (i < line.size() && line[i] == ' ') ++i;
  std::string_view rest = line.substr(i);
  auto sp = rest.find(' ');  // an optional timestamp follows
  std::string num(rest.substr(0, sp));
  if (num.empty()) return false;
  if (num == "+Inf" || num == "Inf")
    s->value = HUGE_VAL;
  else if (num == "-Inf")
    s->value = -HUGE_VAL;
  else if (num == "NaN")
    s->value = NAN;
  else {
    char* end = nullptr;
    s->value = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size()) return false;
  }
  return true;
}

}  // namespace

std::vector<Sample> ParseText(std::string_view text, size_t* bad) {
  std::vector<Sample> out;
  size_t skipped = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    if (ParseLine(line, &s))
      out.push_back(std::move(s));
    else
      ++skipped;
  }
  if (bad) *bad = skipped;
  return out;
}

}  // namespace amlfs::metrics
