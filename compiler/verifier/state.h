// The verifier's abstract machine state: what it knows about each register
// and stack byte of every active frame at one instruction. The kinds follow
// the Linux verifier's (struct bpf_reg_state, struct bpf_stack_state), reduced
// to what XDP programs can hold. docs/verifier.md.
#pragma once

#include "compiler/verifier/scalar.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace verifier {

enum class RegType : uint8_t {
  NOT_INIT,
  SCALAR,
  CTX,          // struct xdp_md
  PACKET,       // data + off + var
  PACKET_END,   // data_end
  PACKET_META,  // data_meta + off + var
  STACK,        // r10 of frame `frame` + off + var
  MAP_PTR,      // the map itself (lddw of a map)
  MAP_VALUE,    // a value of map `map`, + off + var
  MAP_VALUE_OR_NULL,
  FUNC,  // a subprogram's address (a bpf_loop callback); `map` is its insn index
};

const char* reg_type_name(RegType t);  // the kernel's spelling: "scalar", "pkt", "fp", ...
inline bool is_pointer(RegType t) {
  return t != RegType::NOT_INIT && t != RegType::SCALAR;
}
inline bool is_packet(RegType t) {
  return t == RegType::PACKET || t == RegType::PACKET_META;
}

struct Reg {
  RegType type = RegType::NOT_INIT;
  // SCALAR: the value. Pointers: the variable part of the offset.
  Scalar s = Scalar::known(0);
  int32_t off = 0;    // pointers: the fixed part of the offset
  uint32_t id = 0;    // copies of one maybe-NULL pointer / one variably-offset packet pointer
  int32_t range = 0;  // PACKET, PACKET_META: bytes [off' < range) proven in bounds
  int32_t map = -1;   // MAP_PTR, MAP_VALUE(_OR_NULL): map index; FUNC: insn index
  uint8_t frame = 0;  // STACK: frame number

  static Reg scalar(const Scalar& s) {
    Reg r;
    r.type = RegType::SCALAR;
    r.s = s;
    return r;
  }
  static Reg unknown() { return scalar(Scalar::unknown()); }
  static Reg pointer(RegType t, int32_t off = 0) {
    Reg r;
    r.type = t;
    r.off = off;
    return r;
  }
  bool is_const() const { return type == RegType::SCALAR && s.is_const(); }
  bool operator==(const Reg& o) const;
  bool operator!=(const Reg& o) const { return !(*this == o); }
  std::string str() const;
};

// One byte of a stack frame.
enum class Slot : uint8_t { INVALID, MISC, ZERO, SPILL };

constexpr int kStackSize = 512;
constexpr int kSlots = kStackSize / 8;
constexpr int kMaxFrames = 8;

struct Frame {
  std::array<Reg, 11> regs;
  std::array<Slot, kStackSize> bytes{};  // byte i is at r10 - kStackSize + i
  std::array<Reg, kSlots> spilled;       // slot j covers bytes [8j, 8j + 8)
  uint32_t callsite = 0;                 // the caller's call insn (frames > 0)
  uint32_t subprog = 0;                  // insn index where this frame's function starts
  bool callback = false;                 // a bpf_loop callback frame
  int32_t callback_ret_min = 0, callback_ret_max = 0;
  bool operator==(const Frame& o) const;
};

struct State {
  std::vector<Frame> frames;  // frames.back() is the current function
  uint32_t pc = 0;
  Frame& cur() { return frames.back(); }
  const Frame& cur() const { return frames.back(); }
  bool operator==(const State& o) const { return pc == o.pc && frames == o.frames; }
};

}  // namespace verifier
