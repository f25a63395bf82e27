#include "sim/iss/trace.h"

#include <fmt/format.h>

#include <string>

namespace npu::iss {

std::string trace_line(const Retired& r) {
  Insn in;
  std::string text =
      decode(r.word, &in) ? format_insn(in, r.pc) : fmt::format(".insn 0x{:016x}", r.word);
  std::string s =
      fmt::format("c{}.t{} @{:>8}  {:04x}  {:<32}", r.core, r.thread, r.cycle, r.pc, text);
  if (r.fault) {
    const char* cause = "?";
    for (const FaultInfo& f : faults())
      if (f.number == r.fault) cause = f.id;
    s += fmt::format("FAULT {}", cause);
  } else if (r.wreg >= 0) {
    s += fmt::format("r{}=0x{:x}", r.wreg, r.wval);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

void TextTracer::retired(const Retired& r) {
  std::string s = trace_line(r);
  std::fprintf(out_, "%s\n", s.c_str());
}

}  // namespace npu::iss
