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
  std::vector<Section> sections;  // sections[0] is .text
  // Local before global; in each, absolute symbols in definition order, then
  // labels by section and address (definition order for equal addresses).
  std::vector<Symbol> symbols;
  uint64_t entry = 0;  // the value of _start, or 0

  const Section* find_section(std::string_view name) const;
  const Symbol* find_symbol(std::string_view name) const;
};

bool operator==(const Object::Section& a, const Object::Section& b);
bool operator==(const Object::Symbol& a, const Object::Symbol& b);
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
