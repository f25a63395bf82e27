// npu as FILE... -o OUT.npu: assemble NPU sources (.s, or .S through the C
// preprocessor) as one unit into a microcode image.
#include "cli/commands.h"
#include "compiler/npu/asm.h"
#include "compiler/npu/image.h"
#include "compiler/npu/listing.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace npu_cli {
namespace {

struct Options {
  std::vector<std::string> files, includes, bases;
  std::string out, listing;
  bool json = false;
};

uint64_t parse_address(const std::string& text, const std::string& what) {
  size_t end = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(text, &end, 0);
  } catch (const std::exception&) {
    end = 0;
  }
  if (text.empty() || end != text.size() || text[0] == '-')
    throw std::runtime_error(fmt::format("{}: '{}' is not an address", what, text));
  return v;
}

void make_parent(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
}

nlohmann::json summary(const npu::Object& obj, const std::string& out) {
  nlohmann::json j{{"output", out}, {"entry", obj.entry}};
  j["sections"] = nlohmann::json::array();
  for (const npu::Object::Section& s : obj.sections)
    j["sections"].push_back(
        {{"name", s.name}, {"code", s.code}, {"base", s.base}, {"size", s.size()}});
  j["symbols"] = nlohmann::json::array();
  for (const npu::Object::Symbol& s : obj.symbols)
    j["symbols"].push_back(
        {{"name", s.name},
         {"value", s.value},
         {"section", s.section < 0 ? nlohmann::json(nullptr)
                                   : nlohmann::json(obj.sections[size_t(s.section)].name)},
         {"global", s.global}});
  return j;
}

void run(const Options& o) {
  npu::AsmOptions ao;
  ao.include_dirs = o.includes;
  for (const std::string& b : o.bases) {
    size_t eq = b.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::runtime_error(fmt::format("--base '{}': expected SECTION=ADDRESS", b));
    ao.section_base[b.substr(0, eq)] = parse_address(b.substr(eq + 1), "--base " + b);
  }
  npu::Object obj = npu::assemble_files(o.files, ao);
  make_parent(o.out);
  npu::write_image(obj, o.out);
  if (!o.listing.empty()) {
    make_parent(o.listing);
    std::ofstream f(o.listing);
    f << npu::listing(obj);
    if (!f.flush()) throw std::runtime_error(fmt::format("{}: cannot write", o.listing));
  }
  if (o.json) {
    std::cout << summary(obj, o.out).dump(2) << "\n";
    return;
  }
  size_t insns = 0, bytes = 0;
  for (const npu::Object::Section& s : obj.sections) (s.code ? insns : bytes) += s.size();
  std::cout << fmt::format("wrote {}: {} instructions, {} data bytes, {} symbols, entry {}\n",
                           o.out, insns, bytes, obj.symbols.size(), obj.entry);
}

}  // namespace

void add_as(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "as", "assemble NPU sources (.s; .S through the C preprocessor) into a microcode image");
  cmd->add_option("files", opt->files, "sources, assembled as one unit in this order")->required();
  cmd->add_option("-o,--out", opt->out, "output image (ELF, e_machine EM_NPU)")->required();
  cmd->add_option("-I", opt->includes, "include directory for .S files (repeatable)");
  cmd->add_option("--base", opt->bases,
                  "section address, SECTION=ADDRESS (code: instruction index; repeatable)");
  cmd->add_option("--listing", opt->listing, "also write a disassembly listing here");
  cmd->add_flag("--json", opt->json, "machine-readable summary");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace npu_cli
