// Assembler for the uBPF-style assembly that the bpf_conformance suite's
// test files carry (their "-- asm" sections).
#pragma once

#include "compiler/bpf/insn.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace bpf {

// what() is "line N: reason".
class AsmError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<Insn> assemble_ubpf(const std::string& text);

}  // namespace bpf
