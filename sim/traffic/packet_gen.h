// Deterministic test traffic: crafted edge cases and random packets, steered
// by a profile toward the addresses and ports a program cares about.
//
// Determinism: the output depends only on the profile, the count and the
// seed. Randomness comes from a local splitmix64 and a local range mapping
// (no std:: distributions, whose output differs between standard libraries),
// so the same call gives the same bytes on every machine and compiler.
#pragma once

#include "sim/traffic/packet_build.h"
#include "sim/traffic/pcap.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace traffic {

// splitmix64 (Steele, Lea, Flood 2014): tiny, fully specified, good enough.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, n) without modulo bias; 0 when n is 0.
  uint64_t below(uint64_t n);
  // Uniform in [lo, hi] (inclusive).
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  uint64_t state_;
};

enum class Protocol { kTcp, kUdp, kIcmp, kIcmpv6, kOther };

// What to favour: values in these lists are drawn 70% of the time, random
// values otherwise; empty lists mean "anything".
struct TrafficProfile {
  std::vector<Ipv4Addr> src_ipv4, dst_ipv4;
  std::vector<Ipv6Addr> dst_ipv6;
  std::vector<uint16_t> src_ports, dst_ports;
  std::vector<Protocol> protocols;
  std::vector<uint16_t> vlan_ids;  // 0..4095

  // JSON object with the keys dst_ipv4, src_ipv4 (dotted quads), dst_ipv6,
  // dst_ports, src_ports, protocols ("tcp", "udp", "icmp", "icmpv6", "other"),
  // vlan_ids; all optional. Keys starting with '_' are comments; any other key
  // is an error. Throws std::runtime_error "<origin>: <reason>".
  static TrafficProfile from_json_text(const std::string& text, const std::string& origin);
  static TrafficProfile from_json_file(const std::string& path);
};

// Spacing of the generated timestamps: packet i has ts_ns = i * kPacketGapNs.
constexpr uint64_t kPacketGapNs = 1000;

struct EdgeCase {
  std::string name;  // "group/detail", e.g. "truncated/eth-ipv4-tcp/len=33"
  Packet packet;
};

// The crafted edge cases with names (see docs/traffic.md for the list).
// Frames shorter than 14 bytes are left out: the kernel's BPF_PROG_TEST_RUN
// refuses them for XDP (EINVAL), so they cannot be compared.
std::vector<EdgeCase> edge_case_list(const TrafficProfile& p);
// The same packets without names.
std::vector<Packet> edge_cases(const TrafficProfile& p);

// About 80% well-formed Ethernet/[VLAN]/IPv4|IPv6/TCP|UDP|ICMP frames of 60 to
// 1514 bytes, 20% mutated (a byte flipped, cut short, a random ethertype).
std::vector<Packet> random_packets(const TrafficProfile& p, size_t count, uint64_t seed);

// edge_cases() then random_packets() up to `total` packets in all (just the
// first `total` edge cases when there are more of those), timestamps renumbered.
std::vector<Packet> packet_set(const TrafficProfile& p, size_t total, uint64_t seed);

}  // namespace traffic
