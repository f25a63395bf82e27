// Per-packet cost of the reference interpreter against the kernel on the same
// packets, measured in one run: for every example, the 10,000-packet set of the
// differential test goes through ref::Interpreter and through
// BPF_PROG_TEST_RUN (one syscall per packet, as the differential test does),
// and the kernel's own in-kernel time per run (repeat=100, opts.duration) is
// reported beside them. Prints a table, or JSON with --json.
#include "compiler/bpf/program.h"
#include "sim/kernel/oracle.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "sim/traffic/packet_gen.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

double ns_since(std::chrono::steady_clock::time_point t0, size_t n) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
         double(n);
}

bool exists(const std::string& p) {
  return std::ifstream(p).good();
}

}  // namespace

int main(int argc, char** argv) {
  bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  if (std::string why = kern::bpf_unavailable_reason(); !why.empty()) {
    std::cerr << "ref_vs_kernel: " << why << "\n";
    return 77;
  }
  kern::pin_to_cpu0();
  nlohmann::json rows = nlohmann::json::array();
  if (!json)
    std::cout << fmt::format("{:<10} {:>8} {:>10} {:>14} {:>16} {:>8}\n", "example", "packets",
                             "interp ns", "kernel ns/call", "kernel ns in-run", "insns");
  std::istringstream names(NPU_EXAMPLES);
  for (std::string name; std::getline(names, name, ',');) {
    std::string src = std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + name;
    std::string obj_path = std::string(NPU_BINARY_DIR) + "/examples/xdp/" + name + ".o";
    bpf::Object obj = bpf::load_object(obj_path);
    ref::Config cfg;
    cfg.ncpus = unsigned(libbpf_num_possible_cpus());
    ref::Interpreter ip(obj, cfg);
    kern::KernelObject k = kern::KernelObject::open(obj_path);
    if (exists(src + ".maps.json")) {
      ref::load_maps_file(ip, src + ".maps.json");
      k.load_maps_json(src + ".maps.json");
    }
    traffic::TrafficProfile prof;
    if (exists(src + ".traffic.json"))
      prof = traffic::TrafficProfile::from_json_file(src + ".traffic.json");
    std::vector<traffic::Packet> pk = traffic::packet_set(prof, 10000, 20261123);

    uint64_t insns = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (const traffic::Packet& p : pk) insns += ip.run_xdp(0, p.data).insns;
    double interp = ns_since(t0, pk.size());

    const std::string prog = obj.programs[0].name;
    t0 = std::chrono::steady_clock::now();
    for (const traffic::Packet& p : pk) k.run_xdp(prog, p.data);
    double per_call = ns_since(t0, pk.size());

    // The kernel's own measurement of one run (JIT code, no syscall), over a sample.
    int fd = k.prog_fd(prog);
    double in_run = 0;
    size_t sampled = 0;
    std::vector<uint8_t> out(8192);
    for (size_t i = 0; i < pk.size(); i += 100, ++sampled) {
      LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pk[i].data.data(), .data_out = out.data(),
                  .data_size_in = uint32_t(pk[i].data.size()),
                  .data_size_out = uint32_t(out.size()), .repeat = 100);
      if (bpf_prog_test_run_opts(fd, &o) == 0) in_run += o.duration;
    }
    in_run /= double(sampled);
    double ipp = double(insns) / double(pk.size());
    rows.push_back({{"example", name},
                    {"packets", pk.size()},
                    {"interp_ns", interp},
                    {"kernel_ns_per_call", per_call},
                    {"kernel_ns_in_run", in_run},
                    {"bpf_insns_per_packet", ipp}});
    if (!json)
      std::cout << fmt::format("{:<10} {:>8} {:>10.0f} {:>14.0f} {:>16.0f} {:>8.1f}\n", name,
                               pk.size(), interp, per_call, in_run, ipp);
  }
  if (json) std::cout << rows.dump(2) << "\n";
  return 0;
}
