// The verifier's walk over program paths (internal to compiler/verifier):
// one Walker per verify() call. verifier.cpp holds the walk, the CFG check,
// ALU and jumps; memory.cpp loads and stores; helper_call.cpp helper calls.
#pragma once

#include "compiler/verifier/helper_protos.h"
#include "compiler/verifier/verifier.h"

#include <bitset>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

namespace verifier {

// Thrown inside the walk; verify() adds the place.
struct Reject {
  std::string reason;
};

// A state kept at a prune point. `branches` counts the paths still being
// explored below it; at 0 it is complete and may prune others.
// Stack slots, as bits: frame * kSlots + slot.
using SlotSet = std::bitset<kMaxFrames * kSlots>;

struct Checkpoint {
  State st;
  Checkpoint* parent = nullptr;
  int branches = 1;
  // Slots written in full on the way from the parent to here, and slots some
  // path below read before writing them: only those can tell states apart.
  SlotSet written, read;
  uint32_t hits = 0, misses = 0;
  uint64_t digest = 0;  // Walker::digest(st)
};

class Walker {
 public:
  Walker(const bpf::Object& obj, const bpf::Program& prog, const Options& opt);
  Result run();

  // --- used by memory.cpp / helper_call.cpp ---
  [[noreturn]] void reject(std::string reason) const;
  Reg& reg(unsigned r) { return st_.cur().regs[r]; }
  const Reg& read_reg(unsigned r);  // R!read_ok when not initialised
  void check_mem_access(unsigned regno, int32_t off, unsigned size, bool write, int value_regno,
                        bool atomic, bool sign_extend);
  void check_helper_call(const bpf::Insn& insn);
  // Checks that [ptr + 0, ptr + size) may be read (or written) by a helper,
  // for each size in the register's range [0, max_size].
  void check_helper_mem(unsigned regno, int64_t size, bool zero_ok, bool write);
  // Marks every packet pointer (all frames, registers and spills) unusable.
  void clear_packet_pointers();
  void note_mem(Mem m, int32_t map, int32_t pkt_slack, int32_t stack_off);
  const bpf::MapDef& map_def(int32_t i) const { return obj_.maps.at(size_t(i)); }
  Frame& frame_of(const Reg& r) { return st_.frames.at(r.frame); }
  uint32_t new_id() { return ++id_gen_; }
  const Options& opt() const { return opt_; }
  // Stack reads and writes at a fixed offset of frame f ([off, off + size), off < 0).
  // value: the stored register, or nullptr for BPF_ST of imm (st_imm) or an
  // atomic's plain data.
  void stack_write(Frame& f, int32_t off, unsigned size, const Reg* value, bool st_imm,
                   uint64_t imm);
  Reg stack_read(Frame& f, int32_t off, unsigned size, unsigned ptr_regno);
  void record_depth(Frame& f, int32_t off);
  // Liveness of stack slots [off, off + size) of frame f: a read, or a write.
  void mark_stack(const Frame& f, int64_t off, int64_t size, bool write);
  uint32_t error_pc() const { return insn_pc_; }
  // Enters a bpf_loop callback frame for the call at the current pc.
  void enter_callback(uint32_t target, const Reg& ctx_arg);
  void add_callee(uint32_t caller_pc, uint32_t target);

 private:
  struct Path {
    State st;
    Checkpoint* parent;
    SlotSet written;
  };

  void check_cfg();
  void compute_liveness();
  // True when the current path can stop here (pruned); may throw on a loop.
  bool visit_checkpoint(bool add);
  void end_path();
  void step();
  void do_alu(const bpf::Insn& insn);
  void do_ptr_alu(const bpf::Insn& insn, Reg& dst, const Reg& src);
  void do_load_imm64(const bpf::Insn& insn, const bpf::Insn& next);
  void do_cond_jump(const bpf::Insn& insn);
  void do_call_subprog(const bpf::Insn& insn);
  void do_exit();
  void record_facts();
  void record_out(uint32_t at, size_t depth);
  void propagate_scalar(uint32_t id, const Reg& r);
  void mark_ptr_or_null(uint32_t id, bool is_null);
  void find_good_pkt_pointers(const Reg& dst, RegType t, bool right_open);
  int subprog_of(uint32_t pc) const;
  bool covers(const State& old, const State& cur, const SlotSet* live) const;
  void mark_read(const SlotSet& s);
  static uint64_t digest(const State& s);
  void widen(const State& old);
  void check_stack_depths();

  const bpf::Object& obj_;
  const bpf::Program& prog_;
  Options opt_;
  std::vector<bpf::Insn> insns_;
  std::vector<bool> prune_;
  std::vector<uint16_t> live_in_;  // registers live at entry to each insn (bit r)
  std::vector<std::vector<std::unique_ptr<Checkpoint>>> checkpoints_;
  // Complete states dropped from the lists; kept alive for the parent links.
  std::vector<std::unique_ptr<Checkpoint>> evicted_;
  std::deque<Path> pending_;
  State st_;
  Checkpoint* parent_ = nullptr;
  SlotSet written_;  // slots written in full since parent_
  std::unique_ptr<Checkpoint> root_;
  Result res_;
  uint32_t id_gen_ = 0;
  uint32_t insn_pc_ = 0;
  std::vector<int8_t> never_null_;              // per insn: -1 unseen, else AND over paths
  std::vector<int8_t> pkt_proven_;              // the same, for packet checks already proven
  std::vector<int32_t> depth_;                  // per function
  std::vector<std::vector<uint32_t>> callees_;  // per function: functions it calls
};

}  // namespace verifier
