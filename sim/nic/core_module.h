// One NPU core of the card: the ISS core (T hardware threads) behind an
// adapter that owns its local memory and turns its three abstract ports into
// TLM: memory by DMI through the bus (a shared memory's timer rides along as
// an extension), engine commands by b_transport to the engine block, queues
// through the dispatcher. The core runs up to a quantum ahead of the rest of
// the card (loosely timed, as riscv-vp's cores do) and sleeps on an event
// while every thread waits for a queue entry. With `cores.model: rtl` the
// Verilated RTL core (docs/npu_core.md) takes the ISS core's place behind the
// same adapter, clocked cycle by cycle, and sleeps the same way when idle.
#pragma once

#include "sim/iss/core.h"
#include "sim/nic/config.h"
#include "sim/rtl/rtl_core.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace npu::nic {

class CoreModule : public sc_core::sc_module, public iss::MemoryPort, public iss::EnginePort {
 public:
  tlm_utils::simple_initiator_socket<CoreModule> mem;  // to the bus
  tlm_utils::simple_initiator_socket<CoreModule> eng;  // to the engine block

  // queues: the dispatcher's view for this core.
  CoreModule(sc_core::sc_module_name name, unsigned id, const NicConfig& cfg,
             iss::QueuePort& queues);
  SC_HAS_PROCESS(CoreModule);

  // The ISS core (its state and statistics; unused with the RTL model).
  iss::Core& core() { return core_; }
  // The RTL core, or null with the ISS model.
  rtl::RtlCore* rtl_core() { return rtl_.get(); }
  void load_code(const std::vector<uint64_t>& code);
  void start(unsigned thread, uint64_t pc);
  // The thread issuing now (during a request: the one that made it).
  unsigned current() const;
  std::vector<uint8_t>& local_memory() { return lm_; }
  // Wakes the core if it sleeps (an entry arrived for its threads).
  void wake() { wake_.notify(sc_core::SC_ZERO_TIME); }
  // Waiting on its event with a thread that would take a queue entry; idle:
  // with nothing else to do either.
  bool sleeping() const { return sleeping_; }
  bool idle() const { return idle_; }
  // The card's time in core cycles.
  uint64_t cycle_now() const;

  bool dmi(unsigned core, uint64_t addr, iss::Dmi* out) override;
  iss::Completion command(const iss::Command& cmd) override;

 private:
  void run();
  void run_rtl();
  void invalidate(sc_dt::uint64 lo, sc_dt::uint64 hi);

  const NicConfig& cfg_;
  std::vector<uint8_t> lm_;
  iss::Core core_;
  std::unique_ptr<rtl::RtlCore> rtl_;
  sc_core::sc_time period_;
  sc_core::sc_event wake_;
  bool sleeping_ = false, idle_ = false;
  tlm::tlm_generic_payload cmd_trans_;
};

}  // namespace npu::nic
