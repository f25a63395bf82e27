#include "sim/nic/memory.h"

#include <algorithm>
#include <cstring>

namespace npu::nic {

BankTimer::BankTimer(const SharedMemoryConfig& cfg, uint32_t latency)
    : cfg_(cfg), latency_(latency), banks_(cfg.banks, Calendar(1)) {}

uint64_t BankTimer::bank(uint64_t addr) const {
  // Lines interleave over the banks, with higher address bits folded in as
  // memory controllers do: otherwise the same offset in every 4 KiB frame
  // (descriptors, the first header bytes) would always hit one bank.
  uint64_t line = addr / cfg_.bank_bytes;
  return (line ^ (line >> 6) ^ (line >> 12) ^ (line >> 18)) % cfg_.banks;
}

void BankTimer::account(uint64_t bytes, uint64_t occupy, uint64_t wait) {
  stats_.accesses++;
  stats_.bytes += bytes;
  stats_.busy_cycles += occupy;
  stats_.wait_cycles += wait;
  stats_.max_wait = std::max(stats_.max_wait, wait);
}

uint64_t BankTimer::transfer(uint64_t addr, uint64_t size, uint64_t cycle) {
  // A burst moves line by line, each line in its own bank after the previous
  // one: it is done when the last line is.
  uint64_t done = cycle, wait = 0, occupy = 0;
  for (uint64_t off = 0; off < std::max<uint64_t>(size, 1); off += cfg_.bank_bytes) {
    uint64_t n = std::min<uint64_t>(cfg_.bank_bytes, size - std::min(size, off));
    uint32_t busy =
        uint32_t(std::max<uint64_t>(1, (n + cfg_.bytes_per_cycle - 1) / cfg_.bytes_per_cycle));
    uint64_t start = banks_[bank(addr + off)].reserve(done, busy);
    wait += start - done;
    done = start + busy;
    occupy += busy;
  }
  account(size, occupy, wait);
  return done - cycle;
}

uint32_t BankTimer::access(unsigned, uint64_t addr, unsigned size, bool, uint64_t cycle) {
  uint64_t occupy = std::max<uint64_t>(1, (size + cfg_.bytes_per_cycle - 1) / cfg_.bytes_per_cycle);
  uint64_t start = banks_[bank(addr)].reserve(cycle, uint32_t(occupy));
  uint64_t wait = start - cycle;
  account(size, occupy, wait);
  return uint32_t(std::min<uint64_t>(UINT32_MAX, wait + latency_));
}

SharedMemory::SharedMemory(sc_core::sc_module_name name, iss::Region region, uint64_t base,
                           uint64_t size, const SharedMemoryConfig& cfg, uint32_t latency,
                           sc_core::sc_time period)
    : sc_module(name),
      BankTimer(cfg, latency),
      socket("socket"),
      region_(region),
      base_(base),
      bytes_(size),
      period_(period) {
  socket.register_b_transport(this, &SharedMemory::b_transport);
  socket.register_get_direct_mem_ptr(this, &SharedMemory::get_direct_mem_ptr);
}

void SharedMemory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  uint64_t addr = trans.get_address();
  unsigned n = trans.get_data_length();
  if (!contains(addr, n) || trans.get_byte_enable_ptr()) {
    trans.set_response_status(!contains(addr, n) ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                                                 : tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  uint8_t* p = bytes_.data() + (addr - base_);
  if (trans.is_write())
    std::memcpy(p, trans.get_data_ptr(), n);
  else if (trans.is_read())
    std::memcpy(trans.get_data_ptr(), p, n);
  // The initiator's local time decides its place in the bank's line.
  uint64_t now = uint64_t((sc_core::sc_time_stamp() + delay) / period_);
  delay += period_ * double(transfer(addr, n, now) + (trans.is_read() ? latency() : 0));
  trans.set_dmi_allowed(true);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool SharedMemory::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  dmi.set_dmi_ptr(bytes_.data());
  dmi.set_start_address(base_);
  dmi.set_end_address(base_ + bytes_.size() - 1);
  dmi.allow_read_write();
  dmi.set_read_latency(period_ * double(latency()));
  dmi.set_write_latency(period_);
  if (TimerExtension* t = trans.get_extension<TimerExtension>()) {
    t->timer = this;
    t->region = region_;
  }
  return true;
}

}  // namespace npu::nic
