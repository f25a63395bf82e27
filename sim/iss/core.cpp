// The ISS core: predecode, thread scheduling and the execute loop.
#include "sim/iss/core.h"

#include "sim/ref/bytes.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace npu::iss {
namespace {

using ref::load_le;
using ref::store_le;

template <typename U>
U div_u(U a, U b) {
  return b ? U(a / b) : U(0);
}
template <typename U>
U mod_u(U a, U b) {
  return b ? U(a % b) : a;
}
// BPF's signed division: by 0 gives 0, MIN / -1 wraps to MIN; the remainder by 0
// keeps the dividend and by -1 is 0.
template <typename U, typename S>
U div_s(U a, U b) {
  S x = S(a), y = S(b);
  if (y == 0) return 0;
  if (y == -1) return U(U(0) - a);
  return U(x / y);
}
template <typename U, typename S>
U mod_s(U a, U b) {
  S x = S(a), y = S(b);
  if (y == 0) return a;
  if (y == -1) return 0;
  return U(x % y);
}

uint64_t sext(uint64_t v, unsigned bytes) {
  unsigned sh = 64 - 8 * bytes;
  return uint64_t(int64_t(v << sh) >> sh);
}

uint64_t load_be(const uint8_t* p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}
void store_be(uint8_t* p, uint64_t v, unsigned n) {
  for (unsigned i = n; i-- > 0; v >>= 8) p[i] = uint8_t(v);
}

}  // namespace

Core::Core(unsigned id, unsigned ncores, unsigned nthreads, const Timing& timing, MemoryPort& mem,
           EnginePort& eng, QueuePort& queues)
    : id_(id),
      ncores_(ncores),
      timing_(timing),
      mem_(mem),
      eng_(eng),
      queues_(queues),
      threads_(nthreads) {
  load_code({});
}

void Core::load_code(const std::vector<uint64_t>& words) {
  code_.clear();
  code_.reserve(words.size() + 1);
  for (size_t pc = 0; pc < words.size(); ++pc) {
    Insn in;
    Slot s{};
    s.word = words[pc];
    if (!decode(words[pc], &in)) {
      s.op = kIllegal;
      s.cycles = 1;
      code_.push_back(s);
      continue;
    }
    const OpInfo& o = op_info(in.op);
    s.op = in.op;
    s.width = in.width;
    s.a = in.a, s.b = in.b, s.c = in.c, s.d = in.d, s.e = in.e;
    s.cycles = timing_.cycles[unsigned(in.op)];
    s.regs = regs_read(in) | regs_written(in);
    s.imm = in.imm;
    // OFF is a branch displacement in branches and a memory displacement in
    // store-immediates; other branches and jumps are relative by IMM.
    bool off = o.fields & (1u << unsigned(Field::OFF));
    if (o.flags & BR)
      s.target = pc + (off ? int64_t(in.off) : int64_t(in.imm));
    else if (off)
      s.target = uint64_t(int64_t(in.off));
    code_.push_back(s);
  }
  Slot end{};
  end.op = kIllegal;
  end.cycles = 1;
  end.word = ~uint64_t(0);  // undefined (opcode 0xff): how the trace shows a pc outside the store
  code_.push_back(end);
}

void Core::invalidate_dmi() {
  dmi_cache_.fill(Dmi{});
}

void Core::start(unsigned t, uint64_t pc) {
  cut_ = false;  // a re-boot does not continue the thread a limit cut off
  ran_ = false;  // the next instruction is fetched after a swap, whichever thread issues it
  Thread& th = threads_.at(t);
  stats_.ended_instret += th.stats.instret;
  stats_.ended_busy += th.stats.issue_cycles;
  for (uint64_t s : th.stats.stall_on) stats_.ended_busy += s;
  th = Thread{};
  th.pc = pc;
  th.state = ThreadState::kReady;
  th.wake = cycle_;
}

void Core::post(Thread& th, uint64_t done, Unit unit) {
  if (done > th.posted_until) th.posted_until = done, th.posted_unit = unit;
}

uint64_t Core::instret() const {
  uint64_t n = 0;
  for (const Thread& t : threads_) n += t.stats.instret;
  return n;
}

