// npu conformance: BPF ISA conformance files on a chosen execution engine,
// and the bpf_conformance runner's plugin protocol.
#include "cli/commands.h"
#include "compiler/backend/compile.h"
#include "compiler/bpf/conformance_file.h"
#include "compiler/bpf/conformance_wrap.h"
#include "driver/device.h"
#include "sim/kernel/oracle.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "sim/rtl/lockstep.h"
#include "sim/rtl/rtl_machine.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string engine = "ref";
  std::string firmware = NPU_FIRMWARE_PATH;
  std::vector<std::string> files;
  bool plugin = false;
  bool json = false;
  std::string trace_rtl;  // FST waveforms of the RTL core (engines rtl, lockstep)
};

// One run of a program on an engine: r0, or why the engine would not or could not run it.
struct Outcome {
  bool ran = false;
  uint64_t r0 = 0;
  std::string error;
};

// The hardware a device engine runs on: a fresh ISS machine each time, or
// (SystemC allows one simulation a process) one RTL or lockstep machine the
// process reloads for every file.
std::unique_ptr<npu::driver::Device> device_on(const std::string& engine, const npu::Image& fw,
                                               const std::string& trace_rtl) {
  const npu::driver::DeviceConfig cfg;
  // The waveform covers every file of the run, from the first boot.
  auto traced = [&](npu::rtl::RtlMachine& m) {
    if (!trace_rtl.empty()) m.trace_to(trace_rtl);
    return true;
  };
  if (engine == "rtl") {
    static npu::rtl::RtlMachine hw("rtl", npu::driver::Device::machine_config(cfg));
    static const bool once = traced(hw);
    (void)once;
    return std::make_unique<npu::driver::Device>(fw, hw, cfg);
  }
  if (engine == "lockstep") {
    static npu::rtl::Lockstep hw(npu::driver::Device::machine_config(cfg));
    static const bool once = traced(hw.rtl());
    (void)once;
    return std::make_unique<npu::driver::Device>(fw, hw, cfg);
  }
  return std::make_unique<npu::driver::Device>(fw, cfg);
}

// The program wrapped as XDP (bpf::wrap_conformance), verified and compiled,
// loaded on a device (the ISS, the RTL core, or both in lockstep), run on one
// packet; r0 from the result map.
Outcome run_on_device(const Options& opt, const std::vector<bpf::Insn>& insns,
                      const std::vector<uint8_t>& mem) {
  const std::string& engine = opt.engine;
  const std::string& firmware = opt.firmware;
  static const npu::Image fw = npu::read_image(firmware);
  Outcome o;
  bpf::Object obj = bpf::wrap_conformance(insns, mem);
  obj.path = "conformance";
  npucc::CompileResult c;
  try {
    c = npucc::compile(obj);
  } catch (const verifier::VerifyError& e) {
    o.error = "verifier rejected: " + e.reason();
    return o;
  }
  std::unique_ptr<npu::driver::Device> d = device_on(engine, fw, opt.trace_rtl);
  npu::driver::Device& dev = *d;
  dev.load(c.image, "conformance");
  npu::driver::XdpResult r = dev.run_xdp(bpf::kConformanceProgram, std::vector<uint8_t>(64, 0));
  // A device the process keeps for the next file gives its maps back.
  struct Unload {
    npu::driver::Device& d;
    bool keep;
    ~Unload() {
      if (keep) return;
      try {
        d.unload();
      } catch (const std::exception&) {
      }
    }
  } unload{dev, engine == "iss"};
  if (!r.error.empty() || r.verdict != 0) {
    o.error = !r.error.empty() ? "device: " + r.error
                               : fmt::format("the wrapper ended with verdict {}", r.verdict);
    return o;
  }
  auto v = dev.map_lookup(bpf::kConformanceResultMap, std::vector<uint8_t>(4, 0));
  if (!v || v->size() < 8) {
    o.error = "no result in the result map";
    return o;
  }
  o.ran = true;
  std::memcpy(&o.r0, v->data(), 8);
  return o;
}

Outcome run_on(const Options& opt, const std::vector<bpf::Insn>& insns, std::vector<uint8_t> mem) {
  const std::string& engine = opt.engine;
  Outcome o;
  if (engine == "iss" || engine == "rtl" || engine == "lockstep")
    return run_on_device(opt, insns, mem);
  if (engine == "ref") {
    ref::RawResult r = ref::Interpreter::run_raw(insns, mem);
    o.ran = r.error.empty();
    o.r0 = r.r0;
    o.error = r.error;
  } else if (engine == "kernel") {
    kern::ConformanceResult r = kern::run_conformance(insns, mem);
    o.ran = r.ok;
    o.r0 = r.r0;
    o.error = r.error;
  }
  return o;
}

void check_engine(const std::string& engine) {
  if (engine != "ref" && engine != "kernel" && engine != "iss" && engine != "rtl" &&
      engine != "lockstep")
    throw std::runtime_error(
        fmt::format("unknown engine '{}' (engines: ref, kernel, iss, rtl, lockstep)", engine));
  if (engine == "kernel") {
    std::string why = kern::bpf_unavailable_reason();
    if (!why.empty()) {
      // 77: the test harness's "skipped" code; the reason goes with it.
      std::cerr << "npu conformance: skipped, engine kernel is not available: " << why << "\n";
      std::exit(77);
    }
  }
}

