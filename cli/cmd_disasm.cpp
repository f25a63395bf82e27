// npu disasm FILE.npu: the listing of a microcode image; --raw prints only
// the text column, which assembles back to the same image.
#include "cli/commands.h"
#include "compiler/npu/image.h"
#include "compiler/npu/listing.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace npu_cli {
namespace {

struct Options {
  std::string file;
  bool json = false;
  bool raw = false;
};

nlohmann::json to_json(const npu::Image& img, const std::string& file) {
  npu::Disassembler dis(img);
  nlohmann::json j{{"file", file}, {"entry", img.entry}};
  j["sections"] = nlohmann::json::array();
  for (const npu::Object::Section& s : img.sections) {
    nlohmann::json sj{{"name", s.name}, {"code", s.code}, {"base", s.base}, {"size", s.size()}};
    if (s.code) {
      sj["insns"] = nlohmann::json::array();
      for (size_t i = 0; i < s.words.size(); ++i)
        sj["insns"].push_back({{"addr", s.base + i},
                               {"word", fmt::format("{:016x}", s.words[i])},
                               {"text", dis.text(s.words[i], s.base + i)}});
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
  cmd->add_option("file", opt->file, "image written by 'npu as'")->required();
  cmd->add_flag("--json", opt->json, "machine-readable output");
  cmd->add_flag("--raw", opt->raw, "text only, without addresses and words: reassemblable");
  cmd->callback([opt] {
    npu::Image img = npu::read_image(opt->file);
    if (opt->json)
      std::cout << to_json(img, opt->file).dump(2) << "\n";
    else
      std::cout << npu::listing(img, {!opt->raw});
  });
}

}  // namespace npu_cli
