// A device of RTL cores: the ISS Machine's memories, engines and queues
// (the same flat device, firmware/abi.h's addresses), with the Verilated
// cores clocked in SystemC in place of the ISS cores. It is an iss::Backend,
// so driver::Device boots the firmware and runs programs on it. SystemC
// allows one simulation a process, so a process makes one RtlMachine and
// reloads it (load, boot) as often as it likes.
#pragma once

#include "sim/iss/backend.h"
#include "sim/iss/machine.h"
#include "sim/rtl/rtl_core.h"

#include <systemc>

#include <exception>
#include <functional>
#include <memory>
#include <vector>

namespace npu::rtl {

class RtlMachine : public sc_core::sc_module, public iss::Backend {
 public:
  RtlMachine(sc_core::sc_module_name name, const iss::MachineConfig& cfg);
  SC_HAS_PROCESS(RtlMachine);
  ~RtlMachine() override;

  void load(const std::vector<uint64_t>& code, const std::vector<iss::DataSection>& data) override;
  void boot(uint64_t pc) override;
  // Cores run cycle by cycle; idleness is checked every quantum, as on Machine.
  Stop run(uint64_t max_cycles) override;
  uint64_t cycle() const override { return now_; }
  void host_push(uint32_t queue, uint64_t value) override;
  bool host_pop(uint32_t mask, uint64_t* value) override;
  unsigned ncores() const override { return unsigned(cores_.size()); }
  unsigned nthreads() const override { return cfg_.threads; }
  iss::Engines& engines() override { return m_.engines(); }
  iss::CoreCounters counters(unsigned core) override;
  uint64_t csr(unsigned core, unsigned thread, Csr n) override;
  void set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) override;

  void set_tracer(iss::Tracer* t);
  RtlCore& core(unsigned i) { return *cores_.at(i); }
  // A thread's registers r0..r31 and its pc (index 32), read through the debug port.
  std::vector<uint64_t> registers(unsigned core, unsigned thread);
  // FST waveforms of core `core` from now on.
  void trace_to(const std::string& path, unsigned core = 0);
  void close_trace();

 private:
  bool host_dmi(unsigned core, uint64_t addr, iss::Dmi* out) override {
    return m_.dmi(core, addr, out);
  }
  void drive();
  // Runs cycles in the simulation (or only host work, for 0) and returns.
  void step(uint64_t cycles);
  // Runs fn in the driver's thread (debug reads need delta cycles).
  void in_thread(std::function<void()> fn);

  iss::MachineConfig cfg_;
  iss::Machine m_;  // memories, engines and queues; its ISS cores stay unused
  std::vector<std::unique_ptr<RtlCore>> cores_;
  std::vector<RtlCore*> clocked_;  // cores_, as RtlCore::clock takes them
  sc_core::sc_time period_;
  sc_core::sc_event go_;
  uint64_t todo_ = 0;
  std::function<void()> fn_;
  uint64_t now_ = 0;
  bool last_idle_ = false;    // every core was idle in the last cycle run
  std::exception_ptr error_;  // thrown in the driver's thread, for step() to rethrow
};

}  // namespace npu::rtl
