// npu: one binary with subcommands, in the manner of bpftool and ip.
#include "cli/commands.h"
#include "compiler/backend/passes.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"npu: eBPF/XDP offload toolchain and SmartNIC simulator"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  npu_cli::add_objdump(app);
  npu_cli::add_interp(app);
  npu_cli::add_conformance(app);
  npu_cli::add_gen(app);
  npu_cli::add_as(app);
  npu_cli::add_disasm(app);
  npu_cli::add_iss(app);
  npu_cli::add_compile(app);
  npu_cli::add_sim(app);
  npu_cli::add_run(app);
  npu_cli::add_dev(app);
  // Compiler-style -fno-<pass> is spelled --fno-<pass> for the parser.
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& a : args)
    if (a.rfind("-fno-", 0) == 0) {
      if (!npucc::find_pass(a.substr(5))) {
        std::string names;
        for (const npucc::Pass& p : npucc::passes())
          names += std::string(names.empty() ? "" : ", ") + p.name;
        std::fprintf(stderr, "npu: %s: no such pass (passes: %s)\n", a.c_str(), names.c_str());
        return 1;
      }
      a = "-" + a;
    }
  std::vector<char*> av;
  for (std::string& a : args) av.push_back(a.data());
  try {
    app.parse(int(av.size()), av.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "npu: %s (see --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "npu: %s\n", e.what());
    return 1;
  }
  return 0;
}
