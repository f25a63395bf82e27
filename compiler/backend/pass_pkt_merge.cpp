// pkt-merge: clang reads a packet field it cannot prove aligned one byte at a
// time and puts the bytes together with shifts and ors; and it swaps network
// byte order with a separate instruction after the load. The NPU's packet
// loads take 1 to 8 bytes in either byte order, so such a group becomes one
// load (ldp.N or ldpb.N). Within a basic block, each register is followed as
// "these packet bytes at these bit positions"; where an instruction leaves a
// register holding N consecutive bytes in little- or big-endian order, it
// becomes that load, and the instructions that built it go when nothing else
// reads them. Loads move to the point of the last instruction only when no
// store, atomic or call sits between.
#include "compiler/backend/passes.h"

#include <algorithm>
#include <array>
#include <optional>

namespace npucc {

namespace {

struct Byte {
  int32_t off;    // packet offset from the base register
  uint8_t shift;  // bit position in the register
};

// A register's value as packet bytes, or nothing known.
struct Assembly {
  bool valid = false;
  uint8_t base = 0;
  uint32_t base_version = 0;
  uint32_t first = 0;  // the first instruction that contributed
  int insns = 0;       // instructions that built it
  std::vector<Byte> bytes;
};

// N consecutive bytes in one byte order: the load that gives the same value.
std::optional<std::pair<int32_t, bool>> as_load(const Assembly& a) {
  const size_t n = a.bytes.size();
  if (!a.valid || n < 2 || n > 8) return std::nullopt;
  int32_t lo = INT32_MAX;
  for (const Byte& b : a.bytes) lo = std::min(lo, b.off);
  bool le = true, be = true;
  std::vector<bool> seen(n, false);
  for (const Byte& b : a.bytes) {
    const int64_t j = int64_t(b.off) - lo;
    if (j < 0 || size_t(j) >= n || seen[size_t(j)]) return std::nullopt;
    seen[size_t(j)] = true;
    le = le && b.shift == 8 * j;
    be = be && b.shift == 8 * (int64_t(n) - 1 - j);
  }
  if (!le && !be) return std::nullopt;
  return std::make_pair(lo, be && !le);
}

}  // namespace

void pass_pkt_merge(Module& m) {
  const std::vector<bool> target = bpf_jump_targets(m);
  std::array<Assembly, 11> reg;
  std::array<uint32_t, 11> version{};
  auto reset = [&] {
    for (Assembly& a : reg) a = Assembly{};
  };
  auto clobber = [&](unsigned r) {
    if (r > 10) return;
    version[r]++;
    reg[r] = Assembly{};
    for (Assembly& a : reg)
      if (a.valid && a.base == r) a = Assembly{};
  };
  bool changed = false;
  for (size_t i = 0; i < m.meta.size(); i++) {
    InsnMeta& mt = m.meta[i];
    if (target[i]) reset();
    if (mt.skip) continue;
    const bpf::Insn in = mt.insn;
    const uint8_t cls = in.cls(), op = in.op();
    const verifier::InsnFacts* f = mt.facts;
    const bool pkt_load =
        cls == BPF_LDX && in.mode() == BPF_MEM && f &&
        (f->mem == verifier::Mem::PACKET || f->mem == verifier::Mem::PACKET_META) &&
        mt.fuse == Fuse::NONE;
    std::optional<Assembly> out;  // the destination's new value, when it is an assembly
    if (pkt_load) {
      Assembly a;
      a.valid = true;
      a.base = in.src;
      a.base_version = version[in.src];
      a.first = uint32_t(i);
      a.insns = 1;
      const unsigned n = bpf::size_bytes(in.size());
      for (unsigned j = 0; j < n; j++) a.bytes.push_back({in.off + int32_t(j), uint8_t(8 * j)});
      out = a;
    } else if ((cls == BPF_ALU || cls == BPF_ALU64) && in.dst < 10) {
      const unsigned width = cls == BPF_ALU ? 32 : 64;
      Assembly a = reg[in.dst];
      const bool x = in.srcbit() == BPF_X;
      if (op == BPF_MOV && x && in.off == 0 && reg[in.src].valid) {
        Assembly s = reg[in.src];
        bool fits = true;
        for (const Byte& b : s.bytes) fits = fits && b.shift < width;
        if (fits) out = s;
      } else if (op == BPF_LSH && !x && a.valid && in.imm % 8 == 0) {
        bool fits = true;
        for (Byte& b : a.bytes) {
          b.shift = uint8_t(b.shift + in.imm);
          fits = fits && b.shift < width;
        }
        if (fits) {
          a.insns++;
          out = a;
        }
      } else if (op == BPF_OR && x && a.valid && reg[in.src].valid && reg[in.src].base == a.base &&
                 reg[in.src].base_version == a.base_version) {
        const Assembly& s = reg[in.src];
        bool ok = true;
        for (const Byte& b : s.bytes)
          for (const Byte& c : a.bytes) ok = ok && b.shift != c.shift;
        for (const Byte& b : s.bytes) ok = ok && b.shift < width;
        if (ok) {
          a.bytes.insert(a.bytes.end(), s.bytes.begin(), s.bytes.end());
          a.first = std::min(a.first, s.first);
          a.insns += s.insns + 1;
          out = a;
        }
      } else if (op == BPF_END && a.valid && (cls == BPF_ALU64 || x)) {
        // A byte swap of a value whose bytes fill the swapped width.
        const unsigned bits = unsigned(in.imm);
        bool fits = a.bytes.size() * 8 == bits;
        for (const Byte& b : a.bytes) fits = fits && b.shift < bits;
        if (fits) {
          for (Byte& b : a.bytes) b.shift = uint8_t(bits - 8 - b.shift);
          a.insns++;
          out = a;
        }
      }
    }
    // Anything that may write the packet ends every assembly.
    if (cls == BPF_ST || cls == BPF_STX || in.is_call()) reset();
    for (unsigned r = 0; r < 11; r++)
      if (bpf_defs(in) >> r & 1) clobber(r);
    if (!out || out->base == in.dst || out->base_version != version[out->base]) continue;
    reg[in.dst] = *out;
    // Built by several instructions and equal to one load: rewrite this one.
    const auto load = as_load(*out);
    if (!load || out->insns < 2) continue;
    mt.insn = bpf::Insn(BPF_LDX | BPF_MEM | BPF_B, in.dst, out->base, int16_t(load->first), 0);
    mt.fuse = Fuse::WIDE_LOAD;
    mt.wide_size = uint8_t(out->bytes.size());
    mt.wide_be = load->second;
    Assembly again = *out;
    again.insns = 1;  // a single load now
    again.first = uint32_t(i);
    reg[in.dst] = again;
    m.stats["pkt-merge.loads"]++;
    changed = true;
  }
  if (changed) m.stats["pkt-merge.dropped"] += remove_dead_results(m);
}

}  // namespace npucc
