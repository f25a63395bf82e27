#include "compiler/bpf/conformance_wrap.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace bpf {
namespace {

Insn mov_imm(int dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
Insn mov_reg(int dst, int src) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
Insn exit_insn() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

// r0 = bpf_map_lookup_elem(maps[map], &(u32)0), the key living at r10-4.
void emit_lookup_key0(std::vector<Insn>& out, int map) {
  out.emplace_back(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
  out.push_back(mov_reg(2, 10));
  out.emplace_back(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4);
  out.emplace_back(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, map);
  out.emplace_back(0, 0, 0, 0, 0);
  out.emplace_back(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
}

MapDef one_element_array(const char* name, uint32_t value_size) {
  MapDef m;
  m.name = name;
  m.type = BPF_MAP_TYPE_ARRAY;
  m.key_size = 4;
  m.value_size = value_size;
  m.max_entries = 1;
  return m;
}

}  // namespace

std::vector<Insn> insert_insns(const std::vector<Insn>& prog, std::vector<Insertion> inserts,
                               std::vector<size_t>* new_index_out) {
  const size_t n = prog.size();
  std::stable_sort(inserts.begin(), inserts.end(),
                   [](const Insertion& a, const Insertion& b) { return a.at < b.at; });
  for (const Insertion& s : inserts)
    if (s.at > n)
      throw std::runtime_error(
          fmt::format("insertion at {} is past the program's end ({})", s.at, n));

  // Where every old slot lands; snippets at k come before old slot k.
  std::vector<size_t> new_index(n + 1);
  std::vector<Insn> out;
  out.reserve(n + 64);
  size_t k = 0;
  for (size_t i = 0; i <= n; ++i) {
    for (; k < inserts.size() && inserts[k].at == i; ++k)
      out.insert(out.end(), inserts[k].insns.begin(), inserts[k].insns.end());
    new_index[i] = out.size();
    if (i < n) out.push_back(prog[i]);
  }
  const int64_t total = int64_t(out.size());

  // New relative offset for a branch at old i whose old offset was rel.
  auto retarget = [&](size_t i, int64_t rel) {
    int64_t t = int64_t(i) + 1 + rel, nt;
    if (t < 0)
      nt = t;  // before the start: stays before it
    else if (t >= int64_t(n))
      nt = total + (t - int64_t(n));  // at or past the end: stays past it
    else
      nt = int64_t(new_index[size_t(t)]);
    return nt - int64_t(new_index[i]) - 1;
  };
  for (size_t i = 0; i < n; ++i) {
    Insn& in = out[new_index[i]];
    if (in.is_lddw()) {
      if (in.src == BPF_PSEUDO_FUNC) in.imm = int32_t(retarget(i, in.imm));
      ++i;  // the second slot carries no code
    } else if (in.is_pseudo_call()) {
      in.imm = int32_t(retarget(i, in.imm));
    } else if (in.is_jump()) {
      if (in.cls() == BPF_JMP32 && in.op() == BPF_JA) {
        in.imm = int32_t(retarget(i, in.imm));  // gotol: 32-bit offset in imm
      } else {
        int64_t off = retarget(i, in.off);
        if (off < INT16_MIN || off > INT16_MAX)
          throw std::runtime_error(
              fmt::format("insn {}: jump offset {} no longer fits in 16 bits", i, off));
        in.off = int16_t(off);
      }
    }
  }
  if (new_index_out) *new_index_out = std::move(new_index);
  return out;
}

Object wrap_conformance(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem,
                        ConformanceLayout* layout) {
  Object obj;
  obj.path = "conformance program";
  obj.license = "GPL";
  obj.maps.push_back(one_element_array(kConformanceResultMap, 8));
  std::vector<Insn> prologue;
  if (!mem.empty()) {
    // The program's buffer is the one value of an array map (at least 8
    // bytes: value sizes are never 0); the verifier bounds r1 by its size.
    MapDef m = one_element_array(kConformanceMemMap, uint32_t(std::max<size_t>(mem.size(), 8)));
    m.global_data = true;  // its initial value is filled in when the map is created
    m.initial.assign(m.value_size, 0);
    std::copy(mem.begin(), mem.end(), m.initial.begin());
    obj.maps.push_back(std::move(m));
    emit_lookup_key0(prologue, 1);
    prologue.emplace_back(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0);
    prologue.push_back(mov_imm(0, kConformanceNoMem));
    prologue.push_back(exit_insn());
    prologue.push_back(mov_reg(1, 0));
    prologue.push_back(mov_imm(2, int32_t(mem.size())));
  } else {
    prologue.push_back(mov_imm(1, 0));
    prologue.push_back(mov_imm(2, 0));
  }
  // r3..r9 stay untouched: the verifier sees them uninitialized, as at a real entry.

  std::vector<Insn> epilogue;
  epilogue.push_back(mov_reg(6, 0));
  emit_lookup_key0(epilogue, kConformanceResultMapIndex);
  epilogue.emplace_back(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0);
  epilogue.push_back(mov_imm(0, kConformanceNoResult));
  epilogue.push_back(exit_insn());
  epilogue.emplace_back(BPF_STX | BPF_MEM | BPF_DW, 0, 6, 0, 0);
  epilogue.push_back(mov_imm(0, 0));
  epilogue.push_back(exit_insn());

  // The main function ends where the first BPF-to-BPF callee begins.
  const size_t n = prog.size();
  size_t main_end = n;
  for (size_t i = 0; i < n; ++i) {
    const Insn& in = prog[i];
    bool func_ref = in.is_pseudo_call() || (in.is_lddw() && in.src == BPF_PSEUDO_FUNC);
    if (func_ref) {
      int64_t t = int64_t(i) + 1 + in.imm;
      if (t > 0 && t < int64_t(main_end)) main_end = size_t(t);
    }
    if (in.is_lddw()) ++i;
  }

  std::vector<size_t> at;
  std::vector<Insn> wrapped = insert_insns(prog, {{0, prologue}, {main_end, epilogue}}, &at);
  const size_t epi = at[main_end] - epilogue.size();
  for (size_t i = 0; i < main_end; ++i) {
    if (prog[i].is_lddw()) {
      ++i;
      continue;
    }
    if (!prog[i].is_exit()) continue;
    int64_t off = int64_t(epi) - int64_t(at[i]) - 1;
    if (off >= INT16_MIN && off <= INT16_MAX)
      wrapped[at[i]] = Insn(BPF_JMP | BPF_JA, 0, 0, int16_t(off), 0);
    else
      wrapped[at[i]] = Insn(BPF_JMP32 | BPF_JA, 0, 0, 0, int32_t(off));
  }

  Program p;
  p.name = kConformanceProgram;
  p.section = "xdp";
  p.type = BPF_PROG_TYPE_XDP;
  p.insns = std::move(wrapped);
  // Functions start at 0 and at every target of a BPF-to-BPF call or function reference.
  p.func_starts = {0};
  for (size_t i = 0; i < p.insns.size(); ++i) {
    const Insn& in = p.insns[i];
    if (in.is_pseudo_call() || (in.is_lddw() && in.src == BPF_PSEUDO_FUNC)) {
      int64_t t = int64_t(i) + 1 + in.imm;
      if (t > 0 && t < int64_t(p.insns.size())) p.func_starts.push_back(uint32_t(t));
    }
    if (in.is_lddw()) ++i;
  }
  std::sort(p.func_starts.begin(), p.func_starts.end());
  p.func_starts.erase(std::unique(p.func_starts.begin(), p.func_starts.end()), p.func_starts.end());
  for (uint32_t s : p.func_starts) p.func_names.push_back(s ? fmt::format("f{}", s) : p.name);
  obj.programs.push_back(std::move(p));
  if (layout) {
    layout->new_index = std::move(at);
    layout->epilogue = epi;
  }
  return obj;
}

}  // namespace bpf
