// Subcommands of the `npu` binary; each registers itself on the CLI11 app and
// runs through a callback that throws on bad input (main prints one line).
#pragma once

#include <CLI/CLI.hpp>

namespace npu_cli {

void add_objdump(CLI::App& app);
void add_interp(CLI::App& app);
void add_conformance(CLI::App& app);
void add_gen(CLI::App& app);
void add_as(CLI::App& app);
void add_disasm(CLI::App& app);
void add_iss(CLI::App& app);
void add_compile(CLI::App& app);
void add_sim(CLI::App& app);
void add_run(CLI::App& app);
void add_dev(CLI::App& app);

}  // namespace npu_cli
