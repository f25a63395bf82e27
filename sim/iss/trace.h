// A readable instruction trace: one line per retired instruction,
//   c0.t1 @     120  0012  add r1, r2, r3              r1=0x2a
// with faults marked "FAULT <cause>". The format is in docs/iss.md.
#pragma once

#include "sim/iss/core.h"

#include <cstdio>

namespace npu::iss {

class TextTracer : public Tracer {
 public:
  explicit TextTracer(std::FILE* out) : out_(out) {}
  void retired(const Retired& r) override;

 private:
  std::FILE* out_;
};

// The trace line for r, without the newline.
std::string trace_line(const Retired& r);

}  // namespace npu::iss
