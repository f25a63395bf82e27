// npu gen: deterministic test traffic (crafted edge cases, then random packets) as a pcap.
#include "cli/commands.h"
#include "sim/traffic/packet_gen.h"
#include "sim/traffic/pcap.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string profile, out;
  size_t count = 10000;
  uint64_t seed = 1;
  bool json = false;
};

void run(const Options& o) {
  traffic::TrafficProfile p;
  if (!o.profile.empty()) p = traffic::TrafficProfile::from_json_file(o.profile);
  std::vector<traffic::Packet> pkts = traffic::packet_set(p, o.count, o.seed);
  std::filesystem::path parent = std::filesystem::path(o.out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  traffic::write_pcap(o.out, pkts);
  size_t bytes = 0;
  for (const traffic::Packet& k : pkts) bytes += k.data.size();
  if (o.json)
    std::cout << nlohmann::json{{"packets", pkts.size()},
                                {"bytes", bytes},
                                {"file", o.out},
                                {"seed", o.seed}}
                     .dump(2)
              << "\n";
  else
    std::cout << fmt::format("wrote {} packets ({} bytes, seed {}) to {}\n", pkts.size(), bytes,
                             o.seed, o.out);
}

}  // namespace

void add_gen(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("gen", "generate test traffic: edge cases then random packets, as a pcap");
  cmd->add_option("--profile", opt->profile,
                  "traffic profile JSON (addresses, ports, protocols to favour)");
  cmd->add_option("--count", opt->count, "number of packets")
      ->check(CLI::Range(size_t(1), size_t(100'000'000)))
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "random seed (same seed, same bytes)")
      ->capture_default_str();
  cmd->add_option("-o,--out", opt->out, "output pcap")->required();
  cmd->add_flag("--json", opt->json, "machine-readable summary");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace npu_cli
