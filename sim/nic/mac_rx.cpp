#include "sim/nic/mac_rx.h"

#include "sim/nic/clock.h"
#include "sim/traffic/traffic_spec.h"

#include <algorithm>
#include <cmath>

namespace npu::nic {

MacRx::MacRx(sc_core::sc_module_name name, double gbps)
    : sc_module(name), ps_per_byte_(8000.0 / gbps) {
  SC_THREAD(run);
}

void MacRx::start(std::vector<Offered> frames) {
  frames_ = std::move(frames);
  next_ = 0;
  start_.notify(sc_core::SC_ZERO_TIME);
}

void MacRx::run() {
  for (;;) {
    sc_core::wait(start_);
    const uint64_t t0 = now_ps();
    first_ps_ = last_ps_ = t0;
    double line_free = double(t0);
    for (; next_ < frames_.size(); ++next_) {
      const Offered& f = frames_[next_];
      double start = std::max(line_free, double(t0 + f.start_ps));
      double time = double(traffic::wire_bytes(f.len)) * ps_per_byte_;
      line_free = start + time;
      busy_ps_ += time;
      if (next_ == 0) first_ps_ = uint64_t(start);
      uint64_t in = uint64_t(std::ceil(line_free));
      if (in > now_ps()) sc_core::wait(ps_until(in));
      last_ps_ = in;
      if (on_frame) on_frame(next_, in);
    }
  }
}

}  // namespace npu::nic
