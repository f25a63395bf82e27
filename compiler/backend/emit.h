// Emission of one compiled program's machine code into the image.
#pragma once

#include "compiler/backend/module.h"

#include <vector>

namespace npucc {

// Where each emitted word came from, for the -S listing.
struct ListingLine {
  uint64_t pc = 0;
  uint32_t bpf = UINT32_MAX;
  std::string note;
};

// Appends m's code to img's .text (at its end) with its relocations.
void emit_program(const Module& m, npu::Object& img, std::vector<ListingLine>* listing);

}  // namespace npucc
