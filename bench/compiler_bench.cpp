// The compiler's figures for every example, measured in one run:
//   - per program: BPF instructions, NPU instructions (the image's program
//     record) and the instructions the verifier processed;
//   - per example: cycles and NPU instructions per packet on the ISS device
//     (1 core, 1 thread, default timing) on a typical packet, with and
//     without the firmware's fixed per-packet share, and where the program's
//     cycles go (issuing, or stalled on a unit); the same for every verdict;
//   - the wall-clock time of npucc::compile for each example, and for the
//     largest one (most BPF instructions) the time of `npu compile` and of
//     `bpftool prog load` (the kernel's verifier and JIT) on the same object.
//
// The typical packet of an example: its differential test's packets
// (traffic::packet_set of its traffic profile, 10,000 packets, the seed of
// diff_test) run in order through the compiled program; the verdict most of
// them get is the typical path, and the figures are the median and the mean
// over the packets that get it. The firmware's share is measured, not
// assumed: the same packets go through a one-instruction program (`exit
// <verdict>`) on the same device path, and the program alone is each
// packet's figure minus that program's on the same packet.
//
// Everything but the wall-clock figures is deterministic. Prints markdown
// tables, or JSON with --json. Options:
//   --runs N     timed repetitions of each time, median taken (default 15)
//   --packets N  packets per example (default 10000)
//   --no-kernel  leave out bpftool and bpf()
//   --largest    print the largest example's name and exit (scripts/bench.sh)
// scripts/bench.sh runs it; docs/bench.md has the figures.
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/asm.h"
#include "compiler/npu/isa.h"
#include "driver/device.h"
#include "firmware/abi.h"
#include "sim/kernel/oracle.h"
#include "sim/traffic/packet_gen.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr uint64_t kSeed = 20261123;  // diff_test's and npu_diff_test's

using Clock = std::chrono::steady_clock;

std::string example(const std::string& name, const std::string& ext) {
  return std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + name + ext;
}
std::string object_path(const std::string& name) {
  return std::string(NPU_BINARY_DIR) + "/examples/xdp/" + name + ".o";
}
bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

const char* verdict_name(uint32_t v) {
  static const char* const names[] = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};
  return v < 5 ? names[v] : "?";
}

// The lower median: a value one of the samples has.
template <typename T>
T median(std::vector<T> v) {
  if (v.empty()) return T{};
  std::nth_element(v.begin(), v.begin() + (v.size() - 1) / 2, v.end());
  return v[(v.size() - 1) / 2];
}
template <typename T>
double mean(const std::vector<T>& v) {
  double s = 0;
  for (T x : v) s += double(x);
  return v.empty() ? 0 : s / double(v.size());
}

