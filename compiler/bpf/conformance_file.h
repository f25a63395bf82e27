// The bpf_conformance suite's test file format (see ../shared/conformance/README.md):
// sections "-- asm", "-- raw", "-- mem", "-- result", "-- error".
#pragma once

#include "compiler/bpf/insn.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bpf {

struct ConformanceCase {
  std::string path;
  std::string asm_text;
  std::vector<Insn> insns;   // from "-- raw" when present, else assembled from "-- asm"
  std::vector<uint8_t> mem;  // input buffer; empty when the file has none
  std::optional<uint64_t> result;
  std::optional<std::string> error;
};

// Throws std::runtime_error("<path>:<line>: <reason>") on bad input.
ConformanceCase parse_conformance_file(const std::string& path);

}  // namespace bpf
