// npu compile PROG.o -o PROG.npu [-S] [--stats] [--json] [-fno-<pass>]...:
// verified BPF to an NPU program image (docs/compiler.md).
#include "cli/commands.h"
#include "compiler/backend/compile.h"
#include "compiler/backend/passes.h"
#include "compiler/npu/image.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string input, out, listing_path;
  bool listing = false, stats = false, json = false, unprivileged = false;
  std::vector<std::string> no_passes;  // filled from --fno-<name> flags
  std::map<std::string, bool> fno;
};

void run(Options& o) {
  npucc::CompileOptions co;
  for (auto& [name, off] : o.fno)
    if (off) co.disabled.insert(name);
  co.listing = o.listing;
  co.verify.perfmon = !o.unprivileged;
  const auto t0 = std::chrono::steady_clock::now();
  bpf::Object obj = bpf::load_object(o.input);
  npucc::CompileResult r = npucc::compile(obj, co);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (o.out.empty()) o.out = std::filesystem::path(o.input).replace_extension(".npu").string();
  npu::write_image(r.image, o.out);
  if (o.listing) {
    std::string path = o.listing_path.empty()
                           ? std::filesystem::path(o.out).replace_extension(".s").string()
                           : o.listing_path;
    if (path == "-") {
      std::cout << r.listing;
    } else {
      std::ofstream f(path);
      f << r.listing;
      if (!f.flush()) throw std::runtime_error(fmt::format("{}: cannot write", path));
    }
  }
  if (o.json) {
    nlohmann::json j{{"input", o.input}, {"output", o.out}, {"compile_ms", ms}};
    j["features"] = r.image.features;
    j["programs"] = nlohmann::json::array();
    for (const npucc::ProgramStats& s : r.stats) {
      nlohmann::json p{{"name", s.name},
                       {"bpf_insns", s.bpf_insns},
                       {"npu_insns", s.npu_insns},
                       {"verifier_insns", s.verifier_insns}};
      p["passes"] = s.passes;
      j["programs"].push_back(p);
    }
    j["disabled"] = co.disabled;
    std::cout << j.dump(2) << "\n";
    return;
  }
  for (const npucc::ProgramStats& s : r.stats) {
    std::cout << fmt::format("{}: {} BPF -> {} NPU instructions (verifier walked {})\n", s.name,
                             s.bpf_insns, s.npu_insns, s.verifier_insns);
    if (o.stats)
      for (const npucc::Pass& p : npucc::passes()) {
        std::string line;
        for (const auto& [k, v] : s.passes)
          if (k.rfind(std::string(p.name) + ".", 0) == 0)
            line += fmt::format(" {}={}", k.substr(std::string(p.name).size() + 1), v);
        std::cout << fmt::format("  {:<14}{}\n", p.name,
                                 co.disabled.count(p.name) ? " (off)"
                                 : line.empty()            ? " -"
                                                           : line);
      }
  }
  std::cout << fmt::format("wrote {} ({:.1f} ms)\n", o.out, ms);
}

}  // namespace

void add_compile(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("compile",
                                     "verify a BPF object's XDP programs and compile them to NPU "
                                     "microcode (an image for `npu disasm`, `npu sim`)");
  cmd->add_option("input", opt->input, "BPF ELF object (clang -target bpf)")->required();
  cmd->add_option("-o,--out", opt->out, "output image (default: INPUT with .npu)");
  cmd->add_flag("-S", opt->listing,
                "also write a listing: NPU code under the BPF instructions and C lines it "
                "comes from (OUT with .s, or --listing)");
  cmd->add_option("--listing", opt->listing_path, "where -S writes (- for stdout)");
  cmd->add_flag("--stats", opt->stats, "what each pass did, per program");
  cmd->add_flag("--json", opt->json, "machine-readable summary");
  cmd->add_flag("--unprivileged", opt->unprivileged,
                "verify as a loader without CAP_PERFMON (no pointer leaks)");
  for (const npucc::Pass& p : npucc::passes())
    cmd->add_flag(fmt::format("--fno-{}", p.name), opt->fno[p.name],
                  fmt::format("turn off {}: {} (also -fno-{})", p.name, p.summary, p.name));
  cmd->callback([opt] { run(*opt); });
}

}  // namespace npu_cli
