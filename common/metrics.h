// Metrics: counters, gauges and latency histograms a process keeps of what
// it does, rendered in the Prometheus text exposition format (version
// 0.0.4) for /metrics, the Stats RPC, `amlfs top` and `amlfs stats`.
//
// A process has one Registry (Default()). Families are created once, at
// start-up or on first use, and their series live as long as the registry:
// hot paths hold plain Counter* / Histogram* and update them with one relaxed
// atomic add. Per-job and per-client accounting, whose keys come from the
// wire, goes through KeyedCounters, which bounds and ages its keys.
//
// Thread-safe throughout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace amlfs::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Latency in seconds, counted into fixed buckets (kLatencyBuckets:
// 100 µs .. 10 s, plus +Inf).
class Histogram {
 public:
  static constexpr double kLatencyBuckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1,      2.5,     5,      10};
  static constexpr size_t kBuckets = sizeof(kLatencyBuckets) / sizeof(double);

  void Observe(double seconds);
  // Seconds since `start` (steady clock).
  void ObserveSince(std::chrono::steady_clock::time_point start) {
    Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_ns_.load(std::memory_order_relaxed) / 1e9; }
  // Observations <= kLatencyBuckets[i] (not cumulative).
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> buckets_[kBuckets + 1] = {};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes samples in the text format; given to collectors at render time.
class Writer {
 public:
  explicit Writer(const Labels& constant) : constant_(constant) {}
  // "# HELP" and "# TYPE" lines; once per family, before its samples.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  void HistogramSamples(std::string_view name, const Labels& labels, const Histogram& h);
  std::string& text() { return out_; }

 private:
  const Labels& constant_;
  std::string out_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  // Labels added to every series (e.g. {"ost", "OST0003"}).
  void SetConstantLabels(Labels labels);

  // The series of family `name` with these label values, created on first
  // use. `label_names` and `help` are fixed by the first call; the returned
  // reference stays valid for the registry's life.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {});

  // `fn` runs at each render, after the families above, to emit samples
  // computed then (free space, Raft term). Keep it quick.
  void AddCollector(std::function<void(Writer&)> fn);

  // The whole exposition, text format.
  std::string Render();

 private:
  struct FamilyData;
  FamilyData& FamilyFor(const std::string& name, const std::string& type, const std::string& help);

  std::mutex mu_;
  Labels constant_;
  std::map<std::string, std::unique_ptr<FamilyData>> families_;
  std::vector<std::function<void(Writer&)>> collectors_;
};

// The process's registry; process_* and amlfs_log_level are built in.
Registry& Default();
// Names the process in Default(): amlfs_build_info{version, role} and the
// constant labels of every series (e.g. {"ost", "OST0003"}).
void SetIdentity(const std::string& role, Labels constant);

// Three families labelled by operation — a count, a count of errors and a
// latency histogram — for operations numbered below 256 (opcodes): the
// series of each operation are created on its first use, then found
// without a lock.
class OpMetrics {
 public:
  struct Op {
    Counter* count;
    Counter* errors;
    Histogram* seconds;
  };
  // Family names; `errors` may be empty (no error count, Op::errors null).
  OpMetrics(Registry& registry, std::string count, std::string errors, std::string seconds);
  // The series of operation `code`, labelled op=`name`. Codes of 255 and
  // above share one slot, labelled op="unknown".
  const Op& For(uint16_t code, const char* name);

 private:
  static constexpr size_t kSlots = 256;
  Registry& registry_;
  const std::string count_, errors_, seconds_;
  std::mutex mu_;
  std::atomic<const Op*> ops_[kSlots] = {};
  std::vector<std::unique_ptr<Op>> owned_;
};

// Counters per key (a job id, a client name), N of them per key, with the
// number of keys bounded: when full, the key idle longest gives way; keys
// idle past `idle` are forgotten at the next render.
class KeyedCounters {
 public:
  struct Spec {
    std::string name;  // family name, e.g. "amlfs_ost_job_read_bytes_total"
    std::string help;
  };
  // `label` names the key's label ("job", "client"); `sub_label`, when not
  // empty, a second label that splits each key's series (e.g. "op").
  // Registers a collector on `registry`.
  KeyedCounters(Registry& registry, std::string label, std::string sub_label,
                std::vector<Spec> specs, size_t max_keys = 1000,
                std::chrono::seconds idle = std::chrono::minutes(10));

  // Adds `n` to counter `which` (an index into specs) of (key, sub). An
  // empty key is not counted.
  void Add(std::string_view key, std::string_view sub, size_t which, uint64_t n);
  // Adds deltas[i] to counter i of (key, sub), for every spec: one lookup.
  // REQUIRES: deltas.size() == specs.size().
  void AddEach(std::string_view key, std::string_view sub, std::span<const uint64_t> deltas);
  size_t keys() const;

 private:
  void Collect(Writer& w);

  struct Entry {
    std::vector<uint64_t> values;
    std::chrono::steady_clock::time_point last;
  };
  const std::string label_, sub_label_;
  const std::vector<Spec> specs_;
  const size_t max_keys_;
  const std::chrono::seconds idle_;
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// One parsed sample of a text exposition.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
  // The value of label `key`, "" when absent.
  std::string Label(std::string_view key) const;
};
// Parses the text format (comments and blank lines skipped). Lines that do
// not parse are skipped too; returns how many were, in `bad` when given.
std::vector<Sample> ParseText(std::string_view text, size_t* bad = nullptr);

// `v` with \\, " and newlines escaped, for a label value.
std::string EscapeLabelValue(std::string_view v);

}  // namespace amlfs::metrics
