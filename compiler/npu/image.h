// The NPU microcode image (firmware/abi.h): ELF64, little-endian, ET_EXEC,
// e_machine EM_NPU. .text holds instruction words (8 bytes little-endian each,
// sh_addr = index of the first instruction * 8); other allocated sections
// hold bytes at their device address (sh_addr). .symtab carries every label:
// value = instruction index in code sections, byte address elsewhere.
#pragma once

#include "compiler/npu/asm.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace npu {

// what() is one line: "path: reason".
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An image holds what the assembler produces, and what the compiler adds for
// a BPF object: programs, maps and relocations (Object's compiled-program
// parts, in the non-allocated sections .npu.meta, .npu.maps, .npu.mapinit,
// .npu.rel and .npu.strtab; docs/abi.md, "Image format").
using Image = Object;

// Checks the compiled-program parts of img against each other and against its
// code, as a device relies on them: unique non-empty names, entry points and
// relocated instructions in code sections, relocations sorted by instruction
// with an operand that takes their value, map indexes in range, global data
// in one-entry arrays. Throws ImageError "name: reason"; assembler images
// (no such parts) always pass. write_image and read_image call it.
void check_image(const Image& img, const std::string& name);

// "map_id", "map_value_lo", "map_value_hi", "helper".
const char* reloc_kind_name(Object::RelocKind kind);
// The names of NPU_FEAT_* bits, lowest first: "tail_call", "maps"; unknown
// bits as "bit N".
std::vector<std::string> feature_names(uint64_t features);
// A relocated instruction: word (at instruction index insn) with its IMM
// field set to value, or to value - insn where IMM is a jump target (%j).
// value is what the relocation stands for: a map id, half of an address, a
// helper's instruction index. Throws ImageError when word does not decode or
// has no IMM operand.
uint64_t patch_imm(uint64_t word, uint64_t insn, uint64_t value);
// The code section holding instruction index insn, or nullptr.
const Object::Section* code_section_at(const Image& img, uint64_t insn);

// Writes obj as an image file. Code sections get SHF_ALLOC|SHF_EXECINSTR,
// .rodata* SHF_ALLOC, other data SHF_ALLOC|SHF_WRITE; symbols in code
// sections are STT_FUNC when global, data symbols STT_OBJECT when global,
// the rest STT_NOTYPE; .equ symbols are SHN_ABS. e_entry = obj.entry.
void write_image(const Object& obj, const std::string& path);
// The image file's bytes (what write_image writes).
std::vector<uint8_t> image_bytes(const Object& obj);

// Reads an image; throws ImageError on anything malformed.
Image read_image(const std::string& path);
// Parses image bytes; name is used in error messages.
Image parse_image(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace npu
