// Loads, stores and atomics: the kernel's check_mem_access for the memory an
// XDP program can reach (ctx, packet, stack, map values), and the stack's
// byte-by-byte state with spilled registers.
#include "compiler/verifier/walk.h"

#include <fmt/format.h>

#include <algorithm>

namespace verifier {

namespace {

constexpr int64_t kMaxVarOff = int64_t(1) << 29;

// What a load of `size` bytes of unknown memory gives.
Reg loaded_scalar(unsigned size, bool sign_extend) {
  if (size == 8) return Reg::unknown();
  const unsigned bits = size * 8;
  if (sign_extend) {
    Scalar s;
    s.smin = -(int64_t(1) << (bits - 1));
    s.smax = (int64_t(1) << (bits - 1)) - 1;
    s.sync();
    return Reg::scalar(s);
  }
  return Reg::scalar(Scalar::urange(0, (uint64_t(1) << bits) - 1));
}

// The low `size` bytes of s, zero-extended (or sign-extended).
Scalar truncate(const Scalar& s, unsigned size, bool sign_extend) {
  if (size == 8) return s;
  Scalar t = alu(AluOp::AND, s, Scalar::known((uint64_t(1) << (size * 8)) - 1), false);
  if (sign_extend) {
    if (t.is_const()) {
      unsigned sh = 64 - size * 8;
      return Scalar::known(uint64_t(int64_t(t.const_value() << sh) >> sh));
    }
    return loaded_scalar(size, true).s;
  }
  return t;
}

}  // namespace

Reg Walker::stack_read(Frame& f, int32_t off, unsigned size, unsigned ptr_regno) {
  const int b = kStackSize + off;
  const int slot = b / 8;
  record_depth(f, off);
  mark_stack(f, off, size, false);
  if (f.bytes[size_t(slot * 8)] == Slot::SPILL || f.bytes[size_t(b)] == Slot::SPILL) {
    const Reg& sp = f.spilled[size_t(slot)];
    int spill_size = 0;
    for (int i = 0; i < 8 && f.bytes[size_t(slot * 8 + i)] == Slot::SPILL; i++) spill_size++;
    if (size == 8 && spill_size == 8) return sp;
    if (sp.type != RegType::SCALAR) reject("invalid size of register fill");
    if (b % 8 == 0 && int(size) <= spill_size) return Reg::scalar(truncate(sp.s, size, false));
  }
  bool all_zero = true;
  for (unsigned i = 0; i < size; i++) {
    Slot t = f.bytes[size_t(b) + i];
    if (t == Slot::INVALID && !opt_.perfmon)
      reject(fmt::format("invalid read from stack R{} off={} size={}", ptr_regno, off, size));
    if (t != Slot::ZERO && !(t == Slot::SPILL && f.spilled[size_t(slot)].is_const() &&
                             f.spilled[size_t(slot)].s.const_value() == 0))
      all_zero = false;
  }
  return all_zero ? Reg::scalar(Scalar::known(0)) : loaded_scalar(size, false);
}

void Walker::stack_write(Frame& f, int32_t off, unsigned size, const Reg* value, bool is_st_imm,
                         uint64_t imm) {
  const int b = kStackSize + off;
  const int slot = b / 8;
  record_depth(f, off);
  mark_stack(f, off, size, true);
  auto save = [&](const Reg& r) {
    Reg s = r;
    if (size < 8) s = Reg::scalar(truncate(r.s, size, false));
    if (size < 8) s.id = 0;
    f.spilled[size_t(slot)] = s;
    for (int i = 0; i < 8; i++) {
      Slot& t = f.bytes[size_t(slot * 8 + i)];
      if (i < int(size))
        t = Slot::SPILL;
      else if (t != Slot::ZERO && !(t == Slot::INVALID && opt_.perfmon))
        t = Slot::MISC;
    }
  };
  const bool aligned = b % 8 == 0;
  if (value && aligned && value->type == RegType::SCALAR) {
    save(*value);
    return;
  }
  if (!value && aligned && is_st_imm) {
    save(Reg::scalar(Scalar::known(imm)));
    return;
  }
  if (value && is_pointer(value->type)) {
    if (size != 8) reject("invalid size of register spill");
    if (&f != &st_.cur() && value->type == RegType::STACK)
      reject("cannot spill pointers to stack into stack frame of the caller");
    save(*value);
    return;
  }
  // Plain data: destroys a spill in the slot.
  if (f.bytes[size_t(slot * 8)] == Slot::SPILL || f.bytes[size_t(b)] == Slot::SPILL) {
    for (int i = 0; i < 8; i++)
      if (f.bytes[size_t(slot * 8 + i)] == Slot::SPILL) f.bytes[size_t(slot * 8 + i)] = Slot::MISC;
    f.spilled[size_t(slot)] = Reg{};
  }
  const bool zero = (value && value->is_const() && value->s.const_value() == 0) ||
                    (!value && is_st_imm && imm == 0);
  for (unsigned i = 0; i < size; i++) f.bytes[size_t(b) + i] = zero ? Slot::ZERO : Slot::MISC;
}

void Walker::check_mem_access(unsigned regno, int32_t off, unsigned size, bool write,
                              int value_regno, bool atomic, bool sign_extend) {
  const Reg ptr = reg(regno);
  const Reg* value = nullptr;
  Reg value_copy;
  if (write && value_regno >= 0) {
    value_copy = reg(unsigned(value_regno));
    value = &value_copy;
  }
  const bool value_is_ptr = value && is_pointer(value->type);
  auto set_result = [&](const Reg& r) {
    if (!write && value_regno >= 0) reg(unsigned(value_regno)) = r;
  };
  const char* rw = write ? "write to" : "read from";
  switch (ptr.type) {
    case RegType::CTX: {
      if (ptr.off != 0)
        reject(
            fmt::format("dereference of modified ctx ptr R{} off={} disallowed", regno, ptr.off));
      if (!ptr.s.is_const() || ptr.s.const_value() != 0)
        reject(fmt::format("variable ctx access var_off={} disallowed", ptr.s.var_off.str()));
      // struct xdp_md: six u32 fields, read-only; egress_ifindex only for devmap programs.
      if (write || off < 0 || off >= 20 || off % 4 != 0 || size != 4)
        reject(fmt::format("invalid bpf_context access off={} size={}", off, size));
      note_mem(Mem::CTX, -1, INT32_MAX, 0);
      switch (off) {
        case 0:
          set_result(Reg::pointer(RegType::PACKET));
          break;
        case 4:
          set_result(Reg::pointer(RegType::PACKET_END));
          break;
        case 8:
          set_result(Reg::pointer(RegType::PACKET_META));
          break;
        default:
          set_result(loaded_scalar(4, false));
      }
      return;
    }
    case RegType::PACKET:
    case RegType::PACKET_META: {
      if (write && value_is_ptr && !opt_.perfmon)
        reject(fmt::format("R{} leaks addr into packet", value_regno));
      if (ptr.s.smin < 0)
        reject(fmt::format(
            "R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
            regno));
      const int64_t o = int64_t(off) + ptr.off;
      if (o < 0 || o + int64_t(size) > ptr.range)
        reject(fmt::format("invalid access to packet, off={} size={}, R{}(id={},off={},r={})", off,
                           size, regno, ptr.id, ptr.off, ptr.range));
      note_mem(ptr.type == RegType::PACKET ? Mem::PACKET : Mem::PACKET_META, -1,
               int32_t(ptr.range - (o + size)), 0);
      set_result(sign_extend ? loaded_scalar(size, true) : loaded_scalar(size, false));
      return;
    }
    case RegType::MAP_VALUE: {
      const bpf::MapDef& m = map_def(ptr.map);
      if (write && value_is_ptr && !opt_.perfmon)
        reject(fmt::format("R{} leaks addr into map", value_regno));
      if (write && (m.flags & BPF_F_RDONLY_PROG))
        reject(fmt::format("write into map forbidden, value_size={} off={} size={}", m.value_size,
                           off + ptr.off, size));
      const int64_t o = int64_t(off) + ptr.off;
      const Scalar& v = ptr.s;
      if (v.smin < 0 &&
          (v.smin == INT64_MIN || o + v.smin != int64_t(int32_t(o + v.smin)) || v.smin + o < 0))
        reject(fmt::format(
            "R{} min value is negative, either use unsigned index or do a if (index >=0) check.",
            regno));
      if (v.smin + o < 0 || v.smin + o + size > m.value_size)
        reject(fmt::format("invalid access to map value, value_size={} off={} size={}",
                           m.value_size, v.smin + o, size));
      if (v.umax >= uint64_t(kMaxVarOff))
        reject(fmt::format("R{} unbounded memory access, make sure to bounds check any such access",
                           regno));
      if (v.umax + o + size > m.value_size)
        reject(
            fmt::format("invalid access to map value, value_size={} off={} size={}: R{} max "
                        "value is outside of the allowed memory range",
                        m.value_size, int64_t(v.umax) + o, size, regno));
      note_mem(Mem::MAP_VALUE, ptr.map, INT32_MAX, 0);
      set_result(loaded_scalar(size, sign_extend));
      return;
    }
    case RegType::STACK: {
      Frame& f = frame_of(ptr);
      if (!ptr.s.is_const()) {
        const int64_t lo = ptr.s.smin + ptr.off + off;
        const int64_t hi = ptr.s.smax + ptr.off + off + size;
        if (ptr.s.smin < -kMaxVarOff || ptr.s.smax > kMaxVarOff || lo < -kStackSize || hi > 0)
          reject(fmt::format("invalid variable-offset {} stack R{} var_off={} off={} size={}", rw,
                             regno, ptr.s.var_off.str(), off, size));
        note_mem(Mem::STACK, -1, INT32_MAX, 0);
        record_depth(f, int32_t(lo));
        mark_stack(f, lo, hi - lo, false);
        for (int64_t a = lo; a < hi; a++) {
          Slot& t = f.bytes[size_t(kStackSize + a)];
          if (write) {
            if (t == Slot::SPILL) {
              const int slot = int((kStackSize + a) / 8);
              for (int i = 0; i < 8; i++)
                if (f.bytes[size_t(slot * 8 + i)] == Slot::SPILL)
                  f.bytes[size_t(slot * 8 + i)] = Slot::MISC;
            }
            if (t == Slot::INVALID && !opt_.perfmon)
              reject(
                  fmt::format("uninit stack in range of var-offset write prohibited for !root "
                              "R{} var_off={}",
                              regno, ptr.s.var_off.str()));
            if (t != Slot::ZERO || !(value && value->is_const() && value->s.const_value() == 0))
              t = Slot::MISC;
          } else if (t == Slot::INVALID && !opt_.perfmon) {
            reject(
                fmt::format("invalid variable-offset read from stack R{} var_off={} off={} size={}",
                            regno, ptr.s.var_off.str(), off, size));
          }
        }
        set_result(loaded_scalar(size, sign_extend));
        return;
      }
      const int64_t o = int64_t(ptr.s.const_value()) + ptr.off + off;
      if (o % int64_t(size) != 0)
        reject(fmt::format("misaligned stack access off {}+{}+{} size {}", ptr.s.var_off.str(),
                           ptr.off, off, size));
      if (o < -kStackSize || o + size > 0)
        reject(fmt::format("invalid {} stack R{} off={} size={}", rw, regno, o, size));
      note_mem(Mem::STACK, -1, INT32_MAX, int32_t(o));
      if (write) {
        const bpf::Insn& in = insns_[insn_pc_];
        const bool st_imm = in.cls() == BPF_ST;
        if (atomic) {
          // An atomic read-modify-write leaves plain data.
          stack_write(f, int32_t(o), size, nullptr, false, 0);
        } else {
          stack_write(f, int32_t(o), size, value, st_imm, st_imm ? uint64_t(int64_t(in.imm)) : 0);
        }
      } else {
        Reg r = stack_read(f, int32_t(o), size, regno);
        if (atomic && is_pointer(r.type) && !opt_.perfmon)
          reject(fmt::format("leaking pointer from stack off {}", o));
        if (sign_extend && r.type == RegType::SCALAR) r.s = truncate(r.s, size, true);
        if (atomic && value_regno >= 0 && is_pointer(r.type)) r = Reg::unknown();
        set_result(r);
      }
      return;
    }
    default:
      reject(fmt::format("R{} invalid mem access '{}'", regno, reg_type_name(ptr.type)));
  }
}

}  // namespace verifier
