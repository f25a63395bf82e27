// What the front end hands every later stage: the maps and the linked,
// relocated programs of one BPF ELF object, independent of any kernel.
//
// Conventions in linked instruction streams (they mirror the kernel's fd
// convention, with an index into Object::maps in place of an fd):
//   lddw dst, map      src_reg = BPF_PSEUDO_MAP_FD,    imm = map index
//   lddw dst, map+off  src_reg = BPF_PSEUDO_MAP_VALUE, imm = map index, next imm = off
//   lddw dst, func     src_reg = BPF_PSEUDO_FUNC,      imm = pc-relative insn offset
//   call func          src_reg = BPF_PSEUDO_CALL,      imm = pc-relative insn offset
// Subprograms used by a program are appended after it, as libbpf does.
#pragma once

#include "compiler/bpf/insn.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bpf {

// A load or validation failure; what() is one line: "<file>: <reason>".
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MapDef {
  std::string name;   // BTF/legacy map name, or ".data"/".rodata"/".bss"/...
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;
  uint64_t extra = 0;            // map_extra (bloom filter hashes etc.)
  bool global_data = false;      // backs a .data/.rodata/.bss section
  std::vector<uint8_t> initial;  // initial value of a global-data map
  int inner_map = -1;            // index of the inner map template (map-in-map), or -1
};

struct LineInfo {
  uint32_t insn = 0;  // index into Program::insns
  std::string file;
  std::string source;  // the source line's text, if BTF carries it
  uint32_t line = 0;
  uint32_t col = 0;
};

struct Program {
  std::string name;     // function symbol
  std::string section;  // ELF section, e.g. "xdp" or "tc"
  uint32_t type = 0;    // enum bpf_prog_type guessed from the section, like libbpf
  std::vector<Insn> insns;
  std::vector<LineInfo> lines;        // sorted by insn
  std::vector<uint32_t> func_starts;  // insn index of each function: [0] is the entry
  std::vector<std::string> func_names;

  // Line info that covers insn index i (the last record at or before it), or nullptr.
  const LineInfo* line_for(uint32_t i) const;
  // "insn N (file.c:LINE)", or "insn N" without line info: the place in
  // one-line messages about instruction i.
  std::string place(uint32_t i) const;
};

struct Object {
  std::string path;
  std::string license;
  std::vector<MapDef> maps;
  std::vector<Program> programs;

  int find_map(const std::string& name) const;
  int find_program(const std::string& name) const;  // by function or section name
};

// Loads and links a BPF ELF object. Throws LoadError on any bad input.
Object load_object(const std::string& path);

// "r0 = *(u32 *)(r1 + 4)" style text of insn i (the kernel/llvm-objdump syntax).
// Map references are printed by name when obj is given.
std::string disasm(const std::vector<Insn>& insns, size_t i, const Object* obj = nullptr);

// "+=" for BPF_ADD, "s>>=" for BPF_ARSH, ...: the disassembly's spelling of an
// ALU operation; nullptr for BPF_NEG, BPF_END and undefined ones.
const char* alu_op_symbol(uint8_t op);

const char* map_type_name(uint32_t type);
const char* prog_type_name(uint32_t type);

}  // namespace bpf
