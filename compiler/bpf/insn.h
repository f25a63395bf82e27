// BPF instruction encoding: one 8-byte slot as the kernel lays it out, plus
// the ISA v4 opcodes that the Debian 6.1 UAPI headers do not define yet.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>

#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80  // sign-extending load (ISA v4)
#endif
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0
#endif

namespace bpf {

// Same layout as struct bpf_insn, so vectors of it can be handed to libbpf.
struct Insn {
  uint8_t code = 0;
  uint8_t dst : 4;
  uint8_t src : 4;
  int16_t off = 0;
  int32_t imm = 0;

  Insn() : dst(0), src(0) {}
  Insn(uint8_t c, uint8_t d, uint8_t s, int16_t o, int32_t i)
      : code(c), dst(d), src(s), off(o), imm(i) {}

  uint8_t cls() const { return code & 0x07; }
  uint8_t op() const { return code & 0xf0; }      // ALU/JMP operation
  uint8_t srcbit() const { return code & 0x08; }  // BPF_K or BPF_X
  uint8_t size() const { return code & 0x18; }    // LD/ST access size
  uint8_t mode() const { return code & 0xe0; }    // LD/ST mode

  bool is_lddw() const { return code == (BPF_LD | BPF_IMM | BPF_DW); }
  bool is_call() const { return code == (BPF_JMP | BPF_CALL); }
  bool is_pseudo_call() const { return is_call() && src == BPF_PSEUDO_CALL; }
  bool is_helper_call() const { return is_call() && src == 0; }
  bool is_exit() const { return code == (BPF_JMP | BPF_EXIT); }
  bool is_jump() const {
    return (cls() == BPF_JMP || cls() == BPF_JMP32) && !is_call() && !is_exit();
  }
};
static_assert(sizeof(Insn) == 8, "struct bpf_insn is 8 bytes");

// Access width in bytes of a BPF_SIZE field.
inline unsigned size_bytes(uint8_t size_field) {
  switch (size_field) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}

// Decodes little-endian instruction words (the form of conformance files and ELF text).
inline Insn insn_from_u64(uint64_t w) {
  Insn i;
  std::memcpy(static_cast<void*>(&i), &w, sizeof i);  // Insn is trivially copyable
  return i;
}

}  // namespace bpf
