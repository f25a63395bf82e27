// The card's interconnect: routes requests from cores, MACs and DMA engines
// to the memory that holds each address (firmware/abi.h's map), for
// b_transport and DMI; a target's DMI invalidation reaches every initiator.
// Addresses stay absolute.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include <cstdint>
#include <vector>

namespace npu::nic {

class Bus : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<Bus> in;
  tlm_utils::multi_passthrough_initiator_socket<Bus> out;

  explicit Bus(sc_core::sc_module_name name);
  // Requests in [lo, hi) go to the target bound as out's n-th binding (in binding order).
  void map(uint64_t lo, uint64_t hi, unsigned target);

 private:
  struct Range {
    uint64_t lo, hi;
    unsigned target;
  };
  const Range* find(uint64_t addr) const;
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  void invalidate(int target, sc_dt::uint64 lo, sc_dt::uint64 hi);

  std::vector<Range> ranges_;
};

}  // namespace npu::nic
