// Deterministic test traffic: crafted edge cases and random packets, steered
// by a profile toward the addresses and ports a program cares about. The same
// seed gives the same bytes on every machine (no std distributions).
#pragma once

#include "sim/traffic/pcap.h"

#include <cstdint>
#include <string>
#include <vector>

namespace traffic {

struct TrafficProfile {
  std::vector<uint32_t> src_ipv4, dst_ipv4;  // host byte order
  std::vector<uint16_t> src_ports, dst_ports;
  std::vector<std::string> protocols;  // "tcp", "udp", "icmp", "icmpv6", "other"
  std::vector<uint16_t> vlan_ids;

  // Keys as above, all optional; throws std::runtime_error("<path>: <reason>").
  static TrafficProfile from_json_file(const std::string& path);
};

// Every header truncated at every byte, IPv4 options and bad lengths, fragments,
// TTL 0/1/255, bad checksums, VLAN stacks, IPv6 extension chains, ICMP echo to
// each profile address, non-IP frames, 14..3000-byte frames. Frames shorter
// than 14 bytes are left out: XDP (and the kernel's test run) never sees them.
std::vector<Packet> edge_cases(const TrafficProfile& p);

// About 80% well-formed Ethernet/[VLAN]/IPv4|IPv6/TCP|UDP|ICMP, 20% mutated.
std::vector<Packet> random_packets(const TrafficProfile& p, size_t count, uint64_t seed);

// edge_cases() then random packets, `total` in all (edge cases are cut if total is smaller).
std::vector<Packet> packet_set(const TrafficProfile& p, size_t total, uint64_t seed);

}  // namespace traffic