uint8_t* Core::access(uint64_t addr, unsigned size, bool write, uint64_t cycle, uint32_t* latency) {
  uint64_t end = addr + size;
  if (end < addr) return nullptr;
  const Dmi* hit = nullptr;
  for (const Dmi& d : dmi_cache_)
    if (d.host && addr >= d.lo && end <= d.hi) {
      hit = &d;
      break;
    }
  if (!hit) {
    Dmi d;
    if (!mem_.dmi(id_, addr, &d) || !d.host || end > d.hi || addr < d.lo) return nullptr;
    // Regions that can go away (map values, on mfree) are dropped by invalidate_dmi().
    hit = &(dmi_cache_[dmi_next_++ % dmi_cache_.size()] = d);
  }
  if (write && !hit->writable) return nullptr;
  *latency = hit->timer ? hit->timer->access(id_, addr, size, write, cycle) : hit->latency;
  return hit->host + (addr - hit->lo);
}

void Core::fault(Thread& th, unsigned t, uint64_t pc, Fault cause, uint64_t addr) {
  th.epc = pc;
  th.cause = uint64_t(cause);
  th.badaddr = addr;
  if (th.fvec) {
    th.pc = th.fvec;
  } else {
    th.pc = pc;
    th.state = ThreadState::kFaulted;
  }
}

bool Core::read_csr(const Thread& th, unsigned t, int64_t n, uint64_t* v) const {
  // Csr is 16 bits wide: a larger number must not alias a defined one.
  if (n < 0 || n > 0xffff) return false;
  switch (Csr(n)) {
    case Csr::TID:
      *v = t;
      return true;
    case Csr::CID:
      *v = id_;
      return true;
    case Csr::NTHREADS:
      *v = threads_.size();
      return true;
    case Csr::NCORES:
      *v = ncores_;
      return true;
    case Csr::CYCLE:
      *v = cycle_;
      return true;
    case Csr::INSTRET:
      *v = th.stats.instret;
      return true;
    case Csr::PKT_LO:
      *v = th.pkt_lo;
      return true;
    case Csr::PKT_HI:
      *v = th.pkt_hi;
      return true;
    case Csr::XVEC:
      *v = th.xvec;
      return true;
    case Csr::FVEC:
      *v = th.fvec;
      return true;
    case Csr::EPC:
      *v = th.epc;
      return true;
    case Csr::CAUSE:
      *v = th.cause;
      return true;
    case Csr::BADADDR:
      *v = th.badaddr;
      return true;
    case Csr::VERDICT:
      *v = th.verdict;
      return true;
    case Csr::SCRATCH0:
    case Csr::SCRATCH1:
    case Csr::SCRATCH2:
    case Csr::SCRATCH3:
      *v = th.scratch[n - int64_t(Csr::SCRATCH0)];
      return true;
  }
  return false;
}

bool Core::write_csr(Thread& th, int64_t n, uint64_t v) {
  if (n < 0 || n > 0xffff) return false;
  switch (Csr(n)) {
    case Csr::PKT_LO:
      th.pkt_lo = v;
      return true;
    case Csr::PKT_HI:
      th.pkt_hi = v;
      return true;
    case Csr::XVEC:
      th.xvec = v;
      return true;
    case Csr::FVEC:
      th.fvec = v;
      return true;
    case Csr::EPC:
      th.epc = v;
      return true;
    case Csr::CAUSE:
      th.cause = v;
      return true;
    case Csr::BADADDR:
      th.badaddr = v;
      return true;
    case Csr::VERDICT:
      th.verdict = v;
      return true;
    case Csr::SCRATCH0:
    case Csr::SCRATCH1:
    case Csr::SCRATCH2:
    case Csr::SCRATCH3:
      th.scratch[n - int64_t(Csr::SCRATCH0)] = v;
      return true;
    default:
      return false;
  }
}

