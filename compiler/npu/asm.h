// The NPU assembler: text in the syntax of isa.def's operand strings, with
// labels, sections, data directives and 64-bit expressions, into an Object
// (sections of instruction words or bytes, and symbols) that image.h writes as
// the device's ELF image. docs/asm.md describes the language.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace npu {

// what() is one line: "file:line:col: error: reason" (or "file: reason" when a
// file cannot be read at all).
class AsmError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Assembled code and data: what an image holds.
struct Object {
  struct Section {
    std::string name;
    bool code = false;            // instruction words (.text, .text.*); otherwise bytes
    uint64_t base = 0;            // code: index of the first instruction; data: byte address
    std::vector<uint64_t> words;  // code
    std::vector<uint8_t> bytes;   // data
    uint64_t size() const { return code ? words.size() : bytes.size(); }
    uint64_t end() const { return base + size(); }
  };
  struct Symbol {
    std::string name;
    uint64_t value = 0;  // instruction index in a code section, byte address in a data section
    int section = -1;    // index into sections; -1: absolute (.equ, .set)
    bool global = false;
  };
  // What a compiled BPF object adds (docs/abi.md, "Image format"); the
  // assembler leaves these empty. Code is linked at NPU_PROG_TEXT_BASE.
  struct Program {
    std::string name;         // the BPF function name
    std::string section;      // its ELF section in the BPF object, e.g. "xdp"
    uint64_t entry = 0;       // instruction index of the entry point
    uint32_t stack_size = 0;  // bytes of BPF stack
    uint32_t bpf_insns = 0;   // BPF instructions it was compiled from
    uint32_t npu_insns = 0;   // NPU instructions emitted for it
  };
  struct Map {
    std::string name;
    uint32_t type = 0;  // enum bpf_map_type
    uint32_t key_size = 0, value_size = 0, max_entries = 0, flags = 0;
    int inner_map = -1;            // index of the inner map's template (map-in-map), or -1
    bool global_data = false;      // backs .data/.rodata/.bss: a one-entry array
    std::vector<uint8_t> initial;  // global data: value_size bytes, or empty (all zero)
  };
  // The values are firmware/abi.h's NPU_RELOC_*.
  enum class RelocKind : uint32_t { kMapId = 1, kMapValueLo = 2, kMapValueHi = 3, kHelper = 4 };
  // The IMM field of the instruction at `insn` gets a value known at load time.
  struct Reloc {
    uint64_t insn = 0;  // instruction index (code is linked where it runs)
    RelocKind kind = RelocKind::kMapId;
    uint32_t map = 0;    // kMapId, kMapValue*: index into maps
    std::string helper;  // kHelper: the firmware's helper_<helper>
    int64_t addend = 0;  // kMapValue*: byte offset in the value
  };

  std::vector<Section> sections;  // sections[0] is .text
  // Local before global; in each, absolute symbols in definition order, then
  // labels by section and address (definition order for equal addresses).
  std::vector<Symbol> symbols;
  uint64_t entry = 0;  // the value of _start, or 0

  std::vector<Program> programs;
  std::vector<Map> maps;
  std::vector<Reloc> relocs;  // by insn, at most one per instruction
  uint64_t features = 0;      // NPU_FEAT_* the code needs

  const Section* find_section(std::string_view name) const;
  const Symbol* find_symbol(std::string_view name) const;
  // True when the object carries any of the compiled-program parts above.
  bool is_program_image() const {
    return !programs.empty() || !maps.empty() || !relocs.empty() || features != 0;
  }
};

bool operator==(const Object::Section& a, const Object::Section& b);
bool operator==(const Object::Symbol& a, const Object::Symbol& b);
bool operator==(const Object::Program& a, const Object::Program& b);
bool operator==(const Object::Map& a, const Object::Map& b);
bool operator==(const Object::Reloc& a, const Object::Reloc& b);
bool operator==(const Object& a, const Object& b);
inline bool operator!=(const Object& a, const Object& b) {
  return !(a == b);
}

struct AsmOptions {
  // Base address of a section by name (code: instruction index; data: byte
  // address). Replaces the default; a .org before the section's first label
  // or data still wins.
  std::map<std::string, uint64_t> section_base;
  // Include directories for .S files (-I), searched before the repository
  // root, which is added unless repo_include is false.
  std::vector<std::string> include_dirs;
  bool repo_include = true;
  // The C preprocessor (a clang); empty: the clang CMake found (BPF_CLANG).
  std::string cpp;
};

// Default section bases: .text at instruction 0, .data at NPU_CLS_BASE +
// NPU_CLS_FW_DATA. Other sections without an address go after .text (code)
// or .data (data), .rodata first, each at the first free place aligned to its
// largest .align (data: at least 8).
constexpr uint64_t kDefaultTextBase = 0;
uint64_t default_data_base();

struct AsmSource {
  std::string text;
  std::string filename;  // for error messages; line markers ("# 12 \"x.S\"") override it
};

// Assembles one source.
Object assemble(const std::string& text, const std::string& filename, const AsmOptions& opt = {});
// Assembles several sources as one unit: one symbol table, sections
// continued from one source to the next; each source starts in .text.
Object assemble(const std::vector<AsmSource>& sources, const AsmOptions& opt = {});
// Reads the files (running those named *.S through the C preprocessor) and
// assembles them as one unit.
Object assemble_files(const std::vector<std::string>& paths, const AsmOptions& opt = {});

// The C preprocessor's output for a .S file, with line markers:
// <cpp> -E -undef -x assembler-with-cpp -D__ASSEMBLER__ -I<dirs> path.
// Throws AsmError with the preprocessor's first error line.
std::string preprocess(const std::string& path, const AsmOptions& opt = {});

}  // namespace npu
