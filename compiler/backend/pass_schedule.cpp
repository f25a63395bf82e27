// schedule: a list scheduler over the basic blocks of the machine code. A
// thread issues in order and sleeps when an instruction reads (or writes) a
// register whose load or engine result has not arrived, and with one thread
// nothing else runs meanwhile. So the pass starts long-latency asynchronous
// instructions (map engine commands, map value loads, atomics with fetch,
// packet loads) as early as their operands allow and puts independent work
// between them and their first reader.
//
// A block is a run of instructions that ends before a label something refers
// to (a branch, jmp or jal target: the lowering's label on every BPF
// instruction is not a boundary when nothing jumps to it), or after a fence:
// a branch, jump, jal, jalr, jr or exit, and what must stay in place
// (halt, yield, wait, csrw, queue operations, csrr of cycle or instret).
// A fence stays last in its block. Unreferenced labels keep their slots.
// Blocks longer than kWindow instructions are scheduled in windows.
//
// Inside a block, an instruction stays after another when:
// - it reads, writes or overwrites a register the other writes, or writes
//   one the other reads (npu::regs_read / regs_written, every operand field);
// - both touch memory and one of them writes it (stores, atomics, and engine
//   commands, which count as writes: they read keys and values and change
//   map and LRU state): two loads
//   may swap, and so may a store through r10 (local memory) and a packet
//   access (the packet window), which never overlap;
// - both are engine commands (random numbers and time come in order);
// - both read CSRs;
// - one writes r10 and the other touches memory.
//
// The priority is the critical-path height: the most cycles from the
// instruction's issue to the end of the block along dependencies, with each
// result's latency from the default timing. A block is rewritten only when
// the new order is estimated to finish sooner than the old one, counting
// results still in flight at its end.
#include "compiler/backend/passes.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace npucc {