bool Core::pick(uint64_t until, unsigned* out) {
  const unsigned n = unsigned(threads_.size());
  for (;;) {
    if (cycle_ >= until) return false;
    // Round robin, the thread that just ran last. After start() the scan
    // begins at current_ itself, and even that thread is charged a swap.
    for (unsigned k = ran_ ? 1 : 0; k < (ran_ ? n + 1 : n); ++k) {
      unsigned i = current_ + k;  // < 2n: one subtraction instead of a divide
      if (i >= n) i -= n;
      Thread& th = threads_[i];
      if (th.state == ThreadState::kQueue && queues_.ready(th.qmask)) {
        th.state = ThreadState::kReady;
        th.wake = cycle_;
      }
      if (th.state == ThreadState::kReady && th.wake <= cycle_) {
        if (!ran_ || i != current_) {
          ++stats_.swaps;
          stats_.swap_cycles += timing_.swap_cycles;
          cycle_ += timing_.swap_cycles;
        }
        current_ = i;
        ran_ = true;
        *out = i;
        return true;
      }
    }
    uint64_t next = std::numeric_limits<uint64_t>::max();
    for (const Thread& th : threads_)
      if (th.state == ThreadState::kReady) next = std::min(next, th.wake);
    if (next == std::numeric_limits<uint64_t>::max()) return false;
    uint64_t to = std::min(next, until);
    stats_.idle += to - cycle_;
    cycle_ = to;
  }
}

Core::Stop Core::run(uint64_t until) {
  for (;;) {
    unsigned t;
    // A thread cut off by the previous `until` goes on without a swap.
    Thread& cur = threads_[current_];
    if (cut_ && cur.state == ThreadState::kReady && cur.wake <= cycle_ && cycle_ < until) {
      t = current_;
    } else if (!pick(until, &t)) {
      if (cycle_ >= until) return Stop::kUntil;
      for (const Thread& th : threads_)
        if (th.state == ThreadState::kReady) return Stop::kUntil;
      return Stop::kIdle;
    }
    exec(t, until);
  }
}

void Core::exec(unsigned t, uint64_t until) {
  Thread& th = threads_[t];
  uint64_t* const r = th.r.data();
  const Slot* const code = code_.data();
  const uint64_t ncode = code_.size() - 1;
  uint64_t pc = th.pc;
  uint64_t cyc = cycle_;
  const uint64_t start = cycle_;
  uint64_t instret = 0;
  bool ended = false;  // stopped by the thread itself, not by `until`

  while (cyc < until) {
    const Slot& s = code[pc < ncode ? pc : ncode];
    if (th.pending & s.regs) {
      uint32_t m = th.pending & s.regs;
      uint64_t ready = 0;
      Unit why = Unit::CTRL;
      while (m) {
        unsigned i = unsigned(__builtin_ctz(m));
        m &= m - 1;
        if (th.ready_at[i] <= cyc) {
          th.pending &= ~(1u << i);
        } else if (th.ready_at[i] > ready) {
          ready = th.ready_at[i];
          why = th.producer[i];
        }
      }
      if (ready) {
        th.stats.stall_on[unsigned(why)] += ready - cyc;
        th.wake = ready;
        ended = true;
        break;
      }
    }
    uint64_t next = pc + 1;
    uint32_t cost = s.cycles;
    int wreg = -1;
    uint64_t v = 0;
    Fault flt = Fault::NONE;
    uint64_t fault_addr = 0;
    bool stop = false;

// Result into register a, usable `lat` cycles after issue.
#define ASYNC_WRITE(value, lat, unit) \
  do {                                \
    v = (value);                      \
    r[s.a] = v;                       \
    wreg = s.a;                       \
    if ((lat) > cost) {               \
      th.pending |= 1u << s.a;        \
      th.ready_at[s.a] = cyc + (lat); \
      th.producer[s.a] = (unit);      \
    }                                 \
  } while (0)
#define FAULT(cause, addr) \
  do {                     \
    flt = (cause);         \
    fault_addr = (addr);   \
    goto faulted;          \
  } while (0)
#define ALU(ID, E)                                       \
  case Op::ID: {                                         \
    uint64_t x = r[s.b], y = r[s.c];                     \
    v = (E);                                             \
    goto write;                                          \
  }                                                      \
  case Op::ID##I: {                                      \
    uint64_t x = r[s.b], y = uint64_t(s.imm);            \
    v = (E);                                             \
    goto write;                                          \
  }                                                      \
  case Op::ID##W: {                                      \
    uint32_t x = uint32_t(r[s.b]), y = uint32_t(r[s.c]); \
    v = uint32_t(E);                                     \
    goto write;                                          \
  }                                                      \
  case Op::ID##WI: {                                     \
    uint32_t x = uint32_t(r[s.b]), y = uint32_t(s.imm);  \
    v = uint32_t(E);                                     \
    goto write;                                          \
  }
