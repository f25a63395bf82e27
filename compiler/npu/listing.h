// Disassembly listing of an image: labels at their addresses, one line per
// instruction ("addr: word  text"), data as .byte lines. The text column is
// assembler input: without the address and word columns (addresses = false)
// the listing assembles back to the same image.
#pragma once

#include "compiler/npu/image.h"

#include <cstdint>
#include <map>
#include <string>

namespace npu {

struct ListingOptions {
  bool addresses = true;  // the address and word (or data bytes) columns
};

std::string listing(const Image& img, const ListingOptions& opt = {});

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
