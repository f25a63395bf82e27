#include "sim/nic/bus.h"

namespace npu::nic {

Bus::Bus(sc_core::sc_module_name name) : sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &Bus::b_transport);
  in.register_get_direct_mem_ptr(this, &Bus::get_direct_mem_ptr);
  out.register_invalidate_direct_mem_ptr(this, &Bus::invalidate);
}

void Bus::map(uint64_t lo, uint64_t hi, unsigned target) {
  ranges_.push_back({lo, hi, target});
}

const Bus::Range* Bus::find(uint64_t addr) const {
  for (const Range& r : ranges_)
    if (addr >= r.lo && addr < r.hi) return &r;
  return nullptr;
}

void Bus::b_transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const Range* r = find(trans.get_address());
  if (!r) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  out[r->target]->b_transport(trans, delay);
}

bool Bus::get_direct_mem_ptr(int, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  const Range* r = find(trans.get_address());
  return r && out[r->target]->get_direct_mem_ptr(trans, dmi);
}

void Bus::invalidate(int, sc_dt::uint64 lo, sc_dt::uint64 hi) {
  for (unsigned i = 0; i < in.size(); ++i) in[i]->invalidate_direct_mem_ptr(lo, hi);
}

}  // namespace npu::nic