#define BRANCH(ID, E)                                    \
  case Op::ID: {                                         \
    uint64_t x = r[s.b], y = r[s.c];                     \
    if (E) goto taken;                                   \
    goto done;                                           \
  }                                                      \
  case Op::ID##I: {                                      \
    uint64_t x = r[s.b], y = uint64_t(s.imm);            \
    if (E) goto taken;                                   \
    goto done;                                           \
  }                                                      \
  case Op::ID##W: {                                      \
    uint32_t x = uint32_t(r[s.b]), y = uint32_t(r[s.c]); \
    if (E) goto taken;                                   \
    goto done;                                           \
  }                                                      \
  case Op::ID##WI: {                                     \
    uint32_t x = uint32_t(r[s.b]), y = uint32_t(s.imm);  \
    if (E) goto taken;                                   \
    goto done;                                           \
  }

    switch (s.op) {
      ALU(ADD, x + y)
      ALU(SUB, x - y)
      ALU(MUL, x * y)
      ALU(OR, x | y)
      ALU(AND, x & y)
      ALU(XOR, x ^ y)
      ALU(LSH, x << (y & (sizeof(x) * 8 - 1)))
      ALU(RSH, x >> (y & (sizeof(x) * 8 - 1)))
      ALU(ARSH, std::make_signed_t<decltype(x)>(x) >> (y & (sizeof(x) * 8 - 1)))
      ALU(DIV, div_u(x, decltype(x)(y)))
      ALU(MOD, mod_u(x, decltype(x)(y)))
      ALU(SDIV, (div_s<decltype(x), std::make_signed_t<decltype(x)>>(x, decltype(x)(y))))
      ALU(SMOD, (mod_s<decltype(x), std::make_signed_t<decltype(x)>>(x, decltype(x)(y))))
      BRANCH(BEQ, x == y)
      BRANCH(BNE, x != y)
      BRANCH(BGT, x > y)
      BRANCH(BGE, x >= y)
      BRANCH(BLT, x < y)
      BRANCH(BLE, x <= y)
      BRANCH(BSGT, std::make_signed_t<decltype(x)>(x) > std::make_signed_t<decltype(x)>(y))
      BRANCH(BSGE, std::make_signed_t<decltype(x)>(x) >= std::make_signed_t<decltype(x)>(y))
      BRANCH(BSLT, std::make_signed_t<decltype(x)>(x) < std::make_signed_t<decltype(x)>(y))
      BRANCH(BSLE, std::make_signed_t<decltype(x)>(x) <= std::make_signed_t<decltype(x)>(y))
      BRANCH(BSET, (x & y) != 0)

      case Op::MOV:
        v = r[s.b];
        goto write;
      case Op::NEG:
        v = 0 - r[s.b];
        goto write;
      case Op::LI:
        v = uint64_t(s.imm);
        goto write;
      case Op::LIH:
        v = (r[s.a] & 0xffffffffu) | (uint64_t(uint32_t(s.imm)) << 32);
        goto write;
      case Op::MOVW:
        v = uint32_t(r[s.b]);
        goto write;
      case Op::NEGW:
        v = uint32_t(0u - uint32_t(r[s.b]));
        goto write;
      case Op::LIW:
        v = uint32_t(s.imm);
        goto write;
      case Op::SEXT8:
        v = sext(r[s.b], 1);
        goto write;
      case Op::SEXT16:
        v = sext(r[s.b], 2);
        goto write;
      case Op::SEXT32:
        v = sext(r[s.b], 4);
        goto write;
      case Op::SEXT8W:
        v = uint32_t(sext(r[s.b], 1));
        goto write;
      case Op::SEXT16W:
        v = uint32_t(sext(r[s.b], 2));
        goto write;
      case Op::BSWAP16:
        v = __builtin_bswap16(uint16_t(r[s.b]));
        goto write;
      case Op::BSWAP32:
        v = __builtin_bswap32(uint32_t(r[s.b]));
        goto write;
      case Op::BSWAP64:
        v = __builtin_bswap64(r[s.b]);
        goto write;

      case Op::NOP:
        goto done;
      case Op::HALT:
        th.state = ThreadState::kHalted;
        stop = true;
        goto done;
      case Op::YIELD:
        stop = true;
        goto done;
      case Op::WAIT: {
        // The stall is charged to the unit that finishes last.
        uint64_t until_done = th.posted_until;
        Unit why = th.posted_unit;
        for (uint32_t m = th.pending; m; m &= m - 1) {
          unsigned i = unsigned(__builtin_ctz(m));
          if (th.ready_at[i] > until_done) until_done = th.ready_at[i], why = th.producer[i];
        }
        if (until_done > cyc + cost) {
          th.stats.stall_on[unsigned(why)] += until_done - cyc - cost;
          th.wake = until_done;
          th.pending = 0;
          stop = true;
        }
        goto done;
      }
      case Op::EXIT:
        th.verdict = uint64_t(s.imm);
        next = th.xvec;
        goto jump;
      case Op::EXITR:
        th.verdict = r[s.b];
        next = th.xvec;
        goto jump;
      case Op::JMP:
        goto taken;
      case Op::JAL:
        v = pc + 1;
        r[s.a] = v;
        wreg = s.a;
        goto taken;
      case Op::JALR:
        next = r[s.b];
        v = pc + 1;
        r[s.a] = v;
        wreg = s.a;
        goto jump;
      case Op::JR:
        next = r[s.b];
        goto jump;
      case Op::CSRR: {
        cycle_ = cyc;
        th.stats.instret += instret;  // instret counts this run's instructions so far
        instret = 0;
        if (!read_csr(th, t, s.imm, &v)) FAULT(Fault::CSR, uint64_t(s.imm));
        goto write;
      }
      case Op::CSRW:
        if (!write_csr(th, s.imm, r[s.b])) FAULT(Fault::CSR, uint64_t(s.imm));
        goto done;
      case Op::QGET: {
        uint64_t e;
        if (!queues_.pop(uint32_t(s.imm), &e, cyc)) {
          th.state = ThreadState::kQueue;
          th.qmask = uint32_t(s.imm);
          th.pc = pc;
          cut_ = false;
          goto out;  // not issued: runs again when an entry arrives
        }
        ASYNC_WRITE(e, timing_.queue, Unit::QUEUE);
        goto done;
      }
      case Op::QPUT:
        queues_.push(uint32_t(s.imm), r[s.b], cyc);
        goto done;

      case Op::LD:
      case Op::LDS: {
        uint64_t addr = r[s.b] + uint64_t(s.imm);
        uint32_t lat;
        const uint8_t* p = access(addr, s.width, false, cyc, &lat);
        if (!p) FAULT(Fault::MEM, addr);
        uint64_t x = load_le(p, s.width);
        ASYNC_WRITE(s.op == Op::LDS ? sext(x, s.width) : x, lat, Unit::MEM);
        goto done;
      }
      case Op::ST:
      case Op::STI: {
        uint64_t addr = r[s.b] + (s.op == Op::ST ? uint64_t(s.imm) : s.target);
        uint32_t lat;
        uint8_t* p = access(addr, s.width, true, cyc, &lat);
        if (!p) FAULT(Fault::MEM, addr);
        store_le(p, s.op == Op::ST ? r[s.a] : uint64_t(s.imm), s.width);
        post(th, cyc + lat, Unit::MEM);
        goto done;
      }
      case Op::LDP:
      case Op::LDPB: {
        uint64_t addr = r[s.b] + uint64_t(s.imm);
        uint64_t end = addr + s.width;
        if (addr < th.pkt_lo || end > th.pkt_hi || end < addr) FAULT(Fault::PKT_BOUNDS, addr);
        uint32_t lat;
        const uint8_t* p = access(addr, s.width, false, cyc, &lat);
        if (!p) FAULT(Fault::MEM, addr);
        ASYNC_WRITE(s.op == Op::LDP ? load_le(p, s.width) : load_be(p, s.width), lat, Unit::PKT);
        goto done;
      }
      case Op::STP:
      case Op::STPB:
      case Op::STPI: {
        uint64_t addr = r[s.b] + (s.op == Op::STPI ? s.target : uint64_t(s.imm));
        uint64_t end = addr + s.width;
        if (addr < th.pkt_lo || end > th.pkt_hi || end < addr) FAULT(Fault::PKT_BOUNDS, addr);
        uint32_t lat;
        uint8_t* p = access(addr, s.width, true, cyc, &lat);
        if (!p) FAULT(Fault::MEM, addr);
        if (s.op == Op::STPB)
          store_be(p, r[s.a], s.width);
        else
          store_le(p, s.op == Op::STP ? r[s.a] : uint64_t(s.imm), s.width);
        post(th, cyc + lat, Unit::PKT);
        goto done;
      }

      case Op::AADD:
      case Op::AOR:
      case Op::AAND:
      case Op::AXOR:
      case Op::AFADD:
      case Op::AFOR:
      case Op::AFAND:
      case Op::AFXOR:
      case Op::AXCHG:
      case Op::ACMPXCHG:
      case Op::MLOOKUP:
      case Op::MUPDATE:
      case Op::MDELETE:
      case Op::MPEEK:
      case Op::MSYSLOOKUP:
      case Op::MSYSUPDATE:
      case Op::MSYSDELETE:
      case Op::MNEXTKEY:
      case Op::MALLOC:
      case Op::MFREE:
      case Op::CSUM:
      case Op::HASH:
      case Op::RAND:
      case Op::TIME: {
        const OpInfo& o = op_info(s.op);
        Command cmd{s.op,   s.width, id_,    t,     cyc, r[s.b] + uint64_t(s.imm),
                    r[s.b], r[s.c],  r[s.d], r[s.e]};
        Completion c = eng_.command(cmd);
        if (c.fault) FAULT(Fault::MEM, c.fault_addr);
        if (o.flags & WA)
          ASYNC_WRITE(c.value, c.latency, o.unit);
        else
          post(th, cyc + c.latency, o.unit);
        goto done;
      }
      default:
        FAULT(Fault::ILLEGAL, pc);
    }