// The plugin protocol: program as hex on stdin, memory as hex in the first argument, r0 in hex.
int plugin(const Options& o) {
  std::string text(std::istreambuf_iterator<char>(std::cin), {});
  std::vector<uint8_t> code = ref::parse_hex(text, "program on stdin");
  if (code.size() % 8)
    throw std::runtime_error("program on stdin: length is not a multiple of 8 bytes");
  std::vector<bpf::Insn> insns(code.size() / 8);
  std::memcpy(static_cast<void*>(insns.data()), code.data(), code.size());
  std::vector<uint8_t> mem;
  if (!o.files.empty()) mem = ref::parse_hex(o.files[0], "memory argument");
  Outcome r = run_on(o, insns, mem);
  if (!r.ran) {
    std::cerr << r.error << "\n";
    return 1;
  }
  std::cout << fmt::format("{:x}\n", r.r0);
  return 0;
}

void run_files(const Options& o) {
  int passed = 0, failed = 0, rejected = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& f : o.files) {
    std::string name = f.substr(f.find_last_of('/') + 1);
    nlohmann::json rj{{"file", f}};
    std::string status, detail;
    try {
      bpf::ConformanceCase c = bpf::parse_conformance_file(f);
      Outcome r = run_on(o, c.insns, c.mem);
      if (c.error) {
        bool ok = !r.ran;
        status = ok ? "PASS" : "FAIL";
        detail = ok ? fmt::format("expected an error, got: {}", r.error)
                    : fmt::format("expected an error ({}), got r0 0x{:x}", *c.error, r.r0);
      } else if (!r.ran && (r.error.rfind("kernel rejected", 0) == 0 ||
                            r.error.rfind("verifier rejected", 0) == 0)) {
        status = "REJECTED";
        detail = r.error;
      } else if (!r.ran) {
        status = "FAIL";
        detail = fmt::format("expected 0x{:x}, got an error: {}", *c.result, r.error);
      } else {
        status = r.r0 == *c.result ? "PASS" : "FAIL";
        detail = fmt::format("expected 0x{:x}, got 0x{:x}", *c.result, r.r0);
      }
      if (c.result) rj["expected"] = fmt::format("0x{:x}", *c.result);
      if (r.ran) rj["actual"] = fmt::format("0x{:x}", r.r0);
    } catch (const npu::rtl::LockstepError& e) {
      // The two sides no longer run the same program: nothing after this compares.
      std::cout << fmt::format("{:<8} {:<32} {}\n", "FAIL", name, e.what());
      throw std::runtime_error(fmt::format("conformance: {}: the ISS and the RTL diverged", f));
    } catch (const std::exception& e) {
      status = "FAIL";
      detail = e.what();
    }
    passed += status == "PASS";
    failed += status == "FAIL";
    rejected += status == "REJECTED";
    rj["status"] = status;
    rj["detail"] = detail;
    results.push_back(rj);
    if (!o.json) std::cout << fmt::format("{:<8} {:<32} {}\n", status, name, detail);
  }
  std::string closing = fmt::format("{} passed, {} failed", passed, failed);
  if (o.engine == "kernel")
    closing += fmt::format(", {} rejected by the kernel verifier", rejected);
  if (o.engine == "iss" || o.engine == "rtl" || o.engine == "lockstep")
    closing += fmt::format(", {} rejected by the verifier", rejected);
  if (o.json)
    std::cout << nlohmann::json{{"engine", o.engine},
                                {"passed", passed},
                                {"failed", failed},
                                {"rejected", rejected},
                                {"results", results}}
                     .dump(2)
              << "\n";
  else
    std::cout << closing << "\n";
  if (failed)
    throw std::runtime_error(fmt::format("conformance: {} of {} files failed on engine {}", failed,
                                         o.files.size(), o.engine));
}

}  // namespace

void add_conformance(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "conformance", "run BPF ISA conformance files (.data) on an execution engine");
  cmd->add_option("--engine", opt->engine,
                  "ref (reference interpreter), kernel (BPF_PROG_TEST_RUN), iss (compiled by "
                  "npu compile, run on the ISS device), rtl (the same on the Verilated RTL core) "
                  "or lockstep (ISS and RTL side by side, every instruction compared)")
      ->capture_default_str();
  cmd->add_option("--trace-rtl", opt->trace_rtl,
                  "engines rtl and lockstep: the RTL core's waveforms over the whole run (FST, "
                  "for GTKWave)");
  cmd->add_option("--firmware", opt->firmware, "firmware image for the device engines")
      ->capture_default_str();
  cmd->add_option("files", opt->files, "conformance files; with --plugin: the memory as hex");
  cmd->add_flag(
      "--plugin", opt->plugin,
      "bpf_conformance plugin protocol: program hex on stdin, memory hex argument, prints r0");
  cmd->add_flag("--json", opt->json, "machine-readable results");
  cmd->callback([opt] {
    check_engine(opt->engine);
    if (!opt->trace_rtl.empty() && opt->engine != "rtl" && opt->engine != "lockstep")
      throw std::runtime_error("--trace-rtl: engine " + opt->engine + " has no RTL core");
    if (opt->plugin) {
      int rc = plugin(*opt);
      if (rc) std::exit(rc);
      return;
    }
    if (opt->files.empty()) throw std::runtime_error("conformance: no files given");
    run_files(*opt);
  });
}

}  // namespace npu_cli
