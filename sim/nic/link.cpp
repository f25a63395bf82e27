#include "sim/nic/link.h"

#include <algorithm>
#include <cmath>

namespace npu::nic {

bool Link::send(uint64_t ready_ps, uint64_t bytes, uint64_t* done_ps) {
  while (!queued_.empty() && queued_.front() <= ready_ps) queued_.pop_front();
  if (queued_.size() >= fifo_) {
    stats_.drops++;
    return false;
  }
  double start = std::max(free_ps_, double(ready_ps));
  double time = double(bytes) * ps_per_byte_;
  free_ps_ = start + time;
  *done_ps = uint64_t(std::ceil(free_ps_));
  // Frames finish in order: a later frame never leaves before an earlier one.
  if (!queued_.empty()) *done_ps = std::max(*done_ps, queued_.back());
  queued_.push_back(*done_ps);
  stats_.frames++;
  stats_.bytes += bytes;
  stats_.busy_ps += time;
  stats_.max_fifo = std::max<uint64_t>(stats_.max_fifo, queued_.size());
  return true;
}

}  // namespace npu::nic
