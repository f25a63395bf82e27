// The receive MAC: frames arrive one after another on the line, each taking
// its wire time (preamble, FCS and inter-frame gap included, so 64-byte frames
// arrive at 148.8 Mpps at 100 Gb/s), never earlier than offered. A frame is
// handed on when its last bit is in (store and forward).
#pragma once

#include <systemc>

#include <cstdint>
#include <functional>
#include <vector>

namespace npu::nic {

struct Offered {
  uint64_t start_ps;  // earliest time its first bit may go on the line
  uint32_t len;       // bytes without FCS
};

class MacRx : public sc_core::sc_module {
 public:
  MacRx(sc_core::sc_module_name name, double gbps);
  SC_HAS_PROCESS(MacRx);

  // Starts receiving frames, times relative to now.
  void start(std::vector<Offered> frames);
  // Called with (index, time the last bit is in, ps) for each frame.
  std::function<void(uint64_t, uint64_t)> on_frame;
  bool done() const { return next_ == frames_.size(); }
  uint64_t first_ps() const { return first_ps_; }
  uint64_t last_ps() const { return last_ps_; }
  double busy_ps() const { return busy_ps_; }

 private:
  void run();

  double ps_per_byte_;
  std::vector<Offered> frames_;
  size_t next_ = 0;
  uint64_t first_ps_ = 0, last_ps_ = 0;
  double busy_ps_ = 0;
  sc_core::sc_event start_;
};

}  // namespace npu::nic
