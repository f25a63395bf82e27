// Speed of the NPU instruction-set simulator: simulated instructions per host
// second on one core, for
//   alu   a counted loop of ten ALU instructions, one thread;
//   mem   a loop of local-memory loads and stores and packet loads, one thread;
//   alu8  the ALU loop on eight threads of the core;
//   emem8 an EMEM load-and-use loop on eight threads (every iteration swaps).
// Each case is calibrated to run about --seconds (default 2) or 1e9
// instructions, whichever comes first. Prints one line per case:
//   iss: 250.0 Minsn/s (ALU loop, 1 thread)
// Options: --seconds S, --case NAME (one case), --quick (short runs, for
// valgrind --tool=callgrind). scripts/bench.sh runs it; docs/bench.md has figures.
#include "compiler/npu/isa.h"
#include "firmware/abi.h"
#include "sim/iss/machine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using npu::Csr;
using npu::Insn;
using npu::Op;
using npu::iss::Machine;
using npu::iss::MachineConfig;

class Code {
 public:
  size_t here() const { return w_.size(); }
  void add(Op op, unsigned width, unsigned a, unsigned b, unsigned c, int32_t imm, int16_t off) {
    Insn in;
    in.op = op;
    in.width = uint8_t(width);
    in.a = uint8_t(a), in.b = uint8_t(b), in.c = uint8_t(c);
    in.imm = imm;
    in.off = off;
    w_.push_back(npu::encode(in));
  }
  void rrr(Op op, unsigned a, unsigned b, unsigned c) { add(op, 0, a, b, c, 0, 0); }
  void rri(Op op, unsigned a, unsigned b, int32_t imm) { add(op, 0, a, b, 0, imm, 0); }
  void ai(Op op, unsigned a, int32_t imm) { add(op, 0, a, 0, 0, imm, 0); }
  void mem(Op op, unsigned w, unsigned a, unsigned b, int32_t imm) { add(op, w, a, b, 0, imm, 0); }
  void li64(unsigned a, uint64_t v) {
    ai(Op::LIW, a, int32_t(uint32_t(v)));
    ai(Op::LIH, a, int32_t(uint32_t(v >> 32)));
  }
  void csrw(Csr c, unsigned b) { add(Op::CSRW, 0, 0, b, 0, int32_t(c), 0); }
  void csrr(unsigned a, Csr c) { ai(Op::CSRR, a, int32_t(c)); }
  // Counts r7 down to 0, branching back to `top`.
  void loop_end(size_t top) {
    rri(Op::SUBI, 7, 7, 1);
    add(Op::BNEI, 0, 0, 7, 0, 0, int16_t(int64_t(top) - int64_t(here())));
  }
  void halt() { add(Op::HALT, 0, 0, 0, 0, 0, 0); }
  const std::vector<uint64_t>& words() const { return w_; }

 private:
  std::vector<uint64_t> w_;
};

// Ten ALU instructions per iteration, plus the count and the branch: 12.
Code alu_loop(uint32_t iters) {
  Code c;
  c.ai(Op::LI, 1, 1);
  c.ai(Op::LI, 2, 3);
  c.li64(7, iters);
  size_t top = c.here();
  c.rrr(Op::ADD, 3, 3, 1);
  c.rri(Op::XORI, 4, 3, 0x55);
  c.rrr(Op::SUB, 5, 4, 2);
  c.rri(Op::LSHI, 6, 5, 3);
  c.rrr(Op::OR, 8, 6, 1);
  c.rri(Op::ANDWI, 9, 8, 0xfff);
  c.rrr(Op::ADDW, 10, 9, 3);
  c.rri(Op::RSHI, 11, 10, 1);
  c.rrr(Op::XOR, 12, 11, 4);
  c.rri(Op::ADDI, 2, 12, 7);
  c.loop_end(top);
  c.halt();
  return c;
}
constexpr unsigned kAluPerIter = 12;

// Local memory (the thread's own slot) and packet loads: 12 per iteration.
Code mem_loop(uint32_t iters) {
  Code c;
  c.li64(1, NPU_PKT_BASE);
  c.csrw(Csr::PKT_LO, 1);
  c.li64(2, NPU_PKT_BASE + 2048);
  c.csrw(Csr::PKT_HI, 2);
  c.csrr(3, Csr::TID);
  c.rri(Op::LSHI, 3, 3, 10);  // the thread's LM slot: tid * NPU_LM_SLOT
  c.li64(7, iters);
  size_t top = c.here();
  c.mem(Op::LD, 8, 4, 3, 0);
  c.mem(Op::LDP, 4, 5, 1, 14);
  c.mem(Op::LDPB, 2, 6, 1, 12);
  c.rrr(Op::ADD, 4, 4, 5);
  c.mem(Op::ST, 8, 4, 3, 0);
  c.mem(Op::LD, 4, 8, 3, 8);
  c.rrr(Op::XOR, 8, 8, 6);
  c.mem(Op::ST, 4, 8, 3, 8);
  c.mem(Op::LDPB, 8, 9, 1, 26);
  c.rrr(Op::ADD, 10, 10, 9);
  c.loop_end(top);
  c.halt();
  return c;
}
constexpr unsigned kMemPerIter = 12;

