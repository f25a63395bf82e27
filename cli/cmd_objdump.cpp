// npu objdump FILE.o: what the front end finds in a BPF object.
#include "cli/commands.h"
#include "compiler/bpf/program.h"
#include "sim/ref/maps_json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string file;
  bool json = false;
  bool no_source = false;
};

nlohmann::json to_json(const bpf::Object& obj) {
  nlohmann::json j{{"file", obj.path}, {"license", obj.license}};
  j["maps"] = nlohmann::json::array();
  for (const bpf::MapDef& m : obj.maps) {
    nlohmann::json mj{{"name", m.name},
                      {"type", bpf::map_type_name(m.type)},
                      {"key_size", m.key_size},
                      {"value_size", m.value_size},
                      {"max_entries", m.max_entries},
                      {"flags", m.flags},
                      {"global_data", m.global_data}};
    if (m.global_data) mj["initial"] = ref::to_hex(m.initial);
    j["maps"].push_back(mj);
  }
  j["programs"] = nlohmann::json::array();
  for (const bpf::Program& p : obj.programs) {
    nlohmann::json pj{
        {"name", p.name}, {"section", p.section}, {"type", bpf::prog_type_name(p.type)}};
    pj["functions"] = nlohmann::json::array();
    for (size_t f = 0; f < p.func_starts.size(); ++f)
      pj["functions"].push_back({{"name", p.func_names[f]}, {"start", p.func_starts[f]}});
    pj["insns"] = nlohmann::json::array();
    for (size_t i = 0; i < p.insns.size(); ++i) {
      nlohmann::json ij{{"index", i}, {"text", bpf::disasm(p.insns, i, &obj)}};
      if (const bpf::LineInfo* l = p.line_for(uint32_t(i)))
        ij["line"] = {{"file", l->file}, {"line", l->line}};
      pj["insns"].push_back(ij);
      if (p.insns[i].is_lddw()) ++i;
    }
    j["programs"].push_back(pj);
  }
  return j;
}

void print_text(const bpf::Object& obj, bool source) {
  std::cout << fmt::format("{}: BPF object, license \"{}\"\n", obj.path, obj.license);
  std::cout << fmt::format("\nmaps ({}):\n", obj.maps.size());
  for (size_t i = 0; i < obj.maps.size(); ++i) {
    const bpf::MapDef& m = obj.maps[i];
    std::cout << fmt::format(
        "  {:2}  {:<20} {:<16} key {:<3} value {:<5} max_entries {:<8} flags 0x{:x}{}\n", i, m.name,
        bpf::map_type_name(m.type), m.key_size, m.value_size, m.max_entries, m.flags,
        m.global_data ? "  (global data)" : "");
  }
  for (const bpf::Program& p : obj.programs) {
    std::cout << fmt::format("\nprogram {} (section {}, type {}, {} insns, {} function{})\n",
                             p.name, p.section, bpf::prog_type_name(p.type), p.insns.size(),
                             p.func_starts.size(), p.func_starts.size() == 1 ? "" : "s");
    size_t next_func = 0;
    const bpf::LineInfo* last = nullptr;
    for (size_t i = 0; i < p.insns.size(); ++i) {
      if (next_func < p.func_starts.size() && p.func_starts[next_func] == i)
        std::cout << fmt::format("{}<{}>:\n", i ? "\n" : "", p.func_names[next_func++]);
      const bpf::LineInfo* l = p.line_for(uint32_t(i));
      if (source && l && l != last && l->line) {
        std::cout << fmt::format("; {}  [{}:{}]\n", l->source,
                                 l->file.substr(l->file.find_last_of('/') + 1), l->line);
        last = l;
      }
      std::cout << fmt::format("  {:5}: {}\n", i, bpf::disasm(p.insns, i, &obj));
      if (p.insns[i].is_lddw()) ++i;
    }
  }
}

}  // namespace

void add_objdump(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("objdump", "show the programs, maps and global data of a BPF object");
  cmd->add_option("file", opt->file, "BPF ELF object (clang -target bpf -c)")->required();
  cmd->add_flag("--json", opt->json, "machine-readable output");
  cmd->add_flag("--no-source", opt->no_source, "omit the C source lines");
  cmd->callback([opt] {
    bpf::Object obj = bpf::load_object(opt->file);
    if (opt->json)
      std::cout << to_json(obj).dump(2) << "\n";
    else
      print_text(obj, !opt->no_source);
  });
}

}  // namespace npu_cli
