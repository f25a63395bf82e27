#include "compiler/bpf/program.h"

#include <bpf/libbpf.h>

#include <algorithm>

namespace bpf {

const LineInfo* Program::line_for(uint32_t i) const {
  auto it = std::upper_bound(lines.begin(), lines.end(), i,
                             [](uint32_t v, const LineInfo& l) { return v < l.insn; });
  if (it == lines.begin()) return nullptr;
  return &*std::prev(it);
}

std::string Program::place(uint32_t i) const {
  std::string s = "insn " + std::to_string(i);
  if (const LineInfo* li = line_for(i)) {
    std::string file = li->file.substr(li->file.rfind('/') + 1);  // npos + 1 == 0
    s += " (" + file + ":" + std::to_string(li->line) + ")";
  }
  return s;
}

int Object::find_map(const std::string& name) const {
  for (size_t i = 0; i < maps.size(); ++i)
    if (maps[i].name == name) return static_cast<int>(i);
  return -1;
}

int Object::find_program(const std::string& name) const {
  for (size_t i = 0; i < programs.size(); ++i)
    if (programs[i].name == name) return static_cast<int>(i);
  for (size_t i = 0; i < programs.size(); ++i)
    if (programs[i].section == name) return static_cast<int>(i);
  return -1;
}

const char* map_type_name(uint32_t type) {
  const char* n = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(type));
  return n ? n : "unknown";
}

const char* prog_type_name(uint32_t type) {
  const char* n = libbpf_bpf_prog_type_str(static_cast<enum bpf_prog_type>(type));
  return n ? n : "unknown";
}

}  // namespace bpf
