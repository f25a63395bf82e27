#include "compiler/bpf/conformance_file.h"
#include "compiler/bpf/ubpf_asm.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bpf {
namespace {

std::optional<uint64_t> parse_u64(const std::string& s, int base) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  uint64_t v = std::strtoull(s.c_str(), &end, base);
  if (errno || *end) return std::nullopt;
  return v;
}

}  // namespace

ConformanceCase parse_conformance_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw std::runtime_error(path + ": is a directory");
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  ConformanceCase c;
  c.path = path;
  std::string section, line;
  int asm_line = 0;
  std::vector<std::pair<int, std::string>> raw;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.rfind("-- ", 0) == 0) {
      section = line.substr(3);
      static const char* const known[] = {
          "asm", "raw", "mem", "result", "error", "c", "no register offset"};
      if (std::find(std::begin(known), std::end(known), section) == std::end(known))
        throw std::runtime_error(fmt::format("{}:{}: unknown section '-- {}'", path, n, section));
      if (section == "asm") asm_line = n;
      continue;
    }
    if (section.empty() || section == "c" || section == "no register offset") continue;
    std::string t = line.substr(0, line.find('#'));
    if (section == "asm") {
      c.asm_text += line + "\n";
    } else if (section == "raw") {
      std::istringstream ws(t);
      std::string w;
      while (ws >> w) raw.emplace_back(n, w);
    } else if (section == "mem") {
      std::istringstream ws(t);
      std::string b;
      while (ws >> b) {
        auto v = parse_u64(b, 16);
        if (!v || *v > 0xff)
          throw std::runtime_error(fmt::format("{}:{}: '{}' is not a hex byte", path, n, b));
        c.mem.push_back(uint8_t(*v));
      }
    } else if (section == "result") {
      std::istringstream ws(t);
      std::string w;
      if (ws >> w) {
        auto v = parse_u64(w, 16);
        if (!v)
          throw std::runtime_error(fmt::format("{}:{}: '{}' is not a hex result", path, n, w));
        c.result = *v;
      }
    } else if (section == "error") {
      if (!line.empty()) c.error = c.error ? *c.error + " " + line : line;
    }
  }
  if (!raw.empty()) {
    for (auto& [n, w] : raw) {
      auto v = parse_u64(w, 16);
      if (!v)
        throw std::runtime_error(fmt::format("{}:{}: '{}' is not an instruction word", path, n, w));
      c.insns.push_back(insn_from_u64(*v));
    }
  } else if (!c.asm_text.empty()) {
    try {
      c.insns = assemble_ubpf(c.asm_text);
    } catch (const AsmError& e) {
      // The assembler counts lines from the start of the asm section.
      throw std::runtime_error(
          fmt::format("{}: asm section at line {}: {}", path, asm_line + 1, e.what()));
    }
  } else {
    throw std::runtime_error(path + ": no program (neither -- raw nor -- asm)");
  }
  if (!c.result && !c.error) throw std::runtime_error(path + ": no -- result or -- error");
  return c;
}

}  // namespace bpf
