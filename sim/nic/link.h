// A serial link drained at a fixed bit rate with a bounded FIFO in front:
// the transmit MAC (wire bytes include preamble and inter-frame gap) and the
// PCIe DMA to the host (bytes include descriptor and TLP overhead). Timing is
// computed as frames are handed over, in picoseconds.
#pragma once

#include <cstdint>
#include <deque>

namespace npu::nic {

struct LinkStats {
  uint64_t frames = 0, bytes = 0;  // sent (bytes as counted on the link)
  uint64_t drops = 0;              // refused: FIFO full
  double busy_ps = 0;
  uint64_t max_fifo = 0;
};

class Link {
 public:
  Link(double gbps, uint32_t fifo_frames) : ps_per_byte_(8000.0 / gbps), fifo_(fifo_frames) {}
  // A frame of `bytes` ready at ready_ps: false when fifo_frames are still
  // waiting then; else *done_ps is when its last bit has left.
  bool send(uint64_t ready_ps, uint64_t bytes, uint64_t* done_ps);
  const LinkStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  double ps_per_byte() const { return ps_per_byte_; }

 private:
  double ps_per_byte_;
  uint32_t fifo_;
  double free_ps_ = 0;
  std::deque<uint64_t> queued_;  // done times of frames not yet gone
  LinkStats stats_;
};

}  // namespace npu::nic