#undef ALU
#undef BRANCH
#undef ASYNC_WRITE
#undef FAULT

  write:
    r[s.a] = v;
    wreg = s.a;
    goto done;
  taken:
    next = s.target;
  jump:
    // A destination outside the code store faults when it is fetched (the illegal slot).
    cost += timing_.branch_taken_cycles;
  done:
    if (tracer_) tracer_->retired({id_, t, cyc, pc, s.word, wreg, v, 0});
    cyc += cost;
    ++instret;
    pc = next;
    if (stop || th.state != ThreadState::kReady) {
      th.wake = std::max(th.wake, cyc);
      ended = true;
      break;
    }
    continue;

  faulted:
    if (tracer_) tracer_->retired({id_, t, cyc, pc, s.word, -1, 0, uint8_t(flt)});
    // A trap to fvec redirects the fetch, as a taken branch does.
    cyc += cost + (th.fvec ? timing_.branch_taken_cycles : 0);
    fault(th, t, pc, flt, fault_addr);
    pc = th.pc;
    if (th.state != ThreadState::kReady) {
      ended = true;
      break;
    }
  }
  th.pc = pc;
  th.wake = std::max(th.wake, cyc);
  cut_ = !ended;
out:
  th.stats.instret += instret;
  th.stats.issue_cycles += cyc - start;  // every cycle of this run issued something
  stats_.busy += cyc - start;
  cycle_ = cyc;
}

}  // namespace npu::iss