// Median wall-clock microseconds of `runs` calls of f, after one untimed call.
double median_us(unsigned runs, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (unsigned i = 0; i < runs; i++) {
    auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return median(t);
}

// A program image whose one program is the single instruction `exit verdict`:
// what a packet costs the firmware around a program that does nothing.
npu::Image exit_only(uint32_t verdict) {
  npu::AsmOptions o;
  o.section_base[".text"] = NPU_PROG_TEXT_BASE;
  npu::Image img = npu::assemble(fmt::format("one: exit {}\n", verdict), "exit_only.s", o);
  img.programs.push_back({"one", "xdp", NPU_PROG_TEXT_BASE, 0, 1, 1});
  return img;
}

struct ProgramRow {
  std::string name;
  uint32_t bpf_insns = 0, npu_insns = 0;
  uint64_t verifier_insns = 0;
};

constexpr size_t kUnits = size_t(npu::Unit::kCount);

// One packet's cost: run_xdp's cycles and instructions, and how the thread
// spent the cycles (issuing, or stalled on a unit's result). With one thread
// they add up: cycles = issue + every stall.
struct Cost {
  uint64_t cycles = 0, insns = 0, issue = 0;
  std::array<uint64_t, kUnits> stall{};
};

Cost run(npu::driver::Device& dev, const std::string& prog, const std::vector<uint8_t>& packet,
         npu::driver::XdpResult* out) {
  // The device runs on its own ISS machine: the thread's own counters are there.
  npu::iss::Core& core = dynamic_cast<npu::iss::Machine&>(dev.backend()).core(0);
  const npu::iss::ThreadStats before = core.thread(0).stats;
  *out = dev.run_xdp(prog, packet);
  const npu::iss::ThreadStats& after = core.thread(0).stats;
  Cost c;
  c.cycles = out->cycles;
  c.insns = out->insns;
  c.issue = after.issue_cycles - before.issue_cycles;
  for (size_t u = 0; u < kUnits; u++) c.stall[u] = after.stall_on[u] - before.stall_on[u];
  return c;
}

// Per-packet figures over a set of packets.
struct Figures {
  int64_t cycles_median = 0, insns_median = 0;
  double cycles_mean = 0, insns_mean = 0;
};

template <typename T>
Figures figures(const std::vector<T>& cycles, const std::vector<T>& insns) {
  return {int64_t(median(cycles)), int64_t(median(insns)), mean(cycles), mean(insns)};
}

// The packets that got one verdict: the example's figures, the one-instruction
// program's on the same packets, and the difference, packet by packet.
struct Path {
  uint32_t verdict = 0;
  size_t packets = 0;
  Figures total;     // firmware included
  Figures firmware;  // `exit <verdict>` on the same packets
  Figures program;   // total minus firmware, per packet
  // The program alone, means: cycles issuing, and stalled by producing unit.
  double issue_mean = 0;
  std::array<double, kUnits> stall_mean{};
};

struct ExampleRow {
  std::string name;
  std::vector<ProgramRow> programs;
  uint32_t bpf_insns = 0;  // all programs
  size_t packets = 0, refused = 0;
  std::vector<Path> paths;  // by verdict
  size_t typical = 0;       // index in paths: the most packets
  double all_cycles_mean = 0;
  double compile_us = 0;  // npucc::compile in this process, median
};

nlohmann::json to_json(const Figures& f) {
  return {{"cycles_median", f.cycles_median},
          {"cycles_mean", f.cycles_mean},
          {"insns_median", f.insns_median},
          {"insns_mean", f.insns_mean}};
}

nlohmann::json to_json(const Path& p) {
  nlohmann::json stalls = nlohmann::json::object();
  for (size_t u = 0; u < kUnits; u++)
    if (p.stall_mean[u] != 0) stalls[npu::unit_name(npu::Unit(u))] = p.stall_mean[u];
  return {{"verdict", verdict_name(p.verdict)}, {"packets", p.packets},
          {"total", to_json(p.total)},          {"firmware", to_json(p.firmware)},
          {"program", to_json(p.program)},      {"program_issue_cycles_mean", p.issue_mean},
          {"program_stall_cycles_mean", stalls}};
}

ExampleRow measure(const std::string& name, const npu::Image& fw, size_t npackets, unsigned runs) {
  ExampleRow row;
  row.name = name;
  const std::string obj_path = object_path(name);
  const bpf::Object obj = bpf::load_object(obj_path);
  const npucc::CompileResult c = npucc::compile(obj);
  for (size_t i = 0; i < c.image.programs.size(); i++) {
    const npu::Object::Program& p = c.image.programs[i];
    row.programs.push_back({p.name, p.bpf_insns, p.npu_insns, c.stats[i].verifier_insns});
    row.bpf_insns += p.bpf_insns;
  }

  traffic::TrafficProfile profile;
  if (exists(example(name, ".traffic.json")))
    profile = traffic::TrafficProfile::from_json_file(example(name, ".traffic.json"));
  const std::vector<traffic::Packet> packets = traffic::packet_set(profile, npackets, kSeed);
  const std::string maps = exists(example(name, ".maps.json")) ? example(name, ".maps.json") : "";

  // Every packet through the compiled program, in order (maps change as they go).
  npu::driver::Device dev(fw);
  dev.load(c.image, obj_path);
  if (!maps.empty()) dev.load_maps_json(maps);
  const std::string prog = obj.programs[0].name;
  std::map<uint32_t, std::vector<size_t>> by_verdict;  // verdict -> packet indexes
  std::vector<Cost> cost(packets.size());
  std::vector<uint64_t> all_cycles;
  for (size_t i = 0; i < packets.size(); i++) {
    npu::driver::XdpResult r;
    cost[i] = run(dev, prog, packets[i].data, &r);
    if (r.err != 0) {
      row.refused++;
      continue;
    }
    by_verdict[r.verdict].push_back(i);
    all_cycles.push_back(r.cycles);
  }
  row.packets = all_cycles.size();
  if (by_verdict.empty()) throw std::runtime_error(name + ": the device refused every packet");
  row.all_cycles_mean = mean(all_cycles);

  // Each verdict's packets again through `exit <verdict>`: the firmware's share.
  for (const auto& [verdict, idx] : by_verdict) {
    npu::driver::Device base(fw);
    base.load(exit_only(verdict), "exit_only");
    Path path;
    path.verdict = verdict;
    path.packets = idx.size();
    std::vector<uint64_t> cy, in, fcy, fin;
    std::vector<int64_t> pcy, pin;
    for (size_t i : idx) {
      npu::driver::XdpResult r;
      const Cost b = run(base, "one", packets[i].data, &r);
      const Cost& e = cost[i];
      cy.push_back(e.cycles), in.push_back(e.insns);
      fcy.push_back(b.cycles), fin.push_back(b.insns);
      pcy.push_back(int64_t(e.cycles) - int64_t(b.cycles));
      pin.push_back(int64_t(e.insns) - int64_t(b.insns));
      path.issue_mean += double(int64_t(e.issue) - int64_t(b.issue));
      for (size_t u = 0; u < kUnits; u++)
        path.stall_mean[u] += double(int64_t(e.stall[u]) - int64_t(b.stall[u]));
    }
    path.total = figures(cy, in);
    path.firmware = figures(fcy, fin);
    path.program = figures(pcy, pin);
    path.issue_mean /= double(idx.size());
    for (double& s : path.stall_mean) s /= double(idx.size());
    // The typical path: the most packets; a tie goes to the lower verdict.
    if (row.paths.empty() || path.packets > row.paths[row.typical].packets)
      row.typical = row.paths.size();
    row.paths.push_back(path);
  }

  row.compile_us = median_us(runs, [&] { npucc::compile(obj); });
  return row;
}

// ---- The largest example: `npu compile` and `bpftool prog load` as processes ----

struct LargestFigures {
  double compile_us = 0;      // npucc::compile in this process, median
  double npu_compile_us = 0;  // `npu compile OBJ -o OUT`, process start to exit, median
  uint64_t npu_faults = 0;    // its minor page faults (the last run)
  std::string unavailable;    // why the kernel figures are missing, or ""
  double bpftool_us = 0;      // `bpftool prog load OBJ PIN`, process start to exit, median
  uint64_t bpftool_faults = 0;
  double libbpf_us = 0;         // bpf_object__open_file + bpf_object__load in this process, median
  double verify_us = 0;         // the kernel's own "verification time", all programs, median
  uint64_t verified_insns = 0;  // the kernel's "processed N insns", all programs
};

// Runs argv, stdout to /dev/null and stderr to err_path; the exit status, or
// -1 when it could not start. *ru: the child's resource usage.
int spawn(const std::vector<std::string>& argv, const std::string& err_path, rusage* ru) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (wait4(pid, &status, 0, ru) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// Runs argv; "" when it exits with 0, else why not. Keeps the child's minor
// page faults in *faults (its ru_maxrss would be ours: posix_spawn shares our
// memory until the exec).
std::string run_process(const std::vector<std::string>& argv, const std::string& err_path,
                        uint64_t* faults) {
  rusage ru{};
  int rc = spawn(argv, err_path, &ru);
  *faults = uint64_t(ru.ru_minflt);
  if (rc == 0) return "";
  return rc < 0 ? fmt::format("{} not found", argv[0])
                : fmt::format("{} failed: {}", argv[0], first_line(err_path));
}

// One load of the object through libbpf with the verifier's statistics
// (log level 4): each program's verification time and processed
// instructions, summed. Returns "" or why it failed.
std::string libbpf_load(const std::string& obj_path, double* verify_us, uint64_t* insns) {
  bpf_object* obj = bpf_object__open_file(obj_path.c_str(), nullptr);
  if (!obj) return fmt::format("libbpf cannot open {}: {}", obj_path, std::strerror(errno));
  std::vector<std::vector<char>> logs;
  bpf_program* p;
  bpf_object__for_each_program(p, obj) logs.emplace_back(1 << 16, '\0');
  size_t i = 0;
  bpf_object__for_each_program(p, obj) {
    bpf_program__set_log_level(p, 4);
    bpf_program__set_log_buf(p, logs[i].data(), logs[i].size());
    i++;
  }
  int err = bpf_object__load(obj);
  bpf_object__close(obj);
  if (err) return fmt::format("libbpf cannot load {}: {}", obj_path, std::strerror(-err));
  *verify_us = 0;
  *insns = 0;
  for (const std::vector<char>& log : logs) {
    const char* t = std::strstr(log.data(), "verification time ");
    if (t) *verify_us += std::strtod(t + std::strlen("verification time "), nullptr);
    const char* n = std::strstr(log.data(), "processed ");
    if (n) *insns += std::strtoull(n + std::strlen("processed "), nullptr, 10);
  }
  return "";
}

// The four measurements take turns, round after round, so that a change in
// the machine's load hits all of them alike; the first round is not counted.
LargestFigures measure_largest(const std::string& name, unsigned runs, bool kernel) {
  LargestFigures f;
  const std::string obj_path = object_path(name);
  const bpf::Object obj = bpf::load_object(obj_path);
  if (!kernel)
    f.unavailable = "not measured (--no-kernel)";
  else
    f.unavailable = kern::bpf_unavailable_reason();
  char tmpl[] = "/tmp/npu-bench-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary directory");
  const std::string dir = tmpl, err_path = dir + "/stderr", out = dir + "/out.npu";
  // No dots in the pin name: bpffs refuses them.
  const std::string pin = fmt::format("/sys/fs/bpf/npu_bench_{}_{}", name, getpid());
  std::vector<double> compile, npu, bpftool, libbpf, verify;
  auto timed = [](std::vector<double>* into, const std::function<void()>& f) {
    auto t0 = Clock::now();
    f();
    into->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  };
  std::string failure;
  for (unsigned i = 0; i <= runs; i++) {
    timed(&compile, [&] { npucc::compile(obj); });
    timed(&npu, [&] {
      failure = run_process({std::string(NPU_BINARY_DIR) + "/npu", "compile", obj_path, "-o", out},
                            err_path, &f.npu_faults);
    });
    std::remove(out.c_str());
    if (!failure.empty()) {
      std::remove(err_path.c_str());
      rmdir(dir.c_str());
      throw std::runtime_error(failure);
    }
    if (!f.unavailable.empty()) continue;
    timed(&bpftool, [&] {
      failure =
          run_process({"bpftool", "prog", "load", obj_path, pin}, err_path, &f.bpftool_faults);
    });
    unlink(pin.c_str());
    double v = 0;
    if (failure.empty())
      timed(&libbpf, [&] { failure = libbpf_load(obj_path, &v, &f.verified_insns); });
    verify.push_back(v);
    if (!failure.empty()) f.unavailable = failure;
  }
  std::remove(err_path.c_str());
  rmdir(dir.c_str());
  auto timed_median = [](std::vector<double> v) {
    if (!v.empty()) v.erase(v.begin());  // the untimed first round
    return median(v);
  };
  f.compile_us = timed_median(compile);
  f.npu_compile_us = timed_median(npu);
  if (f.unavailable.empty()) {
    f.bpftool_us = timed_median(bpftool);
    f.libbpf_us = timed_median(libbpf);
    f.verify_us = timed_median(verify);
  }
  return f;
}

std::vector<std::string> examples() {
  std::vector<std::string> names;
  std::istringstream in(NPU_EXAMPLES);
  for (std::string n; std::getline(in, n, ',');)
    if (!n.empty()) names.push_back(n);
  return names;
}

// The example with the most BPF instructions over all its programs; the
// first of equals.
std::string largest(const std::vector<std::string>& names) {
  std::string best;
  size_t most = 0;
  for (const std::string& n : names) {
    size_t insns = 0;
    for (const bpf::Program& p : bpf::load_object(object_path(n)).programs) insns += p.insns.size();
    if (insns > most) most = insns, best = n;
  }
  return best;
}

void usage() {
  std::cerr
      << "usage: compiler_bench [--json] [--runs N] [--packets N] [--no-kernel] [--largest]\n";
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false, kernel = true, only_largest = false;
  unsigned runs = 15;
  size_t npackets = 10000;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--no-kernel") {
      kernel = false;
    } else if (a == "--largest") {
      only_largest = true;
    } else if ((a == "--runs" || a == "--packets") && i + 1 < argc) {
      long v = std::strtol(argv[++i], nullptr, 10);
      if (v <= 0) {
        usage();
        return 2;
      }
      if (a == "--runs")
        runs = unsigned(v);
      else
        npackets = size_t(v);
    } else {
      usage();
      return 2;
    }
  }
  try {
    const std::vector<std::string> names = examples();
    const std::string big = largest(names);
    if (only_largest) {
      std::cout << big << "\n";
      return 0;
    }
    kern::pin_to_cpu0();
    // Freed memory stays with malloc: the in-process compile times are then the
    // compiler's own work, not the first touch of pages handed back to the
    // kernel after each run (for loops, most of its time; `npu compile` as a
    // process shows that cold cost).
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    const npu::Image fw = npu::read_image(NPU_FIRMWARE);
    std::vector<ExampleRow> rows;
    for (const std::string& n : names) rows.push_back(measure(n, fw, npackets, runs));
    const LargestFigures k = measure_largest(big, runs, kernel);
    const ExampleRow& b =
        *std::find_if(rows.begin(), rows.end(), [&](const ExampleRow& r) { return r.name == big; });

    if (json) {
      nlohmann::json j;
      j["runs"] = runs;
      j["examples"] = nlohmann::json::array();
      for (const ExampleRow& r : rows) {
        nlohmann::json e{{"example", r.name},
                         {"packets", r.packets},
                         {"refused", r.refused},
                         {"typical", to_json(r.paths[r.typical])},
                         {"all_packets_cycles_mean", r.all_cycles_mean},
                         {"compile_us", r.compile_us}};
        e["programs"] = nlohmann::json::array();
        for (const ProgramRow& p : r.programs)
          e["programs"].push_back({{"name", p.name},
                                   {"bpf_insns", p.bpf_insns},
                                   {"npu_insns", p.npu_insns},
                                   {"verifier_insns", p.verifier_insns}});
        e["paths"] = nlohmann::json::array();
        for (const Path& p : r.paths) e["paths"].push_back(to_json(p));
        j["examples"].push_back(e);
      }
      nlohmann::json kj{
          {"example", big},
          {"bpf_insns", b.bpf_insns},
          {"compile_us", k.compile_us},
          {"npu_compile_us", k.npu_compile_us},
          {"npu_compile_minor_faults", k.npu_faults},
      };
      if (k.unavailable.empty()) {
        kj["bpftool_prog_load_us"] = k.bpftool_us;
        kj["bpftool_minor_faults"] = k.bpftool_faults;
        kj["libbpf_load_us"] = k.libbpf_us;
        kj["kernel_verification_us"] = k.verify_us;
        kj["kernel_processed_insns"] = k.verified_insns;
        kj["npu_compile_over_bpftool"] = k.npu_compile_us / k.bpftool_us;
        kj["compile_over_libbpf_load"] = k.compile_us / k.libbpf_us;
      } else {
        kj["kernel_unavailable"] = k.unavailable;
      }
      j["largest"] = kj;
      std::cout << j.dump(2) << "\n";
      return 0;
    }

    std::cout << "| example | program | BPF insns | NPU insns | NPU/BPF | verifier insns "
                 "processed |\n|---|---|---:|---:|---:|---:|\n";
    for (const ExampleRow& r : rows)
      for (const ProgramRow& p : r.programs)
        std::cout << fmt::format("| {} | {} | {} | {} | {:.2f} | {} |\n", r.name, p.name,
                                 p.bpf_insns, p.npu_insns, double(p.npu_insns) / p.bpf_insns,
                                 p.verifier_insns);

    std::cout << "\n| example | typical verdict (packets) | cycles/packet median (mean) | "
                 "NPU insns/packet median (mean) | firmware: cycles (insns) | program alone: "
                 "cycles median (mean) | program alone: NPU insns median (mean) | compile us "
                 "(wall) |\n|---|---|---:|---:|---:|---:|---:|---:|\n";
    for (const ExampleRow& r : rows) {
      const Path& t = r.paths[r.typical];
      std::cout << fmt::format(
          "| {} | {} ({} of {}) | {} ({:.1f}) | {} ({:.1f}) | {} ({}) | {} ({:.1f}) | {} "
          "({:.1f}) | {:.0f} |\n",
          r.name, verdict_name(t.verdict), t.packets, r.packets, t.total.cycles_median,
          t.total.cycles_mean, t.total.insns_median, t.total.insns_mean, t.firmware.cycles_median,
          t.firmware.insns_median, t.program.cycles_median, t.program.cycles_mean,
          t.program.insns_median, t.program.insns_mean, r.compile_us);
    }

    // Where the program's cycles go on the typical path: the units it waits for most.
    std::array<double, kUnits> any{};
    for (const ExampleRow& r : rows)
      for (size_t u = 0; u < kUnits; u++) any[u] += std::abs(r.paths[r.typical].stall_mean[u]);
    std::vector<size_t> units;
    for (size_t u = 0; u < kUnits; u++)
      if (any[u] >= 0.05) units.push_back(u);
    std::cout << "\n| example | program alone: cycles (mean) | issuing |";
    for (size_t u : units) std::cout << " stalled on " << npu::unit_name(npu::Unit(u)) << " |";
    std::cout << "\n|---|---:|---:|";
    for (size_t i = 0; i < units.size(); i++) std::cout << "---:|";
    std::cout << "\n";
    for (const ExampleRow& r : rows) {
      const Path& t = r.paths[r.typical];
      std::cout << fmt::format("| {} | {:.1f} | {:.1f} |", r.name, t.program.cycles_mean,
                               t.issue_mean);
      for (size_t u : units) std::cout << fmt::format(" {:.1f} |", t.stall_mean[u]);
      std::cout << "\n";
    }

    std::cout << "\n| example | verdict | packets | cycles/packet median (mean) | program alone: "
                 "cycles median (mean) | program alone: NPU insns median (mean) |\n"
                 "|---|---|---:|---:|---:|---:|\n";
    for (const ExampleRow& r : rows)
      for (const Path& p : r.paths)
        std::cout << fmt::format("| {} | {} | {} | {} ({:.1f}) | {} ({:.1f}) | {} ({:.1f}) |\n",
                                 r.name, verdict_name(p.verdict), p.packets, p.total.cycles_median,
                                 p.total.cycles_mean, p.program.cycles_median,
                                 p.program.cycles_mean, p.program.insns_median,
                                 p.program.insns_mean);

    std::cout << fmt::format("\nLargest example: {} ({} BPF insns), medians of {} runs (wall):\n\n",
                             big, b.bpf_insns, runs);
    std::cout << fmt::format(
        "- `npu compile {}.o`: {:.0f} us (process: ELF, libbpf, verifier, passes, image file; "
        "{} minor page faults)\n",
        big, k.npu_compile_us, k.npu_faults);
    std::cout << fmt::format("- npucc::compile in this process: {:.0f} us\n", k.compile_us);
    if (k.unavailable.empty()) {
      std::cout << fmt::format(
          "- `bpftool prog load {}.o`: {:.0f} us (process: libbpf, maps, verifier, JIT, pin; {} "
          "minor page faults)\n",
          big, k.bpftool_us, k.bpftool_faults);
      std::cout << fmt::format(
          "- libbpf open + load in this process: {:.0f} us, of which the kernel's verification "
          "time: {:.0f} us ({} insns processed; ours: {})\n",
          k.libbpf_us, k.verify_us, k.verified_insns,
          std::accumulate(b.programs.begin(), b.programs.end(), uint64_t(0),
                          [](uint64_t n, const ProgramRow& p) { return n + p.verifier_insns; }));
      std::cout << fmt::format(
          "- ratios: `npu compile` / `bpftool prog load` = {:.2f}; npucc::compile / libbpf "
          "load = {:.2f}\n",
          k.npu_compile_us / k.bpftool_us, k.compile_us / k.libbpf_us);
    } else {
      std::cout << "- kernel: " << k.unavailable << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "compiler_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
