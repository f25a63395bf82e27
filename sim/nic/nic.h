// The simulated SmartNIC, top level: the netlist of the card, built from a
// NicConfig. Read the constructor as the block diagram:
//
//   line -> MacRx -> packet buffer (pkt memory) -> Dispatcher -> cores x threads
//   cores -> Bus -> pkt / cls / emem memories, map value memory (EngineBlock)
//   cores -> EngineBlock (map hash/array/LPM units, atomic, csum, hash, ...)
//   cores -> Dispatcher -> Egress -> transmit MAC | redirect port | PCIe DMA to host
//   host  -> control messages (CTRL queue) -> firmware -> replies
//
// It is an iss::Backend, so driver::Device boots the firmware on it, loads
// program images and serves map operations through the firmware as on the
// ISS machine. SystemC allows one simulation per process: make one Nic.
#pragma once

#include "sim/iss/backend.h"
#include "sim/nic/bus.h"
#include "sim/nic/config.h"
#include "sim/nic/core_module.h"
#include "sim/nic/dispatcher.h"
#include "sim/nic/egress.h"
#include "sim/nic/engine_block.h"
#include "sim/nic/mac_rx.h"
#include "sim/nic/memory.h"
#include "sim/nic/packet_log.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace npu::nic {

// Core counters at a point in time, to measure a window of the run.
struct CoreSnapshot {
  uint64_t busy = 0, idle = 0, swap_cycles = 0, instret = 0;
  std::array<uint64_t, size_t(npu::Unit::kCount)> stall_on{};
};

class Nic : public sc_core::sc_module, public iss::Backend, public iss::MemoryPort {
 public:
  tlm_utils::simple_initiator_socket<Nic> dma;  // MAC receive DMA into the packet buffer

  Nic(sc_core::sc_module_name name, const NicConfig& cfg);
  ~Nic() override;

  const NicConfig& config() const { return cfg_; }

  // iss::Backend
  void load(const std::vector<uint64_t>& code, const std::vector<iss::DataSection>& data) override;
  void boot(uint64_t pc) override;
  Stop run(uint64_t max_cycles) override;
  uint64_t cycle() const override;
  void host_push(uint32_t queue, uint64_t value) override;
  bool host_pop(uint32_t mask, uint64_t* value) override;
  unsigned ncores() const override { return unsigned(cores_.size()); }
  unsigned nthreads() const override { return cfg_.threads; }
  // On RTL cores (cores.model rtl) counters and CSRs come from the core.
  iss::CoreCounters counters(unsigned core) override;
  uint64_t csr(unsigned core, unsigned thread, Csr n) override;
  void set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) override;
  iss::Engines& engines() override { return engines_->engines(); }

  iss::Core& core(unsigned i) { return cores_.at(i)->core(); }
  CoreModule& core_module(unsigned i) { return *cores_.at(i); }

  // iss::MemoryPort, for the engines' own reads and writes (keys, values, atomics).
  bool dmi(unsigned core, uint64_t addr, iss::Dmi* out) override;

  // Offers traffic to the receive MAC, frames' times relative to now; run()
  // then simulates until every frame has left the card (or limit cycles).
  // packets[i] holds frame i's bytes (without FCS).
  void offer(std::vector<std::vector<uint8_t>> packets, const std::vector<uint64_t>& start_ps);
  // The program slot received frames run (the image's program index).
  uint32_t prog_slot = 0;
  // The ingress_ifindex programs see: the loopback's, as under the kernel's
  // test run, unless the card is a host's netdev (npu dev).
  uint32_t ingress_ifindex = 1;
  // Called for every packet as it leaves (or is dropped): see Egress::on_output.
  std::function<void(uint64_t, Fate, const uint8_t*, size_t)> on_output;

  const PacketLog& log() const { return log_; }
  uint64_t window_start_ps() const { return window_ps_; }
  const CoreSnapshot& snapshot(unsigned core) const { return snap_.at(core); }
  CoreSnapshot now_counters(unsigned core);
  const MacRx& mac_rx() const { return *mac_; }
  const Egress& egress() const { return *egress_; }
  const Dispatcher& dispatcher() const { return *dispatcher_; }
  const EngineBlock& engine_block() const { return *engines_; }
  EngineBlock& engine_block() { return *engines_; }
  const SharedMemory& memory(iss::Region r) const;

 private:
  void receive(uint64_t index, uint64_t in_ps);
  bool host_dmi(unsigned core, uint64_t addr, iss::Dmi* out) override {
    return dmi(core, addr, out);
  }

  NicConfig cfg_;
  sc_core::sc_time period_;
  PacketLog log_;
  std::vector<std::vector<uint8_t>> packets_;
  std::vector<uint64_t> seq_;  // next sequence number per domain
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<SharedMemory> pkt_, cls_, emem_;
  std::unique_ptr<EngineBlock> engines_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::unique_ptr<CoreModule>> cores_;
  std::unique_ptr<Egress> egress_;
  std::unique_ptr<MacRx> mac_;
  uint64_t window_ps_ = 0;
  uint64_t last_ready_ps_ = 0;  // when the previous received frame was handed to the dispatcher
  std::vector<CoreSnapshot> snap_;
};

}  // namespace npu::nic
