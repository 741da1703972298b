// Prometheus metrics: counters, gauges and histograms with fixed label
// names, rendered in the text exposition format (version 0.0.4) for
// /metrics (see http_exporter.h). No Prometheus client library is packaged
// for C++ in Debian, so this is the small part of one the server needs.
//
// Metrics live for the process: a family is created once, by name, and its
// children (one per label-value tuple) are created on first use and never
// removed, so label values must come from small, fixed sets (session types,
// statuses, gRPC methods and codes; never a session id). All methods are
// thread-safe; Inc/Set/Observe on a child are lock-free.
#ifndef GOODBUY_SERVER_METRICS_METRICS_H_
#define GOODBUY_SERVER_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace goodbuy::metrics {

using Labels = std::vector<std::string>;  // values, in the family's order

class Counter {
 public:
  void Inc(double amount = 1);
  double Value() const;

 private:
  std::atomic<uint64_t> bits_{0};  // a double's bits, added by CAS
};

class Gauge {
 public:
  void Set(double value);
  void Add(double amount);
  double Value() const;

 private:
  std::atomic<uint64_t> bits_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  void Observe(absl::Duration d) { Observe(absl::ToDoubleSeconds(d)); }
  // Cumulative counts per bound (then +Inf), the sum and the count.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  Counter sum_;
  std::atomic<uint64_t> count_{0};
};

// Bucket bounds in seconds for latencies from 1 ms to 60 s.
std::vector<double> LatencyBuckets();

template <typename T>
class Family {
 public:
  T& With(const Labels& values) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) {
      it = children_.emplace(values, make_()).first;
    }
    return *it->second;
  }

 private:
  friend class Registry;
  explicit Family(std::function<std::unique_ptr<T>()> make)
      : make_(std::move(make)) {}
  template <typename F>
  void ForEach(F f) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, child] : children_) f(values, *child);
  }
  const std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<Labels, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names follow Prometheus conventions: counters end in _total, units are
  // in the name (_seconds). Registering a name twice returns the first.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              Labels label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          Labels label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name,
                                  const std::string& help, Labels label_names,
                                  std::vector<double> bounds);
  // A gauge without labels read when the metrics are rendered.
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> read);

  // Every metric in the text exposition format, families sorted by name.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram, kCallback };
  struct Entry {
    Type type;
    std::string help;
    Labels label_names;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
    std::function<double()> read;
  };
  Entry& Add(const std::string& name, Type type, const std::string& help,
             Labels label_names) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// The process's registry, which the server's layers record into.
Registry& Default();

}  // namespace goodbuy::metrics

#endif  // GOODBUY_SERVER_METRICS_METRICS_H_
