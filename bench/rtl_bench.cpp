// The RTL core's figures (docs/bench.md, "RTL core"): for every example,
// the cycles and instructions per packet on the ISS device and on the RTL
// device side by side (firmware included, as driver::Device counts them),
// and the speed of each in simulated cycles per host second (wall clock).
//
//   build/bench/rtl_bench [--packets N] [--json]
//
// The RTL device is one per process (SystemC), reloaded for every example.
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/asm.h"
#include "driver/device.h"
#include "sim/rtl/rtl_machine.h"
#include "sim/traffic/packet_gen.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

std::string example(const std::string& name, const std::string& ext) {
  return std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + name + ext;
}

struct Run {
  double cycles = 0, insns = 0;  // per packet
  uint64_t device_cycles = 0;    // the device's clock over all packets
  double seconds = 0;            // host wall clock over all packets
};

Run run(npu::driver::Device& dev, npu::iss::Backend& hw, const std::string& prog,
        const std::vector<traffic::Packet>& packets) {
  Run r;
  uint64_t c0 = hw.cycle();
  auto t0 = std::chrono::steady_clock::now();
  for (const traffic::Packet& p : packets) {
    npu::driver::XdpResult x = dev.run_xdp(prog, p.data);
    r.cycles += double(x.cycles);
    r.insns += double(x.insns);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.device_cycles = hw.cycle() - c0;
  r.cycles /= double(packets.size());
  r.insns /= double(packets.size());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  size_t count = 200;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--packets") && i + 1 < argc)
      count = std::stoul(argv[++i]);
    else if (!std::strcmp(argv[i], "--json"))
      as_json = true;
  }
  const npu::Image fw = npu::read_image(NPU_FIRMWARE);
  const npu::driver::DeviceConfig cfg;
  npu::rtl::RtlMachine rtl("rtl", npu::driver::Device::machine_config(cfg));
  nlohmann::json out = nlohmann::json::array();
  uint64_t iss_cycles = 0, rtl_cycles = 0;
  double iss_s = 0, rtl_s = 0;
  if (!as_json)
    std::cout << fmt::format("{:<10} {:>12} {:>12} {:>10} {:>12}\n", "example", "ISS cyc/pkt",
                             "RTL cyc/pkt", "insns/pkt", "difference");
  std::istringstream names(NPU_EXAMPLES);
  for (std::string name; std::getline(names, name, ',');) {
    bpf::Object obj =
        bpf::load_object(std::string(NPU_BINARY_DIR) + "/examples/xdp/" + name + ".o");
    traffic::TrafficProfile profile;
    if (std::ifstream(example(name, ".traffic.json")).good())
      profile = traffic::TrafficProfile::from_json_file(example(name, ".traffic.json"));
    const std::vector<traffic::Packet> packets = traffic::packet_set(profile, count, 20261123);
    const std::string maps =
        std::ifstream(example(name, ".maps.json")).good() ? example(name, ".maps.json") : "";
    const npu::Image image = npucc::compile(obj).image;
    const std::string prog = obj.programs[0].name;

    npu::iss::Machine iss(npu::driver::Device::machine_config(cfg));
    npu::driver::Device di(fw, iss, cfg);
    di.load(image, obj.path);
    if (!maps.empty()) di.load_maps_json(maps);
    Run a = run(di, iss, prog, packets);

    npu::driver::Device dr(fw, rtl, cfg);
    dr.load(image, obj.path);
    if (!maps.empty()) dr.load_maps_json(maps);
    Run b = run(dr, rtl, prog, packets);

    iss_cycles += a.device_cycles, rtl_cycles += b.device_cycles;
    iss_s += a.seconds, rtl_s += b.seconds;
    out.push_back({{"example", name},
                   {"iss_cycles_per_packet", a.cycles},
                   {"rtl_cycles_per_packet", b.cycles},
                   {"insns_per_packet", a.insns}});
    if (!as_json)
      std::cout << fmt::format("{:<10} {:>12.1f} {:>12.1f} {:>10.1f} {:>11.2f}%\n", name, a.cycles,
                               b.cycles, a.insns, 100.0 * (b.cycles - a.cycles) / a.cycles);
  }
  const double iss_speed = double(iss_cycles) / iss_s, rtl_speed = double(rtl_cycles) / rtl_s;

  // The core alone, always busy: a countdown loop (3 cycles an iteration).
  auto word = [](npu::Op op, unsigned a, unsigned b, int32_t imm, int16_t off) {
    npu::Insn in;
    in.op = op;
    in.a = uint8_t(a), in.b = uint8_t(b);
    in.imm = imm;
    in.off = off;
    return npu::encode(in);
  };
  const std::vector<uint64_t> loop = {
      word(npu::Op::LI, 1, 0, 1'000'000, 0), word(npu::Op::ADDI, 1, 1, -1, 0),
      word(npu::Op::BNEI, 0, 1, 0, -1), word(npu::Op::HALT, 0, 0, 0, 0)};
  auto busy_speed_of = [&](npu::iss::Backend& hw) {
    hw.load(loop, {});
    hw.boot(0);
    const uint64_t b0 = hw.cycle();
    auto t0 = std::chrono::steady_clock::now();
    hw.run(10'000'000);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return double(hw.cycle() - b0) / s;
  };
  npu::iss::Machine iss_busy(npu::driver::Device::machine_config(cfg));
  const double iss_busy_speed = busy_speed_of(iss_busy);
  const double busy_speed = busy_speed_of(rtl);
  if (as_json) {
    std::cout << nlohmann::json{{"packets", count},
                                {"examples", out},
                                {"iss_cycles_per_second", iss_speed},
                                {"rtl_cycles_per_second", rtl_speed},
                                {"iss_busy_cycles_per_second", iss_busy_speed},
                                {"rtl_busy_cycles_per_second", busy_speed}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format(
        "the packets above ({} an example, the device idle between them): ISS {:.0f} device "
        "cycles per host second, RTL {:.0f}\n",
        count, iss_speed, rtl_speed);
    std::cout << fmt::format(
        "one core busy every cycle (a countdown loop): ISS {:.0f} simulated cycles per host "
        "second, RTL {:.0f} ({:.0f}x slower)\n",
        iss_busy_speed, busy_speed, iss_busy_speed / busy_speed);
  }
  return 0;
}