namespace {

using npu::Op;
using npu::Unit;

// Cycles from issue until a result is usable, as npu::iss::Timing's defaults
// (sim/iss/timing.h; the YAML keys in sim/iss/npu-timing.yaml). The compiler
// does not link the simulator, so they are copied here. Another timing file
// only makes the priorities less exact: the order is correct for any timing.
constexpr uint32_t kLatLm = 1;         // memory.lm: the stack
constexpr uint32_t kLatPkt = 2;        // memory.pkt: packet data and the descriptor
constexpr uint32_t kLatMapValue = 60;  // memory.map: map values
constexpr uint32_t kLatAtomic = 40;    // engines.atomic
constexpr uint32_t kLatMap = 50;       // engines.map
constexpr uint32_t kLatCsum = 4;       // engines.csum (its per-8-bytes part unknown here)
constexpr uint32_t kLatHash = 6;       // engines.hash
constexpr uint32_t kLatRand = 2;       // engines.rand
constexpr uint32_t kLatTime = 2;       // engines.time
constexpr uint32_t kLatQueue = 4;      // engines.queue

constexpr uint32_t kFp = 1u << 10;
// Instructions scheduled together at most: a longer block (straight-line code
// from unrolled loops) is cut into windows of this many.
constexpr size_t kWindow = 256;

enum class Access : uint8_t { NONE, READ, WRITE };
// Where a memory access may go. STACK (through r10: local memory) and PKT
// (ldp/stp: the packet window) never overlap; ANY may overlap both.
enum class Space : uint8_t { ANY, STACK, PKT };

struct Node {
  uint32_t reads = 0, writes = 0;
  Access mem = Access::NONE;
  Space space = Space::ANY;
  bool engine = false;
  bool csr = false;
  uint32_t cycles = 1;   // issue cycles
  uint32_t latency = 1;  // issue until the result is usable
};

struct Edge {
  uint32_t node, latency;
};

bool is_fence(const npu::Insn& in) {
  const npu::OpInfo& o = npu::op_info(in.op);
  if (o.flags & (npu::BR | npu::STOP)) return true;
  if (o.unit == Unit::QUEUE || in.op == Op::WAIT || in.op == Op::CSRW) return true;
  // Counters that read differently one instruction later.
  return in.op == Op::CSRR &&
         (in.imm == int32_t(npu::Csr::CYCLE) || in.imm == int32_t(npu::Csr::INSTRET));
}

// A load's latency: local memory through r10, else what the verifier says the
// BPF instruction touches; a map value when it does not know.
uint32_t load_latency(const Module& m, const MInsn& x) {
  if (x.in.b == 10) return kLatLm;
  if (x.bpf >= m.meta.size() || !m.meta[x.bpf].facts) return kLatMapValue;
  switch (m.meta[x.bpf].facts->mem) {
    case verifier::Mem::STACK:
      return kLatLm;
    case verifier::Mem::CTX:  // the descriptor sits at the head of the packet frame
    case verifier::Mem::PACKET:
    case verifier::Mem::PACKET_META:
      return kLatPkt;
    default:
      return kLatMapValue;
  }
}

Node node_of(const Module& m, const MInsn& x) {
  const npu::Insn& in = x.in;
  const npu::OpInfo& o = npu::op_info(in.op);
  Node n;
  n.reads = npu::regs_read(in);
  n.writes = npu::regs_written(in);
  n.cycles = std::max<uint32_t>(o.cycles, 1);
  n.latency = n.cycles;
  const bool result = o.flags & npu::ASYNC;
  auto async = [&](uint32_t lat) {
    if (result) n.latency = std::max(n.cycles, lat);
  };
  switch (o.unit) {
    case Unit::MEM:
      n.mem = (o.flags & npu::WA) ? Access::READ : Access::WRITE;
      n.space = in.b == 10 ? Space::STACK : Space::ANY;
      async(load_latency(m, x));
      break;
    case Unit::PKT:
      n.mem = (o.flags & npu::WA) ? Access::READ : Access::WRITE;
      n.space = Space::PKT;
      async(kLatPkt);
      break;
    case Unit::ATOMIC:
      n.mem = Access::WRITE;
      async(kLatAtomic);
      break;
    case Unit::MAP:
      n.mem = Access::WRITE;  // keys and values in memory; lookups touch LRU state
      n.engine = true;
      async(kLatMap);
      break;
    case Unit::CSUM:
      n.mem = Access::WRITE;
      n.engine = true;
      async(kLatCsum);
      break;
    case Unit::HASH:
      n.mem = Access::WRITE;
      n.engine = true;
      async(kLatHash);
      break;
    case Unit::RAND:
      n.engine = true;
      async(kLatRand);
      break;
    case Unit::TIME:
      n.engine = true;
      async(kLatTime);
      break;
    case Unit::QUEUE:
      async(kLatQueue);
      break;
    case Unit::CSR:
      n.csr = true;
      break;
    default:
      break;
  }
  return n;
}

bool overlap(Space a, Space b) {
  return !((a == Space::STACK && b == Space::PKT) || (a == Space::PKT && b == Space::STACK));
}

// Whether b (later in the block) must stay after a.
bool ordered(const Node& a, const Node& b) {
  if ((a.writes & (b.reads | b.writes)) || (a.reads & b.writes)) return true;
  const bool am = a.mem != Access::NONE, bm = b.mem != Access::NONE;
  if (am && bm && (a.mem == Access::WRITE || b.mem == Access::WRITE) && overlap(a.space, b.space))
    return true;
  if (a.engine && b.engine) return true;
  if (a.csr && b.csr) return true;
  return ((a.writes & kFp) && bm) || ((b.writes & kFp) && am);
}

class Block {
 public:
  Block(const Module& m, const std::vector<MInsn>& code, const std::vector<size_t>& pos,
        bool fenced);
  // The list schedule: indices into the block, in their new order.
  std::vector<uint32_t> schedule() const;
  // Estimated cycles from the first issue in `order` until the last
  // instruction has issued and the last result has arrived.
  uint64_t cost(const std::vector<uint32_t>& order) const;

