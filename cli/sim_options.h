// What `npu sim` and `npu run` share: the NIC config, the traffic (a pcap or
// a generated spec), the outputs, and printing the report.
#pragma once

#include "compiler/npu/image.h"

#include <CLI/CLI.hpp>

#include <string>

namespace npu_cli {

struct SimCliOptions {
  std::string config;     // nic.yaml
  std::string pcap;       // --pcap
  std::string traffic;    // --traffic SPEC
  std::string profile;    // --profile: addresses and ports generated traffic favours
  std::string maps;       // --maps init.json
  std::string prog;       // --prog NAME
  std::string out;        // --out DIR
  std::string trace;      // --trace FILE
  std::string trace_rtl;  // --trace-rtl FILE.fst
  std::string firmware = NPU_FIRMWARE_PATH;
  bool pcap_line_rate = false;  // ignore pcap timestamps: back to back at line rate
  bool json = false, no_progress = false;
  unsigned cores = 0, threads = 0;  // overrides of the config's, 0 = keep
};

void add_sim_options(CLI::App* cmd, SimCliOptions& o);
// Runs the image through the NIC model as the options say and prints the report.
// default_traffic: the spec when neither --pcap nor --traffic is given.
void run_simulation(const npu::Image& image, const std::string& name, const SimCliOptions& o,
                    const std::string& default_traffic);

}  // namespace npu_cli
