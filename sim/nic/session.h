// One simulation run, as `npu sim` and `npu run` do it: the NIC model of a
// config, the firmware booted on it through driver::Device, a program image
// loaded and its maps filled, the traffic offered to the receive MAC, and the
// outputs: pcaps of what left the card, the final maps, stats.json and an
// optional Perfetto trace. SystemC allows one simulation per process, so a
// process calls simulate() once (tests fork).
#pragma once

#include "compiler/npu/image.h"
#include "driver/device.h"
#include "sim/nic/config.h"
#include "sim/nic/packet_log.h"
#include "sim/traffic/pcap.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace npu::nic {

struct SimSetup {
  NicConfig nic;
  std::string firmware;   // firmware image path
  std::string prog;       // program by function or section name; "" = the first
  std::string maps_json;  // initial map contents (sim/ref/maps_json.h's format), optional
  std::vector<traffic::Packet> packets;
  // Offer packets at their timestamps (relative to the first); false: all at
  // once, so the line's rate spaces them.
  bool use_timestamps = true;
  std::string out_dir;  // tx.pcap, host.pcap, redirect.pcap, maps.json, stats.json; "" = none
  std::string trace;    // Chrome trace JSON path; "" = none
  uint64_t trace_max_events = 2'000'000;
  std::string trace_rtl;  // FST waveforms of core 0 over the traffic (cores.model rtl); "" = none
  bool progress = false;  // a progress bar on stderr, when it is a terminal
  bool keep_outputs = false;  // per-packet results in SimOutcome::results
  // Cycles the card may go without finishing a packet before the run is
  // declared hung.
  uint64_t hang_cycles = 50'000'000;
};

struct PacketResult {
  Fate fate = Fate::kPending;
  uint32_t status = 0;         // the descriptor's verdict word
  uint32_t target = 0;         // XDP_REDIRECT: the target the firmware recorded
  std::vector<uint8_t> bytes;  // data..data_end at the verdict (empty for NIC drops)
  uint64_t done_ps = 0;        // left the card (PacketRecord::done_ps)
  uint64_t start_cycle = 0;    // when a thread took it
  uint64_t verdict_cycle = 0;  // when its thread gave the verdict
};

struct SimOutcome {
  nlohmann::json stats;  // as stats.json
  nlohmann::json maps;   // final map contents
  std::vector<PacketResult> results;
  std::string report;  // format_report(stats)
};

// What driver::Device needs to know of a card's shape to run on it.
driver::DeviceConfig device_config(const NicConfig& cfg);

// Throws std::runtime_error with one line naming the input on bad input, a
// device error or a hang.
SimOutcome simulate(const Image& program, const std::string& name, const SimSetup& setup);

}  // namespace npu::nic
