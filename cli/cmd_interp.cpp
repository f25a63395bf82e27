// npu interp PROG.o --pcap IN.pcap: every packet through the reference interpreter.
#include "cli/commands.h"
#include "compiler/bpf/program.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "sim/traffic/pcap.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string file, pcap, maps, prog, out = "out";
  unsigned ncpus = 1;
  uint64_t ktime_step = 0;
  bool json = false;
};

const char* verdict_name(uint32_t v) {
  static const char* const names[] = {"aborted", "drop", "pass", "tx", "redirect"};
  return v < 5 ? names[v] : "unknown";
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(path + ": cannot write");
  out << j.dump(2) << "\n";
}

void run(const Options& o) {
  bpf::Object obj = bpf::load_object(o.file);
  size_t prog = 0;
  if (!o.prog.empty()) {
    int p = obj.find_program(o.prog);
    if (p < 0) throw std::runtime_error(fmt::format("{}: no program named '{}'", o.file, o.prog));
    prog = size_t(p);
  }
  if (obj.programs[prog].type != BPF_PROG_TYPE_XDP)
    throw std::runtime_error(
        fmt::format("{}: program '{}' is not an XDP program", o.file, obj.programs[prog].name));
  std::vector<traffic::Packet> in = traffic::read_pcap(o.pcap);
  ref::Config cfg;
  cfg.ncpus = o.ncpus;
  cfg.ktime_step_ns = o.ktime_step;
  ref::Interpreter ip(obj, cfg);
  if (!o.maps.empty()) ref::load_maps_file(ip, o.maps);

  std::filesystem::create_directories(o.out);
  std::map<std::string, std::vector<traffic::Packet>> by_verdict;
  std::vector<traffic::Packet> all_out;
  nlohmann::json results = nlohmann::json::array();
  std::map<std::string, uint64_t> counts;
  uint64_t insns = 0, errors = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    ref::XdpResult r = ip.run_xdp(prog, in[i].data);
    nlohmann::json rj{{"packet", i}, {"in_len", in[i].data.size()}};
    if (!r.error.empty()) {
      ++errors;
      rj["error"] = r.error;
      counts["error"]++;
    } else {
      std::string v = verdict_name(r.verdict);
      counts[v]++;
      rj["verdict"] = v;
      rj["out_len"] = r.packet.size();
      rj["insns"] = r.insns;
      if (r.verdict == XDP_REDIRECT) {
        if (r.redirect_map >= 0)
          rj["redirect"] = {{"map", obj.maps[r.redirect_map].name}, {"key", r.redirect_key}};
        else
          rj["redirect"] = {{"ifindex", r.redirect_ifindex}};
      }
      traffic::Packet p{r.packet, in[i].ts_ns};
      by_verdict[v].push_back(p);
      all_out.push_back(p);
    }
    insns += r.insns;
    results.push_back(rj);
  }
  traffic::write_pcap(o.out + "/out.pcap", all_out);
  for (const char* v : {"tx", "pass", "redirect", "drop", "aborted"})
    traffic::write_pcap(o.out + "/" + v + ".pcap", by_verdict[v]);
  write_json(o.out + "/results.json", results);
  nlohmann::json maps = ref::dump_maps_json(ip);
  write_json(o.out + "/maps.json", maps);
  nlohmann::json events = nlohmann::json::array();
  for (const ref::Event& e : ip.events()) {
    static const char* const kinds[] = {"trace_printk", "perf_event", "ringbuf"};
    nlohmann::json ej{{"kind", kinds[e.kind]}};
    if (e.kind == ref::Event::kTracePrintk)
      ej["text"] = e.text;
    else
      ej["data"] = ref::to_hex(e.data);
    if (e.map >= 0) ej["map"] = obj.maps[e.map].name;
    events.push_back(ej);
  }
  write_json(o.out + "/events.json", events);

  nlohmann::json summary{{"program", obj.programs[prog].name},
                         {"packets", in.size()},
                         {"verdicts", counts},
                         {"errors", errors},
                         {"insns_per_packet", in.empty() ? 0.0 : double(insns) / in.size()},
                         {"out_dir", o.out}};
  if (o.json) {
    std::cout << summary.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} ({}): {} packets from {}\n", obj.programs[prog].name, o.file,
                           in.size(), o.pcap);
  for (auto& [v, n] : counts)
    std::cout << fmt::format("  {:<9} {:>8}  {:5.1f}%\n", v, n, 100.0 * n / in.size());
  std::cout << fmt::format("  {:.1f} BPF instructions per packet\n",
                           summary["insns_per_packet"].get<double>());
  for (auto& [name, entries] : maps["maps"].items())
    std::cout << fmt::format("  map {:<20} {} entries\n", name, entries.size());
  std::cout << fmt::format(
      "wrote {}/{{out,tx,pass,redirect,drop,aborted}}.pcap, results.json, maps.json, events.json\n",
      o.out);
}

}  // namespace

void add_interp(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "interp", "run an XDP program on every packet of a pcap with the reference interpreter");
  cmd->add_option("file", opt->file, "BPF ELF object")->required();
  cmd->add_option("--pcap", opt->pcap, "input packets (Ethernet pcap)")->required();
  cmd->add_option("--maps", opt->maps, "initial map contents (JSON, see docs/ref.md)");
  cmd->add_option("--prog", opt->prog, "program name or section (default: the first)");
  cmd->add_option("--out", opt->out, "output directory")->capture_default_str();
  cmd->add_option("--ncpus", opt->ncpus, "possible CPUs (values per percpu map entry)")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  cmd->add_option("--ktime-step", opt->ktime_step,
                  "bpf_ktime_get_ns advances this much per call (ns)")
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "machine-readable summary");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace npu_cli
