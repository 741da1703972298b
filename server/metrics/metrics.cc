#include "server/metrics/metrics.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace goodbuy::metrics {
namespace {

double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

uint64_t ToBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

void AddTo(std::atomic<uint64_t>& bits, double amount) {
  uint64_t old = bits.load(std::memory_order_relaxed);
  while (!bits.compare_exchange_weak(old, ToBits(FromBits(old) + amount),
                                     std::memory_order_relaxed)) {
  }
}

// A sample value as Prometheus reads it (Go's ParseFloat: +Inf, -Inf, NaN).
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  // The shortest text that reads back as exactly `v`.
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, v);
  if (error != std::errc()) return absl::StrFormat("%.17g", v);
  return std::string(buffer, end);
}

// Backslashes and newlines escaped, and double quotes too in label values
// (the text format's two escaping rules).
std::string Escape(const std::string& text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} plus `extra` (already formatted), or "" when empty.
std::string LabelSet(const Labels& names, const Labels& values,
                     const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"",
                    Escape(values[i], /*quotes=*/true), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, out.empty() ? "" : ",", extra);
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

}  // namespace

void Counter::Inc(double amount) {
  if (amount > 0) AddTo(bits_, amount);
}
double Counter::Value() const { return FromBits(bits_.load()); }

void Gauge::Set(double value) { bits_.store(ToBits(value)); }
void Gauge::Add(double amount) { AddTo(bits_, amount); }
double Gauge::Value() const { return FromBits(bits_.load()); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.Inc(value > 0 ? value : 0);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;  // consistent with the buckets read
  s.sum = sum_.Value();
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1,      2.5,   5,    10,    30,   60};
}

Registry::Entry& Registry::Add(const std::string& name, Type type,
                               const std::string& help, Labels label_names) {
  auto [it, inserted] = entries_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
    it->second.label_names = std::move(label_names);
  }
  return it->second;
}

Family<Counter>& Registry::AddCounter(const std::string& name,
                                      const std::string& help,
                                      Labels label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = Add(name, Type::kCounter, help, std::move(label_names));
  if (!e.counters) {
    e.counters.reset(
        new Family<Counter>([] { return std::make_unique<Counter>(); }));
  }
  return *e.counters;
}

Family<Gauge>& Registry::AddGauge(const std::string& name,
                                  const std::string& help, Labels label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = Add(name, Type::kGauge, help, std::move(label_names));
  if (!e.gauges) {
    e.gauges.reset(new Family<Gauge>([] { return std::make_unique<Gauge>(); }));
  }
  return *e.gauges;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name,
                                          const std::string& help,
                                          Labels label_names,
                                          std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = Add(name, Type::kHistogram, help, std::move(label_names));
  if (!e.histograms) {
    e.histograms.reset(new Family<Histogram>(
        [bounds] { return std::make_unique<Histogram>(bounds); }));
  }
  return *e.histograms;
}

void Registry::AddCallbackGauge(const std::string& name,
                                const std::string& help,
                                std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  Add(name, Type::kCallback, help, {}).read = std::move(read);
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& entry : entries_) {
    // Not a structured binding: lambdas below capture these (C++17).
    const std::string& name = entry.first;
    const Entry& e = entry.second;
    const char* type = e.type == Type::kCounter     ? "counter"
                       : e.type == Type::kHistogram ? "histogram"
                                                    : "gauge";
    absl::StrAppend(&out, "# HELP ", name, " ",
                    Escape(e.help, /*quotes=*/false), "\n", "# TYPE ", name,
                    " ", type, "\n");
    switch (e.type) {
      case Type::kCounter:
        e.counters->ForEach([&](const Labels& values, const Counter& c) {
          absl::StrAppend(&out, name, LabelSet(e.label_names, values), " ",
                          FormatValue(c.Value()), "\n");
        });
        break;
      case Type::kGauge:
        e.gauges->ForEach([&](const Labels& values, const Gauge& g) {
          absl::StrAppend(&out, name, LabelSet(e.label_names, values), " ",
                          FormatValue(g.Value()), "\n");
        });
        break;
      case Type::kCallback:
        absl::StrAppend(&out, name, " ", FormatValue(e.read ? e.read() : 0),
                        "\n");
        break;
      case Type::kHistogram:
        e.histograms->ForEach([&](const Labels& values, const Histogram& h) {
          const Histogram::Snapshot s = h.Read();
          for (size_t i = 0; i < s.cumulative.size(); ++i) {
            const std::string le =
                i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
            absl::StrAppend(&out, name, "_bucket",
                            LabelSet(e.label_names, values,
                                     absl::StrCat("le=\"", le, "\"")),
                            " ", s.cumulative[i], "\n");
          }
          absl::StrAppend(&out, name, "_sum", LabelSet(e.label_names, values),
                          " ", FormatValue(s.sum), "\n", name, "_count",
                          LabelSet(e.label_names, values), " ", s.count, "\n");
        });
        break;
    }
  }
  return out;
}

Registry& Default() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace goodbuy::metrics
