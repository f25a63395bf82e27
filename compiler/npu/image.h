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

// An image holds exactly what the assembler produces.
using Image = Object;

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
