// Helper calls: arguments checked against helper_protos.def as the kernel's
// check_func_arg does, map/helper compatibility, the result's type, and the
// side effects (clobbered r1-r5, packet pointers invalidated by helpers that
// move the packet, bpf_loop's callback).
#include "compiler/bpf/helpers.h"
#include "compiler/verifier/walk.h"

#include <fmt/format.h>

namespace verifier {

namespace {

constexpr uint64_t kMaxVarSize = uint64_t(1) << 29;  // BPF_MAX_VAR_SIZ

std::string helper_name(int32_t id) {
  if (const char* n = bpf::helper_name(id)) return fmt::format("bpf_{}#{}", n, id);
  return fmt::format("unknown#{}", id);
}

bool is_array(uint32_t t) {
  return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// The kernel's check_map_func_compatibility, for the maps and helpers here.
bool compatible(uint32_t map_type, int32_t func) {
  switch (map_type) {
    case BPF_MAP_TYPE_PROG_ARRAY:
      if (func != BPF_FUNC_tail_call) return false;
      break;
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      if (func != BPF_FUNC_perf_event_output) return false;
      break;
    case BPF_MAP_TYPE_RINGBUF:
      if (func != BPF_FUNC_ringbuf_output) return false;
      break;
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_XSKMAP:
      if (func != BPF_FUNC_redirect_map && func != BPF_FUNC_map_lookup_elem) return false;
      break;
    case BPF_MAP_TYPE_CPUMAP:
      if (func != BPF_FUNC_redirect_map) return false;
      break;
    default:
      break;
  }
  switch (func) {
    case BPF_FUNC_tail_call:
      return map_type == BPF_MAP_TYPE_PROG_ARRAY;
    case BPF_FUNC_perf_event_output:
      return map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
    case BPF_FUNC_ringbuf_output:
      return map_type == BPF_MAP_TYPE_RINGBUF;
    case BPF_FUNC_redirect_map:
      return map_type == BPF_MAP_TYPE_DEVMAP || map_type == BPF_MAP_TYPE_DEVMAP_HASH ||
             map_type == BPF_MAP_TYPE_CPUMAP || map_type == BPF_MAP_TYPE_XSKMAP;
    case BPF_FUNC_map_lookup_percpu_elem:
      return map_type == BPF_MAP_TYPE_PERCPU_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_HASH ||
             map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    default:
      return true;
  }
}

bool changes_packet(int32_t func) {
  return func == BPF_FUNC_xdp_adjust_head || func == BPF_FUNC_xdp_adjust_meta ||
         func == BPF_FUNC_xdp_adjust_tail;
}

const char* expected_mem = "fp, pkt, pkt_meta, map_key, map_value";

}  // namespace

void Walker::clear_packet_pointers() {
  auto fix = [&](Reg& x) {
    if (is_packet(x.type) || x.type == RegType::PACKET_END)
      x = opt_.perfmon ? Reg::unknown() : Reg{};
  };
  for (Frame& f : st_.frames) {
    for (Reg& x : f.regs) fix(x);
    for (int j = 0; j < kSlots; j++)
      if (f.bytes[size_t(j * 8)] == Slot::SPILL) fix(f.spilled[size_t(j)]);
  }
}

void Walker::check_helper_mem(unsigned regno, int64_t size, bool zero_ok, bool write) {
  const Reg ptr = reg(regno);
  if (ptr.type == RegType::SCALAR && ptr.is_const() && ptr.s.const_value() == 0 && zero_ok &&
      size == 0)
    return;
  if (size == 0 && zero_ok) return;
  switch (ptr.type) {
    case RegType::PACKET:
    case RegType::PACKET_META:
    case RegType::MAP_VALUE:
      // The same checks as a load or store of `size` bytes at offset 0.
      check_mem_access(regno, 0, unsigned(size), write, -1, false, false);
      return;
    case RegType::STACK: {
      Frame& f = frame_of(ptr);
      const int64_t lo = ptr.s.smin + ptr.off;
      const int64_t hi = ptr.s.smax + ptr.off + size;
      if (lo < -kStackSize || hi > 0 || ptr.s.smin < -(int64_t(1) << 29))
        reject(fmt::format("invalid {} stack R{} off={} size={}", write ? "write to" : "read from",
                           regno, lo, size));
      note_mem(Mem::STACK, -1, INT32_MAX, ptr.s.is_const() ? int32_t(lo) : 0);
      record_depth(f, int32_t(lo));
      mark_stack(f, lo, hi - lo, write && ptr.s.is_const());
      if (write && !ptr.s.is_const()) mark_stack(f, lo, hi - lo, false);
      for (int64_t a = lo; a < hi; a++) {
        const size_t b = size_t(kStackSize + a);
        Slot& t = f.bytes[b];
        if (write) {
          if (t == Slot::SPILL) {
            const size_t slot = b / 8;
            for (size_t i = 0; i < 8; i++)
              if (f.bytes[slot * 8 + i] == Slot::SPILL) f.bytes[slot * 8 + i] = Slot::MISC;
            f.spilled[slot] = Reg{};
          }
          t = Slot::MISC;
          continue;
        }
        if (t == Slot::INVALID && !opt_.perfmon)
          reject(fmt::format("invalid read from stack R{} off={} size={}", regno, lo, size));
        if (t == Slot::SPILL && is_pointer(f.spilled[b / 8].type) && !opt_.perfmon)
          reject(fmt::format("R{} leaks addr into helper function", regno));
      }
      return;
    }
    default:
      reject(fmt::format("R{} type={} expected={}", regno, reg_type_name(ptr.type), expected_mem));
  }
}

void Walker::check_helper_call(const bpf::Insn& in) {
  const int32_t func = in.imm;
  const HelperProto* proto = helper_proto(func);
  if (!proto) {
    std::string name = helper_name(func);
    if (name.rfind("unknown#", 0) == 0) reject("invalid func " + name);
    reject("program of this type cannot use helper " + name);
  }
  int32_t map = -1;
  Reg callback_ctx;
  int32_t callback_target = -1;
  const unsigned n = proto->nargs();
  for (unsigned i = 0; i < n; i++) {
    const unsigned r = i + 1;
    const ArgType t = proto->args[i];
    const Reg& a = read_reg(r);
    auto expect = [&](const char* what) {
      reject(fmt::format("R{} type={} expected={}", r, reg_type_name(a.type), what));
    };
    switch (t) {
      case ArgType::NONE:
        break;
      case ArgType::ANYTHING:
        if (is_pointer(a.type) && !opt_.perfmon)
          reject(fmt::format("R{} leaks addr into helper function", r));
        break;
      case ArgType::CTX:
        if (a.type != RegType::CTX) expect("ctx");
        if (a.off != 0)
          reject(fmt::format("dereference of modified ctx ptr R{} off={} disallowed", r, a.off));
        break;
      case ArgType::CONST_MAP_PTR:
        if (a.type != RegType::MAP_PTR) expect("map_ptr");
        map = a.map;
        if (!compatible(map_def(map).type, func))
          reject(fmt::format("cannot pass map_type {} into func {}", map_def(map).type,
                             helper_name(func)));
        res_.facts[insn_pc_].call_map =
            res_.facts[insn_pc_].call_map == -1 || res_.facts[insn_pc_].call_map == map ? map : -2;
        break;
      case ArgType::MAP_KEY:
      case ArgType::MAP_VALUE: {
        if (map < 0)
          reject(fmt::format("invalid map_ptr to access map->{}",
                             t == ArgType::MAP_KEY ? "key" : "value"));
        if (a.type == RegType::SCALAR) expect(expected_mem);
        const bpf::MapDef& m = map_def(map);
        check_helper_mem(r, t == ArgType::MAP_KEY ? m.key_size : m.value_size, false, false);
        break;
      }
      case ArgType::MEM:
      case ArgType::UNINIT_MEM:
      case ArgType::MEM_OR_NULL:
        if (a.type == RegType::SCALAR) {
          if (t != ArgType::MEM_OR_NULL || !a.is_const() || a.s.const_value() != 0)
            expect(expected_mem);
        } else if (a.type != RegType::STACK && !is_packet(a.type) && a.type != RegType::MAP_VALUE) {
          expect(expected_mem);
        }
        break;  // checked with the size argument that follows
      case ArgType::SIZE:
      case ArgType::SIZE_OR_ZERO: {
        const bool zero_ok = t == ArgType::SIZE_OR_ZERO;
        if (a.type != RegType::SCALAR) expect("scalar");
        if (a.s.smin < 0)
          reject(
              fmt::format("R{} min value is negative, either use unsigned or 'var &= const'", r));
        if (a.s.umin == 0 && !zero_ok) reject(fmt::format("R{} invalid zero-sized read", r));
        if (a.s.umax >= kMaxVarSize)
          reject(fmt::format(
              "R{} unbounded memory access, use 'var &= const' or 'if (var < const)'", r));
        const bool write = proto->args[i - 1] == ArgType::UNINIT_MEM;
        check_helper_mem(r - 1, int64_t(a.s.umax), zero_ok, write);
        break;
      }
      case ArgType::FUNC:
        if (a.type != RegType::FUNC) expect("func");
        callback_target = a.map;
        break;
      case ArgType::STACK_OR_NULL:
        if (!(a.type == RegType::STACK ||
              (a.type == RegType::SCALAR && a.is_const() && a.s.const_value() == 0)))
          expect("fp");
        callback_ctx = a;
        break;
    }
  }
  // The result.
  Reg r0;
  switch (proto->ret) {
    case RetType::INTEGER:
      r0 = Reg::unknown();
      break;
    case RetType::VOID:
      break;
    case RetType::MAP_VALUE_OR_NULL: {
      const bpf::MapDef& m = map_def(map);
      r0 = Reg::pointer(RegType::MAP_VALUE_OR_NULL);
      r0.map = map;
      r0.id = new_id();
      // An array looked up with a constant key below max_entries cannot miss,
      // when the key is visibly constant: zero bytes, or a spilled constant
      // at an aligned slot.
      bool never_null = false;
      const Reg& key = reg(2);
      if (func == BPF_FUNC_map_lookup_elem && is_array(m.type) && key.type == RegType::STACK &&
          key.s.is_const() && m.key_size == 4) {
        Frame& f = frame_of(key);
        const int64_t o = int64_t(key.s.const_value()) + key.off;
        const size_t b = size_t(kStackSize + o);
        if (o % 8 == 0 && f.bytes[b] == Slot::SPILL && f.spilled[b / 8].is_const()) {
          never_null = uint32_t(f.spilled[b / 8].s.const_value()) < m.max_entries;
        } else {
          bool zero = true;
          for (size_t i = 0; i < 4; i++) zero = zero && f.bytes[b + i] == Slot::ZERO;
          never_null = zero && m.max_entries > 0;
        }
      }
      if (never_null) {
        r0.type = RegType::MAP_VALUE;
        r0.id = 0;
      }
      int8_t& nn = never_null_[insn_pc_];
      nn = int8_t(nn != 0 && never_null);
      break;
    }
  }
  Frame& cur = st_.cur();
  if (callback_target >= 0) {
    // bpf_loop: either it returns (0..nr_loops iterations done) or it calls
    // the callback once more, which comes back here.
    State call = st_;
    for (unsigned r = 1; r <= 5; r++) cur.regs[r] = Reg{};
    cur.regs[0] = Reg::unknown();
    st_.pc++;
    State after = std::move(st_);
    st_ = std::move(call);
    enter_callback(uint32_t(callback_target), callback_ctx);
    // The return path goes on; the callback waits on the stack.
    std::swap(st_, after);
    pending_.push_back({std::move(after), parent_, written_});
    parent_->branches++;
    return;
  }
  cur.regs[0] = r0;
  for (unsigned r = 1; r <= 5; r++) cur.regs[r] = Reg{};
  if (changes_packet(func)) clear_packet_pointers();
  st_.pc++;
}

}  // namespace verifier
