// npu disasm FILE.npu: the listing of a microcode image; --raw prints only
// the text column, which assembles back to the same image. A compiled
// program's image also shows its programs, maps and relocations.
#include "cli/commands.h"
#include "compiler/bpf/hex.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/image.h"
#include "compiler/npu/listing.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string file;
  bool json = false;
  bool raw = false;
};

// A program image's features, programs, maps and relocations.
void program_json(const npu::Image& img, nlohmann::json& j) {
  j["features"] = {{"mask", img.features}, {"names", npu::feature_names(img.features)}};
  j["programs"] = nlohmann::json::array();
  for (const npu::Object::Program& p : img.programs)
    j["programs"].push_back({{"name", p.name},
                             {"section", p.section},
                             {"entry", p.entry},
                             {"stack_size", p.stack_size},
                             {"bpf_insns", p.bpf_insns},
                             {"npu_insns", p.npu_insns}});
  j["maps"] = nlohmann::json::array();
  for (const npu::Object::Map& m : img.maps) {
    nlohmann::json mj{{"name", m.name},
                      {"type", bpf::map_type_name(m.type)},
                      {"key_size", m.key_size},
                      {"value_size", m.value_size},
                      {"max_entries", m.max_entries},
                      {"flags", m.flags},
                      {"global_data", m.global_data}};
    mj["inner_map"] = m.inner_map < 0 ? nlohmann::json(nullptr)
                                      : nlohmann::json(img.maps[size_t(m.inner_map)].name);
    if (m.global_data) mj["initial"] = bpf::to_hex(m.initial);
    j["maps"].push_back(mj);
  }
  j["relocs"] = nlohmann::json::array();
  for (const npu::Object::Reloc& r : img.relocs) {
    nlohmann::json rj{{"insn", r.insn}, {"kind", npu::reloc_kind_name(r.kind)}};
    if (r.kind == npu::Object::RelocKind::kHelper)
      rj["helper"] = r.helper;
    else
      rj["map"] = img.maps[r.map].name;
    rj["addend"] = r.addend;
    j["relocs"].push_back(rj);
  }
}

nlohmann::json to_json(const npu::Image& img, const std::string& file) {
  npu::Disassembler dis(img);
  nlohmann::json j{{"file", file}, {"entry", img.entry}};
  if (img.is_program_image()) program_json(img, j);
  std::map<uint64_t, const npu::Object::Reloc*> relocs;
  for (const npu::Object::Reloc& r : img.relocs) relocs.emplace(r.insn, &r);
  j["sections"] = nlohmann::json::array();
  for (const npu::Object::Section& s : img.sections) {
    nlohmann::json sj{{"name", s.name}, {"code", s.code}, {"base", s.base}, {"size", s.size()}};
    if (s.code) {
      sj["insns"] = nlohmann::json::array();
      for (size_t i = 0; i < s.words.size(); ++i) {
        nlohmann::json ij{{"addr", s.base + i},
                          {"word", fmt::format("{:016x}", s.words[i])},
                          {"text", dis.text(s.words[i], s.base + i)}};
        auto r = relocs.find(s.base + i);
        if (r != relocs.end()) ij["reloc"] = npu::reloc_text(img, *r->second);
        sj["insns"].push_back(ij);
      }
    } else {
      std::string hex;
      for (uint8_t b : s.bytes) hex += fmt::format("{:02x}", b);
      sj["bytes"] = hex;
    }
    j["sections"].push_back(sj);
  }
  j["symbols"] = nlohmann::json::array();
  for (const npu::Object::Symbol& s : img.symbols)
    j["symbols"].push_back(
        {{"name", s.name},
         {"value", s.value},
         {"section", s.section < 0 ? nlohmann::json(nullptr)
                                   : nlohmann::json(img.sections[size_t(s.section)].name)},
         {"global", s.global}});
  return j;
}

}  // namespace

void add_disasm(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("disasm", "list the code and data of an NPU microcode image");
  cmd->add_option("file", opt->file, "image written by 'npu as' or 'npu compile'")->required();
  cmd->add_flag("--json", opt->json, "machine-readable output");
  cmd->add_flag("--raw", opt->raw, "text only, without addresses and words: reassemblable");
  cmd->callback([opt] {
    npu::Image img = npu::read_image(opt->file);
    if (opt->json)
      std::cout << to_json(img, opt->file).dump(2) << "\n";
    else
      std::cout << npu::listing(img, {!opt->raw, bpf::map_type_name});
  });
}

}  // namespace npu_cli
