#include "common/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace herald::bench {
namespace {

constexpr int kSubBucketBits = 6;               // 64 sub-buckets per power of two
constexpr int kExactBits = kSubBucketBits + 1;  // values below 128 get a bucket each

size_t bucket_of(uint64_t value) {
  int shift = std::max(0, static_cast<int>(std::bit_width(value)) - kExactBits);
  return (static_cast<size_t>(shift) << kSubBucketBits) + static_cast<size_t>(value >> shift);
}

// The middle of a bucket's range: the value reported for everything recorded in it.
int64_t bucket_value(size_t index) {
  if (index < (size_t{1} << kExactBits)) return static_cast<int64_t>(index);
  int shift = static_cast<int>(index >> kSubBucketBits) - 1;
  uint64_t mantissa = index - (static_cast<size_t>(shift) << kSubBucketBits);
  uint64_t low = mantissa << shift;
  return static_cast<int64_t>(low + ((uint64_t{1} << shift) >> 1));
}

double to_ms(int64_t micros) { return std::round(static_cast<double>(micros) / 10.0) / 100.0; }

}  // namespace

void LatencyHistogram::add_to_bucket(size_t index, uint64_t times) {
  if (counts_.empty()) {
    first_ = index;
  } else if (index < first_) {
    counts_.insert(counts_.begin(), first_ - index, 0);
    first_ = index;
  }
  if (index - first_ >= counts_.size()) counts_.resize(index - first_ + 1, 0);
  counts_[index - first_] += static_cast<uint32_t>(times);
  count_ += times;
}

void LatencyHistogram::add(int64_t micros, uint64_t times) {
  add_to_bucket(bucket_of(micros > 0 ? static_cast<uint64_t>(micros) : 0), times);
}

void LatencyHistogram::record(int64_t micros) {
  micros = std::max<int64_t>(micros, 0);
  add(micros, 1);
  min_ = std::min(min_, micros);
  max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other, int64_t shift_us) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < other.counts_.size(); ++i)
    if (other.counts_[i]) add(bucket_value(other.first_ + i) + shift_us, other.counts_[i]);
  min_ = std::min(min_, std::max<int64_t>(other.min_ + shift_us, 0));
  max_ = std::max(max_, std::max<int64_t>(other.max_ + shift_us, 0));
}

int64_t LatencyHistogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_value(first_ + i), min_, max_);
  }
  return max_;
}

nlohmann::json LatencyHistogram::to_json() const {
  auto buckets = nlohmann::json::array();
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (!counts_[i]) continue;
    buckets.push_back(first_ + i);
    buckets.push_back(counts_[i]);
  }
  return {{"count", count_}, {"min", min()}, {"max", max()}, {"buckets", std::move(buckets)}};
}

LatencyHistogram LatencyHistogram::from_json(const nlohmann::json& json) {
  LatencyHistogram histogram;
  const auto& buckets = json.at("buckets");
  for (size_t i = 0; i + 1 < buckets.size(); i += 2) {
    histogram.add_to_bucket(buckets[i].get<size_t>(), buckets[i + 1].get<uint32_t>());
  }
  if (histogram.count_) {
    histogram.min_ = json.at("min").get<int64_t>();
    histogram.max_ = json.at("max").get<int64_t>();
  }
  return histogram;
}

nlohmann::json LatencyHistogram::summary_ms() const {
  return {{"count", count_},
          {"min", to_ms(min())},
          {"p50", to_ms(percentile(0.5))},
          {"p90", to_ms(percentile(0.9))},
          {"p99", to_ms(percentile(0.99))},
          {"p999", to_ms(percentile(0.999))},
          {"max", to_ms(max())}};
}

}  // namespace herald::bench