 private:
  std::vector<Node> nodes_;
  std::vector<std::vector<Edge>> succ_, pred_;
  std::vector<uint64_t> height_;
};

Block::Block(const Module& m, const std::vector<MInsn>& code, const std::vector<size_t>& pos,
             bool fenced) {
  const size_t n = pos.size();
  for (size_t p : pos) nodes_.push_back(node_of(m, code[p]));
  succ_.resize(n);
  pred_.resize(n);
  for (uint32_t j = 0; j < n; j++)
    for (uint32_t i = 0; i < j; i++) {
      const Node& a = nodes_[i];
      const Node& b = nodes_[j];
      const bool fence = fenced && j + 1 == n;
      if (!fence && !ordered(a, b)) continue;
      // A reader or a writer of a register in flight waits for it; anything
      // else only issues after a.
      const uint32_t lat = (a.writes & (b.reads | b.writes)) ? a.latency : a.cycles;
      succ_[i].push_back({j, lat});
      pred_[j].push_back({i, lat});
    }
  height_.assign(n, 0);
  for (size_t i = n; i-- > 0;) {
    uint64_t h = std::max(nodes_[i].latency, nodes_[i].cycles);
    for (const Edge& e : succ_[i]) h = std::max(h, e.latency + height_[e.node]);
    height_[i] = h;
  }
}

uint64_t Block::cost(const std::vector<uint32_t>& order) const {
  std::vector<uint64_t> start(nodes_.size(), 0);
  uint64_t t = 0, done = 0;
  for (uint32_t k : order) {
    uint64_t s = t;
    for (const Edge& e : pred_[k]) s = std::max(s, start[e.node] + e.latency);
    start[k] = s;
    t = s + nodes_[k].cycles;
    done = std::max(done, s + nodes_[k].latency);
  }
  return std::max(t, done);
}

std::vector<uint32_t> Block::schedule() const {
  const size_t n = nodes_.size();
  std::vector<uint32_t> waiting(n), order;
  std::vector<uint64_t> earliest(n, 0);
  std::vector<uint32_t> ready;
  for (uint32_t i = 0; i < n; i++) {
    waiting[i] = uint32_t(pred_[i].size());
    if (!waiting[i]) ready.push_back(i);
  }
  uint64_t t = 0;
  while (!ready.empty()) {
    // Among what can issue now, the greatest height; when nothing can, what
    // can issue soonest. Ties go to the earlier instruction.
    size_t best = 0;
    for (size_t r = 1; r < ready.size(); r++) {
      const uint32_t a = ready[r], b = ready[best];
      const uint64_t ta = std::max(t, earliest[a]), tb = std::max(t, earliest[b]);
      const bool now_a = ta == t, now_b = tb == t;
      bool better;
      if (now_a != now_b)
        better = now_a;
      else if (!now_a && ta != tb)
        better = ta < tb;
      else if (height_[a] != height_[b])
        better = height_[a] > height_[b];
      else
        better = a < b;
      if (better) best = r;
    }
    const uint32_t k = ready[best];
    ready.erase(ready.begin() + std::ptrdiff_t(best));
    const uint64_t s = std::max(t, earliest[k]);
    order.push_back(k);
    t = s + nodes_[k].cycles;
    for (const Edge& e : succ_[k]) {
      earliest[e.node] = std::max(earliest[e.node], s + e.latency);
      if (--waiting[e.node] == 0) ready.push_back(e.node);
    }
  }
  return order;
}

// Reorders the instructions at pos (indices into the code, in order) when
// that is estimated to save cycles.
void schedule_block(Module& m, const std::vector<size_t>& pos, bool fenced) {
  if (pos.size() < 2) return;
  std::vector<MInsn>& code = m.mc.code;
  const Block b(m, code, pos, fenced);
  std::vector<uint32_t> same(pos.size());
  for (uint32_t i = 0; i < same.size(); i++) same[i] = i;
  const std::vector<uint32_t> order = b.schedule();
  if (b.cost(order) >= b.cost(same)) return;
  std::vector<MInsn> old;
  old.reserve(pos.size());
  for (size_t p : pos) old.push_back(std::move(code[p]));
  uint64_t moved = 0;
  for (size_t k = 0; k < pos.size(); k++) {
    code[pos[k]] = std::move(old[order[k]]);
    moved += order[k] != k;
  }
  m.stats["schedule.moved"] += moved;
  m.stats["schedule.blocks"]++;
}

}  // namespace

void pass_schedule(Module& m) {
  std::vector<MInsn>& code = m.mc.code;
  // Labels something refers to: the only ones that start a block.
  std::vector<bool> target(size_t(std::max(m.mc.next_label, 0)), false);
  for (const MInsn& x : code)
    if (!x.is_label && x.label >= 0) {
      if (size_t(x.label) >= target.size()) target.resize(size_t(x.label) + 1, false);
      target[size_t(x.label)] = true;
    }
  auto is_target = [&](int32_t l) {
    return l < 0 || size_t(l) >= target.size() || target[size_t(l)];
  };

  std::vector<size_t> pos;  // the block's instructions, as indices into code
  auto flush = [&](bool fenced) {
    // A long block goes in windows, so that the quadratic work stays bounded.
    for (size_t w = 0; w < pos.size(); w += kWindow) {
      const size_t end = std::min(pos.size(), w + kWindow);
      schedule_block(
          m,
          std::vector<size_t>(pos.begin() + std::ptrdiff_t(w), pos.begin() + std::ptrdiff_t(end)),
          fenced && end == pos.size());
    }
    pos.clear();
  };
  for (size_t k = 0; k < code.size(); k++) {
    const MInsn& x = code[k];
    if (x.is_label) {
      if (is_target(x.label)) flush(false);
      continue;
    }
    pos.push_back(k);
    if (is_fence(x.in)) flush(true);
  }
  flush(false);
}

}  // namespace npucc
