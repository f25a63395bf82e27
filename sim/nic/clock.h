// SystemC time in picoseconds, the unit the model's arrival, link and
// release times are kept in (the default time resolution is 1 ps).
#pragma once

#include <systemc>

#include <cstdint>

namespace npu::nic {

inline uint64_t to_ps(const sc_core::sc_time& t) {
  return uint64_t(t / sc_core::sc_time(1, sc_core::SC_PS));
}

inline uint64_t now_ps() {
  return to_ps(sc_core::sc_time_stamp());
}

// A delay of ps picoseconds from now (0 for a time already past).
inline sc_core::sc_time ps_until(uint64_t at_ps) {
  uint64_t now = now_ps();
  return sc_core::sc_time(double(at_ps > now ? at_ps - now : 0), sc_core::SC_PS);
}

}  // namespace npu::nic
