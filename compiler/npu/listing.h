// Disassembly listing of an image: labels at their addresses, one line per
// instruction ("addr: word  text"), data as .byte lines. The text column is
// assembler input: without the address and word columns (addresses = false)
// the listing assembles back to the same image.
#pragma once

#include "compiler/npu/image.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace npu {

struct ListingOptions {
  bool addresses = true;  // the address and word (or data bytes) columns
  // Names map types in a program image's map table ("array"); nullptr: "type 2".
  const char* (*map_type_name)(uint32_t type) = nullptr;
};

// A program image (Object::is_program_image) starts with its features,
// programs and maps in comment lines, and each relocated instruction has its
// relocation in a comment; the text column stays assembler input.
std::string listing(const Image& img, const ListingOptions& opt = {});

// What a relocation puts into its instruction: "map_id counters",
// "map_value_lo .data+8", "helper xdp_adjust_head".
std::string reloc_text(const Image& img, const Object::Reloc& r);
// The comment lines listing prints for a program image, without "; ": its
// features, one line per program, one per map, and the relocation count.
std::vector<std::string> program_image_summary(const Image& img, const ListingOptions& opt = {});

// Instruction text with branch targets named by the image's code labels.
class Disassembler {
 public:
  explicit Disassembler(const Image& img);
  // "beq r1, 5, done", or ".insn 0x...  ; <why it does not decode>".
  std::string text(uint64_t word, uint64_t pc) const;
  // The code label at addr, or "" (global names preferred).
  std::string label_at(uint64_t addr) const;

 private:
  std::map<uint64_t, std::string> labels_;
};

}  // namespace npu
