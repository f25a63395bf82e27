#include "cli/sim_options.h"

#include "sim/nic/session.h"
#include "sim/traffic/packet_gen.h"
#include "sim/traffic/pcap.h"
#include "sim/traffic/traffic_spec.h"

#include <fmt/format.h>

#include <iostream>
#include <unistd.h>

namespace npu_cli {

void add_sim_options(CLI::App* cmd, SimCliOptions& o) {
  cmd->add_option("--config", o.config, "NIC config (YAML; default: the built-in 100GbE card)");
  auto* pcap = cmd->add_option("--pcap", o.pcap, "traffic from a pcap file");
  cmd->add_option("--traffic", o.traffic,
                  "generated traffic, e.g. size=64,flows=1024,dist=zipf:1.1,rate=line,"
                  "duration=100us (docs/traffic.md)")
      ->excludes(pcap);
  cmd->add_option("--profile", o.profile,
                  "traffic profile JSON: addresses, ports, protocols generated traffic favours")
      ->excludes(pcap);
  cmd->add_flag("--line-rate", o.pcap_line_rate,
                "send the pcap's packets back to back at line rate, not at their timestamps")
      ->needs(pcap);
  cmd->add_option("--maps", o.maps, "initial map contents (JSON, as npu interp --maps)");
  cmd->add_option("--prog", o.prog, "program to run (function or section name; default: first)");
  cmd->add_option("--out", o.out,
                  "write tx.pcap, host.pcap, redirect.pcap, maps.json and stats.json here");
  cmd->add_option("--trace", o.trace, "write a timeline (Chrome trace JSON, open in Perfetto)");
  cmd->add_option("--trace-rtl", o.trace_rtl,
                  "write core 0's waveforms over the traffic (FST, open in GTKWave); needs "
                  "cores: {model: rtl} in the config");
  cmd->add_option("--cores", o.cores, "cores (overrides the config)")->check(CLI::Range(1, 1024));
  cmd->add_option("--threads", o.threads, "threads per core (overrides the config)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--firmware", o.firmware, "firmware image");
  cmd->add_flag("--json", o.json, "print stats.json instead of the report");
  cmd->add_flag("--no-progress", o.no_progress, "no progress bar");
}

void run_simulation(const npu::Image& image, const std::string& name, const SimCliOptions& o,
                    const std::string& default_traffic) {
  npu::nic::SimSetup s;
  s.nic = o.config.empty() ? npu::nic::NicConfig{} : npu::nic::NicConfig::from_yaml_file(o.config);
  if (o.cores) s.nic.cores = o.cores;
  if (o.threads) s.nic.threads = o.threads;
  s.firmware = o.firmware;
  s.prog = o.prog;
  s.maps_json = o.maps;
  s.out_dir = o.out;
  s.trace = o.trace;
  s.trace_rtl = o.trace_rtl;
  s.progress = !o.no_progress && !o.json && isatty(STDERR_FILENO);
  std::string traffic_desc;
  if (!o.pcap.empty()) {
    s.packets = traffic::read_pcap(o.pcap);
    if (s.packets.empty()) throw std::runtime_error(o.pcap + ": no packets to offer");
    s.use_timestamps = !o.pcap_line_rate;
    traffic_desc = o.pcap;
  } else {
    traffic::TrafficSpec spec =
        traffic::TrafficSpec::parse(o.traffic.empty() ? default_traffic : o.traffic);
    traffic::TrafficProfile profile;
    if (!o.profile.empty()) profile = traffic::TrafficProfile::from_json_file(o.profile);
    s.packets = traffic::generate(spec, profile, s.nic.line_gbps);
    traffic_desc = spec.describe();
  }
  npu::nic::SimOutcome r = npu::nic::simulate(image, name, s);
  r.stats["traffic"] = traffic_desc;
  if (o.json) {
    std::cout << r.stats.dump(2) << "\n";
    return;
  }
  std::cout << "traffic: " << traffic_desc << "\n" << r.report;
  if (!o.out.empty()) std::cout << fmt::format("outputs in {}/\n", o.out);
}

}  // namespace npu_cli
