// The Verilated NPU core (hw/npu_core.sv) behind the same three ports as the
// ISS core: an adapter that answers the core's memory, engine and queue
// requests within the cycle, through iss::MemoryPort, iss::EnginePort and
// iss::QueuePort, and turns its retire port into iss::Tracer records. The
// core never sees a bus; whoever owns an RtlCore clocks it (RtlMachine for
// one device, the NIC model's core module on a card). docs/npu_core.md.
#pragma once

#include "sim/iss/backend.h"
#include "sim/iss/core.h"
#include "sim/iss/ports.h"
#include "sim/iss/timing.h"

#include <systemc>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

class Vnpu_core;
class VerilatedFstSc;

namespace npu::rtl {

// Threads per Verilated core (NPU_RTL_THREADS, hw/CMakeLists.txt).
unsigned max_threads();
// Why the RTL core cannot run with this timing (empty when it can): its
// divider needs a minimum of issue cycles, and a swap costs at least one.
std::string unsupported_timing(const iss::Timing& t);

class RtlCore : public sc_core::sc_module {
 public:
  RtlCore(sc_core::sc_module_name name, unsigned id, unsigned ncores, unsigned nthreads,
          const iss::Timing& timing, iss::MemoryPort& mem, iss::EnginePort& eng,
          iss::QueuePort& queues);
  ~RtlCore() override;

  // Host side. Writes are queued and applied, in zero simulated time, at the
  // start of the next cycle the owner runs (or by sync_host()).
  void load_code(const std::vector<uint64_t>& words);
  void start(unsigned thread, uint64_t pc);
  void set_csr(unsigned thread, Csr n, uint64_t v);
  void set_tracer(iss::Tracer* t) { tracer_ = t; }

  // One cycle of cores that share a clock, from the owner's SC_THREAD: host
  // writes (zero time), the cycle's inputs, requests answered at mid-cycle,
  // retire records once the answers settled, the rising edge at three
  // quarters; it returns at the start of the next cycle, `period` later.
  // True when every core was idle in the cycle.
  static bool clock(const std::vector<RtlCore*>& cores, uint64_t cycle,
                    const sc_core::sc_time& period);

  // The phases clock() runs.
  void apply_host();
  void begin_cycle(uint64_t c);
  void service();
  void end_cycle();
  sc_core::sc_signal<bool> clk;  // the rising edge ends a cycle

  // Reads of thread state, for the owner's thread context only (they settle
  // the debug port in delta cycles).
  uint64_t read_debug(unsigned thread, unsigned sel);
  // A thread's CSR as the core holds it between cycles, read from the
  // Verilated model's state without simulating (any context; csr cycle is
  // the cycle the core is in: the one after the last it ran). CSR writes
  // still queued read as written. std::out_of_range for a thread or CSR
  // that does not exist.
  uint64_t peek_csr(unsigned thread, Csr n) const;

  bool idle() const;
  unsigned current() const;  // the thread execute holds
  iss::CoreCounters counters() const;
  uint64_t issue_cycles() const;  // cycles some thread issued
  unsigned nthreads() const { return nthreads_; }

  // FST waveforms of this core from now on (Verilated trace, GTKWave).
  void trace_to(const std::string& path);
  void close_trace();

 private:
  void settle();

  unsigned id_, ncores_n_, nthreads_;
  const iss::Timing& timing_;
  iss::MemoryPort& mem_;
  iss::EnginePort& eng_;
  iss::QueuePort& queues_;
  iss::Tracer* tracer_ = nullptr;
  std::unique_ptr<Vnpu_core> v_;
  std::unique_ptr<VerilatedFstSc> fst_;
  uint64_t cycle_ = 0;
  std::vector<uint64_t> code_;  // what the code store holds (writes skip equal words)
  std::vector<std::function<void()>> host_;
  // CSR writes queued in host_, as peek_csr sees them before they land.
  std::map<std::pair<unsigned, unsigned>, uint64_t> pending_csr_;

  // Signals of every port but the clock.
  sc_core::sc_signal<bool> rst_n_, freeze_, tab_we_, code_we_, start_valid_, dbg_we_, cfg_error_;
  sc_core::sc_signal<uint32_t> nthreads_s_, swap_cycles_, branch_cycles_, tab_op_, tab_cycles_,
      start_thread_, dbg_thread_, dbg_sel_, core_id_, ncores_, code_waddr_, code_size_;
  sc_core::sc_signal<uint64_t> now_, code_wdata_, start_pc_, dbg_wdata_, dbg_rdata_;
  sc_core::sc_signal<bool> mem_valid_, mem_ready_, mem_write_, mem_fault_;
  sc_core::sc_signal<uint32_t> mem_size_, mem_latency_;
  sc_core::sc_signal<uint64_t> mem_addr_, mem_wdata_, mem_rdata_;
  sc_core::sc_signal<bool> eng_valid_, eng_ready_, eng_fault_;
  sc_core::sc_signal<uint32_t> eng_op_, eng_width_, eng_thread_, eng_latency_;
  sc_core::sc_signal<uint64_t> eng_addr_, eng_b_, eng_c_, eng_d_, eng_e_, eng_fault_addr_,
      eng_value_;
  sc_core::sc_signal<bool> qget_valid_, qget_ready_, qget_ok_, qput_valid_, qput_ready_;
  sc_core::sc_signal<uint32_t> qget_mask_, qget_latency_, qput_queue_, q_nonempty_;
  sc_core::sc_signal<uint64_t> qget_value_, qput_value_;
  sc_core::sc_signal<bool> rt_valid_, rt_wen_, idle_;
  sc_core::sc_signal<uint32_t> rt_thread_, rt_wreg_, rt_fault_;
  sc_core::sc_signal<uint64_t> rt_cycle_, rt_pc_, rt_word_, rt_wdata_, perf_instret_, perf_busy_,
      perf_issue_;
};

}  // namespace npu::rtl
