// A latency histogram with logarithmic buckets (64 per power of two, so any reported value is
// within 1.6% of a recorded one). Fixed-cost recording, mergeable across worker processes.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

namespace herald::bench {

// Microseconds as the milliseconds reports show.
inline double ms(int64_t micros) { return static_cast<double>(micros) / 1000.0; }

class LatencyHistogram {
 public:
  // Records one latency in microseconds; negative values (clock skew) count as 0.
  void record(int64_t micros);
  // Adds every value of `other`, shifted by `shift_us` (to move it onto another time origin).
  void merge(const LatencyHistogram& other, int64_t shift_us = 0);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  // The value at `fraction` (0.5 for the median) of the sorted recordings, in microseconds.
  int64_t percentile(double fraction) const;

  // Lossless form for passing between processes.
  nlohmann::json to_json() const;
  static LatencyHistogram from_json(const nlohmann::json& json);

  // {"count","min","p50","p90","p99","p999","max"} in milliseconds, for reports.
  nlohmann::json summary_ms() const;

 private:
  void add(int64_t micros, uint64_t times);
  void add_to_bucket(size_t index, uint64_t times);

  // Counts of buckets first_, first_ + 1, ...: only the range in use is stored, so a message
  // received a few times costs a few bytes.
  std::vector<uint32_t> counts_;
  size_t first_ = 0;
  uint64_t count_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = std::numeric_limits<int64_t>::min();
};

}  // namespace herald::bench
