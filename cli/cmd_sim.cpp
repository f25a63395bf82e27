// npu sim PROG.npu [--pcap IN.pcap | --traffic SPEC] [--config nic.yaml] [--out DIR]:
// a compiled image on the cycle-level NIC model (docs/nic.md).
#include "cli/commands.h"
#include "cli/sim_options.h"
#include "compiler/npu/image.h"

#include <filesystem>
#include <memory>

namespace npu_cli {

void add_sim(CLI::App& app) {
  struct Options {
    std::string image;
    SimCliOptions sim;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "sim",
      "run a compiled program image on the SystemC model of the NIC: throughput, "
      "latency, utilisation, bottleneck");
  cmd->add_option("image", opt->image, "program image (npu compile)")->required();
  add_sim_options(cmd, opt->sim);
  cmd->callback([opt] {
    npu::Image img = npu::read_image(opt->image);
    run_simulation(img, std::filesystem::path(opt->image).filename().string(), opt->sim,
                   "size=64,flows=1024,rate=line,packets=20000");
  });
}

}  // namespace npu_cli
