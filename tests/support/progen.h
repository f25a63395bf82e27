// Random XDP programs that the kernel's verifier accepts, for differential
// tests of every engine (kernel, reference interpreter, NPU) on the same
// program, packets and maps. docs/progen.md describes what is generated and
// how acceptance is guaranteed by construction.
//
// Everything is a pure function of the seed: the same seed gives the same
// program, packets and initial maps on every machine.
#pragma once

#include "compiler/bpf/program.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace progen {

struct ProgenOptions {
  // Size: the number of blocks between the prologue and the final verdict.
  // A block is one construct (an ALU chain, a branch, a loop, a packet
  // access, a map call, ...) of roughly 3 to 30 instructions.
  unsigned blocks = 16;
  // Features. ALU64, forward branches and early exits are always on.
  bool alu32 = true;   // 32-bit ALU and JMP32 branches
  bool isa_v4 = true;  // sdiv/smod, movsx, bswap, sign-extending loads, gotol (cpu v4)
  bool loops = true;   // bounded loops: backward jumps on a counter
  bool stack = true;   // stack stores, loads, spills/fills of pointers, stack atomics
  bool packet = true;  // packet reads and writes behind data_end checks
  bool maps = true;    // map lookups/updates/deletes, value accesses and atomics
  bool adjust = true;  // bpf_xdp_adjust_head/tail/meta, pointers reloaded after
  // Atomic fetch/xchg/cmpxchg on stack slots (plain atomics there are always
  // on; on map values all of them are). Off by default: the kernel's verifier
  // loses the precision of a spilled scalar loaded that way and may hard-wire
  // a branch it never explored (docs/progen.md, "Findings").
  bool stack_fetch_atomics = false;
  // The map types a program may use (a random non-empty subset of them per
  // seed): ARRAY, HASH, PERCPU_ARRAY, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, LPM_TRIE.
  std::vector<uint32_t> map_types;  // empty: all of them
};

// One XDP program "progen" (programs[0]) with its maps.
bpf::Object generate(uint64_t seed, const ProgenOptions& opt = {});

// n packets of 14 to 1500 bytes: random bytes, and Ethernet frames with
// IPv4/UDP/TCP/ICMP-like headers (also IPv6, ARP and VLAN ethertypes) whose
// addresses and ports come from small pools, so map keys built from them hit.
std::vector<std::vector<uint8_t>> packets(uint64_t seed, size_t n);

// Initial contents for obj's maps in the team's map JSON format
// (sim/ref/maps_json.h): every array index, about half of the hash keys a
// generated program looks up, and LPM prefixes that the packets' addresses match.
nlohmann::json initial_maps(const bpf::Object& obj, uint64_t seed);

}  // namespace progen
