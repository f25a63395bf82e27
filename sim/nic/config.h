// The shape and timing of the simulated SmartNIC, from YAML. Every key has a
// documented default (docs/nic.md; sim/nic/nic.yaml is a commented copy), so
// an empty file is the default card: a 100GbE NIC of 48 cores with 8 threads
// each at 1 GHz. Core timing (per-opcode cycles, memory and engine latencies)
// is the ISS's Timing under the `timing:` key; this file adds what is shared
// between cores: line rate, buffers, bandwidths, banks, engine units, queues.
#pragma once

#include "sim/iss/timing.h"

#include <cstdint>
#include <string>

namespace npu::nic {

// How the dispatcher spreads packets over threads (DPDK eventdev's terms).
enum class DispatchMode {
  kOrdered,  // any free thread takes the next packet; egress restores each flow's order
  kAtomic,   // a flow has at most one packet in flight, so its state is never shared
};

// What identifies a flow for ordering and atomic dispatch.
enum class FlowKey {
  kFiveTuple,  // addresses, protocol, ports (IPv4/IPv6); other frames by MAC addresses
  kAddresses,  // source and destination address
  kSource,     // source address
};

// A memory several requesters share: a request occupies one bank for
// ceil(bytes / bytes_per_cycle) cycles; it waits while its bank is busy.
struct SharedMemoryConfig {
  uint32_t banks = 1;            // independent banks, interleaved by bank_bytes
  uint32_t bank_bytes = 64;      // interleave granularity
  uint32_t bytes_per_cycle = 8;  // per bank
};

// A pool of identical engine units: a command occupies one unit for
// `occupancy` cycles (its issue interval), its result is ready after the
// timing's latency; commands queue for a free unit, at most queue_depth.
struct UnitPoolConfig {
  uint32_t units = 1;
  uint32_t occupancy = 1;
  uint32_t queue_depth = 64;  // commands found waiting beyond it are counted (over_queue_depth)
};

struct NicConfig {
  iss::Timing timing;  // timing.clock_mhz is the core clock

  // Line side: one port, MAC receive and transmit.
  uint32_t line_gbps = 100;  // 10, 25, 40, 50, 100, 200, 400

  // Cores.
  uint32_t cores = 48;
  uint32_t threads = 8;            // per core
  std::string core_model = "iss";  // iss, or rtl (the Verilated core, docs/npu_core.md)
  // With model rtl: how many cores (the first ones) are RTL; the rest stay
  // ISS cores. 0: all of them.
  uint32_t rtl_cores = 0;
  bool rtl_core(unsigned id) const {
    return core_model == "rtl" && (rtl_cores == 0 || id < rtl_cores);
  }
  uint32_t quantum_cycles = 32;   // cores run this far ahead of the rest (LT quantum)
  uint64_t code_store = 0x10000;  // instructions per core (NPU_CODE_STORE_SIZE)

  // Packet buffer memory: frames of NPU_FRAME_SIZE bytes.
  uint32_t buffer_frames = 4096;
  SharedMemoryConfig pkt{16, 64, 16};
  SharedMemoryConfig cls{8, 64, 8};
  SharedMemoryConfig emem{4, 64, 16};
  SharedMemoryConfig map{8, 64, 8};
  uint64_t cls_bytes = 4 << 20;
  uint64_t emem_bytes = 64 << 20;

  // Engines.
  UnitPoolConfig map_hash{8, 8, 256};
  UnitPoolConfig map_array{8, 2, 256};
  UnitPoolConfig map_lpm{4, 16, 256};
  UnitPoolConfig atomic{8, 2, 256};
  UnitPoolConfig csum{4, 1, 64};
  UnitPoolConfig hash{4, 1, 64};
  // Copies of each percpu map; 0 = one per hardware thread (cores * threads).
  uint32_t map_cpus = 0;
  uint64_t seed = 0;

  // Dispatch and egress.
  DispatchMode dispatch = DispatchMode::kOrdered;
  FlowKey flow_key = FlowKey::kFiveTuple;
  uint32_t order_domains = 4096;  // flows hash into this many ordering domains
  uint32_t dispatch_cycles = 8;   // from descriptor written to a thread can take it
  uint32_t egress_cycles = 8;     // from a thread's verdict to the output queues
  uint32_t tx_fifo_frames = 512;  // frames waiting for the transmit MAC
  uint32_t redirect_fifo_frames = 512;

  // Host interface.
  double pcie_gbps = 100;  // usable DMA bandwidth to the host (PCIe Gen3 x16 after overhead)
  uint32_t dma_overhead_bytes = 32;   // descriptor and TLP headers per packet
  uint32_t dma_latency_ns = 600;      // posted write until the host sees the packet
  uint32_t host_queue_frames = 1024;  // packets waiting for DMA before drops
  uint32_t ctrl_latency_ns = 1000;    // a control message's PCIe round trip, each way half

  uint32_t period_ps() const;  // core clock period, rounded to a picosecond
  unsigned percpu_copies() const { return map_cpus ? map_cpus : cores * threads; }

  // Throws std::runtime_error("<name>: <key>: <reason>") for unknown keys and bad values.
  static NicConfig from_yaml_text(const std::string& text, const std::string& name = "<yaml>");
  static NicConfig from_yaml_file(const std::string& path);
};

const char* dispatch_mode_name(DispatchMode m);
const char* flow_key_name(FlowKey k);

}  // namespace npu::nic
