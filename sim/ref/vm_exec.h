// Internal state of one interpreter run, shared by the execution core
// (vm.cpp) and the helpers (helpers.cpp). Not part of the public API.
#pragma once

#include "sim/ref/vm.h"

#include <string>
#include <vector>

namespace ref {

struct Frame {
  const std::vector<bpf::Insn>* code;
  size_t ret_pc;
  uint64_t saved[4];  // r6..r9
  uint64_t fp;        // caller's r10
};

struct Exec {
  Interpreter* ip = nullptr;  // null for raw (conformance) runs
  const bpf::Object* obj = nullptr;
  HelperSet helpers = HelperSet::kKernel;
  const std::vector<bpf::Insn>* code = nullptr;
  size_t pc = 0;
  uint64_t reg[11] = {};
  alignas(16) uint8_t stack[kMaxCallFrames * kStackSize] = {};
  Frame frames[kMaxCallFrames];
  int depth = 0;
  std::vector<Region> regions;  // maps and other memory reachable through pointers
  uint64_t count = 0;
  uint64_t max_insns = 1u << 24;
  bool done = false;
  bool tail_jump = false;  // a tail call replaced the running program
  unsigned tail_calls = 0;
  std::string error;

  // XDP state: the frame buffer and its pointers, as struct xdp_buff holds them.
  bool has_ctx = false;
  alignas(8) uint8_t ctx[24] = {};  // stands for struct xdp_md; loads are translated
  uint8_t* pkt_hard_start = nullptr;
  uint8_t* pkt_meta = nullptr;
  uint8_t* pkt_data = nullptr;
  uint8_t* pkt_end = nullptr;
  uint32_t ingress_ifindex = 0;
  uint32_t rx_queue_index = 0;
  XdpResult* xdp = nullptr;

  void run();
  void fault(const std::string& why);
  uint8_t* access(uint64_t addr, uint64_t size, bool write);
  bool is_ctx(uint64_t addr) const;
  bool ctx_load(uint64_t addr, unsigned size, uint64_t& out);
  bool atomic(const bpf::Insn& in, uint64_t addr, unsigned sz);
  bool lddw(const bpf::Insn& in, const bpf::Insn& hi);
  bool call_local(const bpf::Insn& in);
  Map* map_arg(uint64_t v);
  void helper(int32_t id);  // helpers.cpp
};

}  // namespace ref
