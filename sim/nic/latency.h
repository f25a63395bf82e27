// Packet latencies in nanoseconds: count, min, max, mean and percentiles, in a
// log-linear histogram (HdrHistogram's layout with 7 sub-bucket bits) so a run
// of billions of packets records each in O(1) and at most 58 KiB.
//
// Error bound: values below 256 ns are kept exactly. Above, a value v falls in
// a bucket [lo, hi] of width 2^k where lo >= 128 * 2^k, and a percentile
// reports min(hi, max()). So the reported value r and the exact nearest-rank
// percentile x satisfy x <= r < x * (1 + 1/128): never low, at most 0.79%
// high. count(), min(), max() and mean() are exact, and so is percentile(100).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace npu::nic {

class LatencyRecorder {
 public:
  static constexpr int kSubBucketBits = 7;  // relative error < 2^-7

  void record(uint64_t ns);
  // Adds other's samples, as if each had been recorded here.
  void merge(const LatencyRecorder& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }  // 0 when empty
  uint64_t max() const { return max_; }               // 0 when empty
  double mean() const;                                // 0 when empty

  // The nearest-rank percentile: the smallest recorded value v such that at
  // least p% of the samples are <= v, within the bound above; p in [0, 100]
  // (0 gives min(), 100 gives max()), 0 when empty. Throws
  // std::invalid_argument for p outside [0, 100]. O(buckets in use).
  uint64_t percentile(double p) const;

  // "count 1000, min 120, mean 250.3, p50 240, p99 900, p99.9 1200, max 1500 (ns)".
  std::string summary() const;

 private:
  std::vector<uint64_t> counts_;  // grown up to the highest bucket in use
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  uint64_t sum_lo_ = 0;  // the exact sum as 128 bits: hours of latency times
  uint64_t sum_hi_ = 0;  // billions of packets overflow 64
};

}  // namespace npu::nic
