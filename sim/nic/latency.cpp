#include "sim/nic/latency.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace npu::nic {
namespace {

constexpr int kSub = LatencyRecorder::kSubBucketBits;
constexpr uint64_t kExact = uint64_t(2) << kSub;  // below this, one bucket per value

// Values [0, 256) map to themselves; above, bucket group g >= 1 holds values
// with g + 8 significant bits, split into 128 buckets of width 2^g by their top
// 8 bits m (128 <= m < 256): index 128 * g + m, continuing the exact range.
size_t bucket_of(uint64_t v) {
  if (v < kExact) return size_t(v);
  int g = 63 - __builtin_clzll(v) - kSub;
  return (size_t(g) << kSub) + size_t(v >> g);
}

// The largest value of bucket i (its only value in the exact range).
uint64_t bucket_high(size_t i) {
  if (i < kExact) return i;
  int g = int(i >> kSub) - 1;
  uint64_t m = i - (size_t(g) << kSub);
  return (m << g) + ((uint64_t(1) << g) - 1);
}

}  // namespace

void LatencyRecorder::record(uint64_t ns) {
  size_t i = bucket_of(ns);
  if (i >= counts_.size()) counts_.resize(i + 1);
  ++counts_[i];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
  sum_lo_ += ns;
  if (sum_lo_ < ns) ++sum_hi_;
}

void LatencyRecorder::merge(const LatencyRecorder& other) {
  if (&other == this) {  // the carry check below needs other unchanged
    LatencyRecorder copy = other;
    merge(copy);
    return;
  }
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size());
  for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_lo_ += other.sum_lo_;
  sum_hi_ += other.sum_hi_ + (sum_lo_ < other.sum_lo_ ? 1 : 0);
}

void LatencyRecorder::reset() {
  *this = LatencyRecorder();
}

double LatencyRecorder::mean() const {
  if (count_ == 0) return 0;
  long double sum = std::ldexp((long double)sum_hi_, 64) + (long double)sum_lo_;
  return double(sum / (long double)count_);
}

uint64_t LatencyRecorder::percentile(double p) const {
  if (!(p >= 0 && p <= 100))
    throw std::invalid_argument(fmt::format("latency percentile {} is outside [0, 100]", p));
  if (count_ == 0) return 0;
  // Nearest rank ceil(p/100 * n). p is a decimal approximated in binary, so
  // 99.9% of 1000 may come out a hair above 999: shed that much before ceil.
  double x = p / 100.0 * double(count_);
  double r = std::ceil(x - x * 1e-15);
  uint64_t rank = r < 1 ? 1 : r >= double(count_) ? count_ : uint64_t(r);
  if (rank == 1) return min_;
  if (rank == count_) return max_;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_high(i), max_);
  }
  return max_;  // not reached: the counts add up to count_
}

std::string LatencyRecorder::summary() const {
  return fmt::format("count {}, min {}, mean {:.1f}, p50 {}, p99 {}, p99.9 {}, max {} (ns)", count_,
                     min(), mean(), percentile(50), percentile(99), percentile(99.9), max_);
}

}  // namespace npu::nic
