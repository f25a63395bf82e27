// Execution core of the reference interpreter: decode and execute one BPF
// instruction at a time, with every memory access checked.
#include "sim/ref/bytes.h"
#include "sim/ref/vm_exec.h"

#include <fmt/format.h>

#include <climits>
#include <cstring>

namespace ref {
namespace {

uint64_t bswap(uint64_t v, int bits) {
  switch (bits) {
    case 16:
      return __builtin_bswap16(static_cast<uint16_t>(v));
    case 32:
      return __builtin_bswap32(static_cast<uint32_t>(v));
    default:
      return __builtin_bswap64(v);
  }
}

uint64_t truncate(uint64_t v, int bits) {
  return bits >= 64 ? v : v & ((uint64_t(1) << bits) - 1);
}

int64_t sext(uint64_t v, int bits) {
  return bits >= 64 ? static_cast<int64_t>(v)
                    : static_cast<int64_t>(v << (64 - bits)) >> (64 - bits);
}

// ALU operation on 64- or 32-bit operands; the 32-bit result is zero-extended by the caller.
template <typename U, typename S>
bool alu_op(uint8_t op, int16_t off, U& d, U s) {
  constexpr unsigned kBits = sizeof(U) * 8;
  switch (op) {
    case BPF_ADD:
      d = U(d + s);
      return true;
    case BPF_SUB:
      d = U(d - s);
      return true;
    case BPF_MUL:
      d = U(d * s);
      return true;
    case BPF_DIV:
      if (off == 1) {
        S a = S(d), b = S(s);
        if (b == 0)
          d = 0;
        else if (b == -1)
          d = U(U(0) - U(a));  // INT_MIN / -1 wraps to INT_MIN
        else
          d = U(a / b);
      } else {
        d = s ? U(d / s) : 0;
      }
      return true;
    case BPF_MOD:
      if (off == 1) {
        S a = S(d), b = S(s);
        if (b == 0) {
        } else if (b == -1)
          d = 0;
        else
          d = U(a % b);
      } else if (s) {
        d = U(d % s);
      }
      return true;
    case BPF_OR:
      d |= s;
      return true;
    case BPF_AND:
      d &= s;
      return true;
    case BPF_XOR:
      d ^= s;
      return true;
    case BPF_LSH:
      d = U(d << (s & (kBits - 1)));
      return true;
    case BPF_RSH:
      d = U(d >> (s & (kBits - 1)));
      return true;
    case BPF_ARSH:
      d = U(S(d) >> (s & (kBits - 1)));
      return true;
    case BPF_MOV:
      d = s;
      return true;
    case BPF_NEG:
      d = U(U(0) - d);
      return true;
    default:
      return false;
  }
}

template <typename U, typename S>
bool jmp_cond(uint8_t op, U a, U b, bool& taken) {
  switch (op) {
    case BPF_JEQ:
      taken = a == b;
      return true;
    case BPF_JNE:
      taken = a != b;
      return true;
    case BPF_JGT:
      taken = a > b;
      return true;
    case BPF_JGE:
      taken = a >= b;
      return true;
    case BPF_JLT:
      taken = a < b;
      return true;
    case BPF_JLE:
      taken = a <= b;
      return true;
    case BPF_JSET:
      taken = (a & b) != 0;
      return true;
    case BPF_JSGT:
      taken = S(a) > S(b);
      return true;
    case BPF_JSGE:
      taken = S(a) >= S(b);
      return true;
    case BPF_JSLT:
      taken = S(a) < S(b);
      return true;
    case BPF_JSLE:
      taken = S(a) <= S(b);
      return true;
    default:
      return false;
  }
}

}  // namespace

uint8_t* Exec::access(uint64_t addr, uint64_t size, bool write) {
  auto in = [&](const uint8_t* lo, const uint8_t* hi) {
    uintptr_t a = addr, l = reinterpret_cast<uintptr_t>(lo), h = reinterpret_cast<uintptr_t>(hi);
    return a >= l && a <= h && size <= h - a;
  };
  if (in(stack, stack + sizeof stack)) return reinterpret_cast<uint8_t*>(addr);
  if (pkt_meta && in(pkt_meta, pkt_end)) return reinterpret_cast<uint8_t*>(addr);
  for (const Region& r : regions) {
    if (!in(r.base, r.base + r.size)) continue;
    if (write && !r.writable) {
      fault(fmt::format("store of {} bytes to read-only memory at 0x{:x}", size, addr));
      return nullptr;
    }
    return reinterpret_cast<uint8_t*>(addr);
  }
  fault(fmt::format("{} of {} bytes at 0x{:x} is outside the stack, packet and maps",
                    write ? "store" : "load", size, addr));
  return nullptr;
}

void Exec::fault(const std::string& why) {
  done = true;
  if (!error.empty()) return;
  error = fmt::format("insn {}: {}", pc, why);
  if (code && pc < code->size()) error += fmt::format(" ({})", bpf::disasm(*code, pc, obj));
}

bool Exec::ctx_load(uint64_t addr, unsigned size, uint64_t& out) {
  uint64_t off = addr - reinterpret_cast<uintptr_t>(ctx);
  // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
  if (off % 4 || size != 4 || off >= 24) {
    fault(fmt::format("bad xdp_md access: offset {} size {}", off, size));
    return false;
  }
  switch (off / 4) {
    case 0:
      out = reinterpret_cast<uintptr_t>(pkt_data);
      break;
    case 1:
      out = reinterpret_cast<uintptr_t>(pkt_end);
      break;
    case 2:
      out = reinterpret_cast<uintptr_t>(pkt_meta);
      break;
    case 3:
      out = ingress_ifindex;
      break;
    case 4:
      out = rx_queue_index;
      break;
    default:
      out = 0;
      break;  // egress_ifindex: only devmap programs see one
  }
  return true;
}

bool Exec::is_ctx(uint64_t addr) const {
  uintptr_t c = reinterpret_cast<uintptr_t>(ctx);
  return has_ctx && addr >= c && addr < c + sizeof ctx;
}

void Exec::run() {
  uint64_t* r = reg;
  while (!done) {
    if (pc >= code->size()) {
      fault("fell off the end of the program");
      return;
    }
    if (++count > max_insns) {
      fault(fmt::format("more than {} instructions executed", max_insns));
      return;
    }
    const bpf::Insn in = (*code)[pc];
    if (in.dst > 10 || in.src > 10) {
      fault("bad register number");
      return;
    }
    bool writes_src = in.cls() == BPF_STX && in.mode() == BPF_ATOMIC && (in.imm & BPF_FETCH);
    if ((in.dst == 10 && (in.cls() == BPF_ALU || in.cls() == BPF_ALU64 || in.cls() == BPF_LDX ||
                          in.cls() == BPF_LD)) ||
        (in.src == 10 && writes_src)) {
      fault("write to the frame pointer r10");
      return;
    }
    switch (in.cls()) {
      case BPF_ALU64: {
        uint8_t op = in.op();
        if (op == BPF_END) {  // unconditional byte swap
          if (in.srcbit() || (in.imm != 16 && in.imm != 32 && in.imm != 64))
            return fault("bad bswap");
          r[in.dst] = bswap(r[in.dst], in.imm);
          break;
        }
        uint64_t s = in.srcbit() ? r[in.src] : uint64_t(int64_t(in.imm));
        if (op == BPF_MOV && in.off) {  // movsx
          if (!in.srcbit() || (in.off != 8 && in.off != 16 && in.off != 32))
            return fault("bad movsx");
          r[in.dst] = uint64_t(sext(s, in.off));
          break;
        }
        if ((in.off && !((op == BPF_DIV || op == BPF_MOD) && in.off == 1)) ||
            (op == BPF_NEG && in.srcbit()))
          return fault(fmt::format("bad alu64 instruction 0x{:02x} off {}", in.code, in.off));
        if (!alu_op<uint64_t, int64_t>(op, in.off, r[in.dst], s))
          return fault(fmt::format("bad alu64 opcode 0x{:02x}", in.code));
        break;
      }
      case BPF_ALU: {
        uint8_t op = in.op();
        if (op == BPF_END) {
          if (in.imm != 16 && in.imm != 32 && in.imm != 64) return fault("bad byte swap width");
          uint64_t v = r[in.dst];
          r[in.dst] = in.srcbit() ? bswap(v, in.imm) : truncate(v, in.imm);
          break;
        }
        uint32_t s = in.srcbit() ? uint32_t(r[in.src]) : uint32_t(in.imm);
        if (op == BPF_MOV && in.off) {
          if (!in.srcbit() || (in.off != 8 && in.off != 16)) return fault("bad movsx");
          r[in.dst] = uint32_t(sext(s, in.off));
          break;
        }
        if ((in.off && !((op == BPF_DIV || op == BPF_MOD) && in.off == 1)) ||
            (op == BPF_NEG && in.srcbit()))
          return fault(fmt::format("bad alu instruction 0x{:02x} off {}", in.code, in.off));
        uint32_t d = uint32_t(r[in.dst]);
        if (!alu_op<uint32_t, int32_t>(op, in.off, d, s))
          return fault(fmt::format("bad alu opcode 0x{:02x}", in.code));
        r[in.dst] = d;
        break;
      }
      case BPF_LDX: {
        if (in.mode() != BPF_MEM && in.mode() != BPF_MEMSX) return fault("bad load mode");
        unsigned sz = bpf::size_bytes(in.size());
        uint64_t addr = r[in.src] + int64_t(in.off);
        uint64_t v;
        if (is_ctx(addr)) {
          if (in.mode() != BPF_MEM || !ctx_load(addr, sz, v)) return fault("bad context load");
        } else {
          const uint8_t* p = access(addr, sz, false);
          if (!p) return;
          v = load_le(p, sz);
          if (in.mode() == BPF_MEMSX) {
            if (sz == 8) return fault("bad sign-extending load size");
            v = uint64_t(sext(v, sz * 8));
          }
        }
        r[in.dst] = v;
        break;
      }
      case BPF_ST:
      case BPF_STX: {
        unsigned sz = bpf::size_bytes(in.size());
        uint64_t addr = r[in.dst] + int64_t(in.off);
        if (is_ctx(addr)) return fault("store to the XDP context");
        if (in.mode() == BPF_MEM) {
          uint8_t* p = access(addr, sz, true);
          if (!p) return;
          store_le(p, in.cls() == BPF_ST ? uint64_t(int64_t(in.imm)) : r[in.src], sz);
          break;
        }
        if (in.cls() == BPF_STX && in.mode() == BPF_ATOMIC) {
          if (!atomic(in, addr, sz)) return;
          break;
        }
        return fault("bad store mode");
      }
      case BPF_LD: {
        if (!in.is_lddw())
          return fault("legacy packet loads (LD_ABS/LD_IND) are socket-filter only");
        if (pc + 1 >= code->size()) return fault("lddw without its second half");
        const bpf::Insn& hi = (*code)[pc + 1];
        if (!lddw(in, hi)) return;
        pc += 2;
        continue;
      }
      case BPF_JMP:
      case BPF_JMP32: {
        uint8_t op = in.op();
        if (op == BPF_CALL) {
          if (in.cls() == BPF_JMP32) return fault("bad call");
          if (in.src == BPF_PSEUDO_CALL) {
            if (!call_local(in)) return;
            continue;
          }
          int32_t id = in.srcbit() ? int32_t(r[in.dst]) : in.imm;  // callx: id in a register
          if (in.src == BPF_PSEUDO_KFUNC_CALL) return fault("kfunc calls are not supported");
          helper(id);
          if (tail_jump) {
            tail_jump = false;
            continue;
          }
          break;
        }
        if (op == BPF_EXIT) {
          if (in.cls() == BPF_JMP32) return fault("bad exit");
          if (depth == 0) {
            done = true;
            return;
          }
          Frame& f = frames[--depth];
          std::memcpy(&r[6], f.saved, sizeof f.saved);
          r[10] = f.fp;
          code = f.code;
          pc = f.ret_pc;
          continue;
        }
        if (op == BPF_JA) {
          int64_t delta = in.cls() == BPF_JMP32 ? in.imm : in.off;
          pc = size_t(int64_t(pc) + 1 + delta);
          continue;
        }
        bool taken = false;
        bool ok;
        if (in.cls() == BPF_JMP) {
          uint64_t b = in.srcbit() ? r[in.src] : uint64_t(int64_t(in.imm));
          ok = jmp_cond<uint64_t, int64_t>(op, r[in.dst], b, taken);
        } else {
          uint32_t b = in.srcbit() ? uint32_t(r[in.src]) : uint32_t(in.imm);
          ok = jmp_cond<uint32_t, int32_t>(op, uint32_t(r[in.dst]), b, taken);
        }
        if (!ok) return fault(fmt::format("bad jump opcode 0x{:02x}", in.code));
        if (taken) {
          pc = size_t(int64_t(pc) + 1 + in.off);
          continue;
        }
        break;
      }
      default:
        return fault(fmt::format("bad opcode 0x{:02x}", in.code));
    }
    ++pc;
  }
}

bool Exec::atomic(const bpf::Insn& in, uint64_t addr, unsigned sz) {
  if (sz != 4 && sz != 8) {
    fault("atomic operations are 32 or 64 bits wide");
    return false;
  }
  uint8_t* p = access(addr, sz, true);
  if (!p) return false;
  int op = in.imm;
  bool fetch = op & BPF_FETCH;
  uint64_t old = load_le(p, sz);
  uint64_t s = reg[in.src];
  if (sz == 4) s = uint32_t(s);
  uint64_t nv;
  switch (op) {
    case BPF_ADD:
    case BPF_ADD | BPF_FETCH:
      nv = old + s;
      break;
    case BPF_OR:
    case BPF_OR | BPF_FETCH:
      nv = old | s;
      break;
    case BPF_AND:
    case BPF_AND | BPF_FETCH:
      nv = old & s;
      break;
    case BPF_XOR:
    case BPF_XOR | BPF_FETCH:
      nv = old ^ s;
      break;
    case BPF_XCHG:
      nv = s;
      break;
    case BPF_CMPXCHG: {
      uint64_t expect = sz == 4 ? uint32_t(reg[0]) : reg[0];
      store_le(p, old == expect ? s : old, sz);
      reg[0] = old;  // zero-extended for the 32-bit form
      return true;
    }
    default:
      fault(fmt::format("bad atomic operation 0x{:x}", op));
      return false;
  }
  store_le(p, nv, sz);
  if (fetch) reg[in.src] = old;
  return true;
}

bool Exec::lddw(const bpf::Insn& in, const bpf::Insn& hi) {
  switch (in.src) {
    case 0:
      reg[in.dst] = uint64_t(uint32_t(in.imm)) | uint64_t(uint32_t(hi.imm)) << 32;
      return true;
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_VALUE: {
      if (!ip || in.imm < 0 || size_t(in.imm) >= ip->map_count()) {
        fault("lddw refers to a map that does not exist");
        return false;
      }
      Map& m = ip->map(in.imm);
      if (in.src == BPF_PSEUDO_MAP_FD) {
        reg[in.dst] = reinterpret_cast<uintptr_t>(&m);
        return true;
      }
      uint32_t zero = 0;
      uint8_t* v = m.lookup(&zero, 0);
      if (!v || m.def().type != BPF_MAP_TYPE_ARRAY || uint32_t(hi.imm) >= m.def().value_size) {
        fault("lddw map value reference is out of the map");
        return false;
      }
      reg[in.dst] = reinterpret_cast<uintptr_t>(v) + uint32_t(hi.imm);
      return true;
    }
    default:
      fault(fmt::format("lddw with unsupported source {} (callbacks are not supported)", in.src));
      return false;
  }
}

bool Exec::call_local(const bpf::Insn& in) {
  if (depth + 1 >= int(kMaxCallFrames)) {
    fault("call depth exceeds 8 frames");
    return false;
  }
  Frame& f = frames[depth++];
  std::memcpy(f.saved, &reg[6], sizeof f.saved);
  f.fp = reg[10];
  f.code = code;
  f.ret_pc = pc + 1;
  reg[10] -= kStackSize;
  pc = size_t(int64_t(pc) + 1 + in.imm);
  return true;
}

Map* Exec::map_arg(uint64_t v) {
  if (ip) {
    for (size_t i = 0; i < ip->map_count(); ++i)
      if (reinterpret_cast<uintptr_t>(&ip->map(i)) == v) return &ip->map(i);
  }
  fault(fmt::format("helper argument 0x{:x} is not a map", v));
  return nullptr;
}

RawResult Interpreter::run_raw(const std::vector<bpf::Insn>& insns, std::vector<uint8_t>& mem,
                               uint64_t max_insns) {
  Exec e;
  e.helpers = HelperSet::kConformance;
  e.code = &insns;
  e.max_insns = max_insns;
  if (!mem.empty()) e.regions.push_back(Region{mem.data(), mem.size(), true});
  e.reg[1] = mem.empty() ? 0 : reinterpret_cast<uintptr_t>(mem.data());
  e.reg[2] = mem.size();
  e.reg[10] = reinterpret_cast<uintptr_t>(e.stack + sizeof e.stack);
  e.run();
  RawResult res;
  res.r0 = e.reg[0];
  res.insns = e.count;
  res.error = e.error;
  return res;
}

}  // namespace ref