// An EMEM load used at once: every iteration stalls and the core swaps.
Code emem_loop(uint32_t iters) {
  Code c;
  c.csrr(3, Csr::TID);
  c.rri(Op::LSHI, 3, 3, 6);
  c.li64(1, NPU_EMEM_BASE);
  c.rrr(Op::ADD, 1, 1, 3);
  c.li64(7, iters);
  size_t top = c.here();
  c.mem(Op::LD, 8, 4, 1, 0);
  c.rrr(Op::ADD, 5, 5, 4);
  c.rri(Op::ADDI, 4, 4, 1);
  c.mem(Op::ST, 8, 4, 1, 0);
  c.loop_end(top);
  c.halt();
  return c;
}
constexpr unsigned kEmemPerIter = 6;

struct Measured {
  uint64_t insns = 0, cycles = 0;
  double secs = 0;
};

Measured run_once(const Code& code, unsigned threads) {
  MachineConfig cfg;
  cfg.threads = threads;
  Machine m(cfg);
  m.load(code.words());
  m.boot(0);
  auto t0 = std::chrono::steady_clock::now();
  Machine::Stop s = m.run(uint64_t(1) << 62);
  auto t1 = std::chrono::steady_clock::now();
  Measured r;
  r.secs = std::chrono::duration<double>(t1 - t0).count();
  r.insns = m.core(0).instret();
  r.cycles = m.core(0).stats().busy + m.core(0).stats().idle;
  for (unsigned t = 0; t < threads; ++t)
    if (m.core(0).thread(t).state != npu::iss::ThreadState::kHalted || s != Machine::Stop::kIdle) {
      fmt::print(stderr, "iss_speed: thread {} did not halt (cause {})\n", t,
                 m.core(0).thread(t).cause);
      std::exit(1);
    }
  return r;
}

struct Case {
  const char* name;
  const char* what;
  Code (*make)(uint32_t);
  unsigned per_iter, threads;
};

const Case kCases[] = {
    {"alu", "ALU loop, 1 thread", alu_loop, kAluPerIter, 1},
    {"mem", "LM ld/st + ldp loop, 1 thread", mem_loop, kMemPerIter, 1},
    {"alu8", "ALU loop, 8 threads", alu_loop, kAluPerIter, 8},
    {"emem8", "EMEM load-use loop, 8 threads", emem_loop, kEmemPerIter, 8},
};

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--case" && i + 1 < argc) {
      only = argv[++i];
    } else {
      fmt::print(stderr, "usage: iss_speed [--seconds S] [--case alu|mem|alu8|emem8] [--quick]\n");
      return 2;
    }
  }
  const double max_insns = quick ? 2e6 : 1e9;
  for (const Case& c : kCases) {
    if (!only.empty() && only != c.name) continue;
    // Calibrate: double a short run until it takes 0.2 s, then size the measured one.
    uint32_t iters = uint32_t(std::max(1.0, 1e6 / c.per_iter / c.threads));
    Measured m;
    if (quick) {
      iters = uint32_t(max_insns / c.per_iter / c.threads);
      m = run_once(c.make(iters), c.threads);
    } else {
      for (;;) {
        m = run_once(c.make(iters), c.threads);
        if (m.secs >= 0.2 || double(m.insns) >= max_insns) break;
        iters *= 2;
      }
      double rate = double(m.insns) / std::max(m.secs, 1e-6);
      double want = std::min(max_insns, rate * seconds);
      if (want > double(m.insns)) {
        iters = uint32_t(std::min(4e9, std::max(1.0, want / c.per_iter / c.threads)));
        m = run_once(c.make(iters), c.threads);
      }
    }
    fmt::print("iss: {:.1f} Minsn/s ({}) [{} insns in {:.2f} s, {:.2f} insns/cycle]\n",
               double(m.insns) / m.secs / 1e6, c.what, m.insns, m.secs,
               double(m.insns) / double(std::max<uint64_t>(m.cycles, 1)));
  }
  return 0;
}
