// One NPU core of the instruction-set simulator: T hardware threads sharing a
// pipeline, a code store of predecoded instructions, and the three ports.
//
// Timing model: a thread issues in order, one instruction per its cycle count,
// until it needs a register whose value is still in flight (a load, an engine
// result, a queue entry), executes `wait`, `yield`, or sleeps on an empty
// queue; then the core swaps to the next ready thread, round robin, as the NFP
// microengines do. Results are computed when the instruction issues, so
// functional behaviour never depends on the timing. docs/iss.md has details.
#pragma once

#include "compiler/npu/isa.h"
#include "sim/iss/ports.h"
#include "sim/iss/timing.h"

#include <array>
#include <cstdint>
#include <vector>

namespace npu::iss {

// One retired (or faulted) instruction, for the trace hook.
struct Retired {
  unsigned core, thread;
  uint64_t cycle;  // issue cycle
  uint64_t pc, word;
  int wreg;  // register written, or -1
  uint64_t wval;
  uint8_t fault;  // NPU_FAULT cause when the instruction faulted instead (then wreg = -1)
};

class Tracer {
 public:
  virtual ~Tracer() = default;
  virtual void retired(const Retired& r) = 0;
};

enum class ThreadState : uint8_t {
  kReady,    // runnable from `wake` on
  kQueue,    // sleeping in qget until a queue in qmask has an entry
  kHalted,   // halt, or never started
  kFaulted,  // faulted with fvec == 0
};

struct ThreadStats {
  uint64_t instret = 0;
  uint64_t issue_cycles = 0;                              // cycles spent issuing
  std::array<uint64_t, size_t(Unit::kCount)> stall_on{};  // waiting for a result, by producer unit
};

struct Thread {
  std::array<uint64_t, kNumRegs> r{};
  uint64_t pc = 0;
  ThreadState state = ThreadState::kHalted;
  uint64_t wake = 0;   // cycle from which a ready thread may issue
  uint32_t qmask = 0;  // kQueue: the queues it waits on
  // Scoreboard: registers whose value is still in flight, when each arrives and
  // which unit produces it; and when the last posted store/atomic completes.
  uint32_t pending = 0;
  std::array<uint64_t, kNumRegs> ready_at{};
  std::array<Unit, kNumRegs> producer{};
  uint64_t posted_until = 0;
  Unit posted_unit = Unit::MEM;  // which unit posted_until waits for
  // Control and status registers (isa.def's NPU_CSR list).
  uint64_t pkt_lo = 0, pkt_hi = 0, xvec = 0, fvec = 0, epc = 0, cause = 0, badaddr = 0, verdict = 0;
  std::array<uint64_t, 4> scratch{};
  ThreadStats stats;
};

struct CoreStats {
  uint64_t busy = 0;   // cycles some thread issued
  uint64_t idle = 0;   // cycles no thread could issue
  uint64_t swaps = 0;  // thread switches
  uint64_t swap_cycles = 0;
  // What restarted threads had counted (start() clears a thread's own), so
  // that the core's counters only grow.
  uint64_t ended_instret = 0, ended_busy = 0;
};

class Core {
 public:
  Core(unsigned id, unsigned ncores, unsigned nthreads, const Timing& timing, MemoryPort& mem,
       EnginePort& eng, QueuePort& queues);

  // Replaces the code store with words at instruction addresses [0, n). Words
  // that do not decode fault (NPU_FAULT ILLEGAL) when executed, as does a pc
  // outside the store.
  void load_code(const std::vector<uint64_t>& words);
  size_t code_size() const { return code_.size() - 1; }

  // Makes thread t runnable at pc, registers and CSRs cleared. The core's next
  // instruction, whichever thread issues it, is charged a swap.
  void start(unsigned t, uint64_t pc);

  enum class Stop { kUntil, kIdle };
  // Runs until the core's cycle reaches `until` (kUntil) or no thread can ever
  // issue again without a queue entry from outside (kIdle: every thread halted,
  // faulted or asleep on an empty queue). Deterministic.
  Stop run(uint64_t until);

  // Forgets the memory regions the core has cached (TLM's
  // invalidate_direct_mem_ptr): the device calls it when a region goes away.
  void invalidate_dmi();

  uint64_t cycle() const { return cycle_; }
  // Moves an idle core's clock forward to c (counted as idle).
  void advance(uint64_t c) {
    if (c > cycle_) stats_.idle += c - cycle_, cycle_ = c;
  }
  unsigned id() const { return id_; }
  // The thread issuing now (during run: the one whose instruction reaches a port).
  unsigned current() const { return current_; }
  unsigned nthreads() const { return unsigned(threads_.size()); }
  Thread& thread(unsigned t) { return threads_.at(t); }
  const Thread& thread(unsigned t) const { return threads_.at(t); }
  const CoreStats& stats() const { return stats_; }
  // Thread t's CSR n as csrr and csrw reach it: false for an undefined CSR
  // (and, writing, a read-only one). CYCLE reads the core's clock.
  bool csr(unsigned t, Csr n, uint64_t* v) const {
    return read_csr(threads_.at(t), t, int64_t(n), v);
  }
  bool set_csr(unsigned t, Csr n, uint64_t v) { return write_csr(threads_.at(t), int64_t(n), v); }
  uint64_t instret() const;
  void set_tracer(Tracer* t) { tracer_ = t; }

 private:
  // A predecoded instruction: what the execute loop reads.
  struct Slot {
    Op op;
    uint8_t width, a, b, c, d, e;
    uint8_t cycles;
    uint32_t regs;    // registers read or written: checked against the scoreboard
    int64_t imm;      // sign-extended
    uint64_t target;  // branches and jumps: destination; store-immediates: displacement
    uint64_t word;
  };
  static constexpr Op kIllegal = Op::kCount;

  // Runs thread t from cycle_ until it stops issuing or cycle_ reaches until.
  void exec(unsigned t, uint64_t until);
  bool pick(uint64_t until, unsigned* t);
  void fault(Thread& th, unsigned t, uint64_t pc, Fault cause, uint64_t addr);
  // A posted store or command of th completes at cycle `done` in `unit`.
  static void post(Thread& th, uint64_t done, Unit unit);
  uint8_t* access(uint64_t addr, unsigned size, bool write, uint64_t cycle, uint32_t* latency);
  bool read_csr(const Thread& th, unsigned t, int64_t n, uint64_t* v) const;
  bool write_csr(Thread& th, int64_t n, uint64_t v);

  unsigned id_, ncores_;
  const Timing& timing_;
  MemoryPort& mem_;
  EnginePort& eng_;
  QueuePort& queues_;
  std::vector<Slot> code_;  // plus one illegal slot at the end
  std::vector<Thread> threads_;
  std::array<Dmi, 4> dmi_cache_{};  // recently used regions
  unsigned dmi_next_ = 0;
  uint64_t cycle_ = 0;
  unsigned current_ = 0;
  bool cut_ = false;  // current_ was stopped by `until` and goes on without a swap
  // Some thread has issued since the last start(); if not, the next one pays a swap.
  bool ran_ = false;
  CoreStats stats_;
  Tracer* tracer_ = nullptr;
};

}  // namespace npu::iss
