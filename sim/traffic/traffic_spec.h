// Generated traffic for the NIC simulator (`npu sim --traffic SPEC`): frame
// sizes, flow count and distribution, offered rate and duration, without a
// pcap file.
//
//   TrafficSpec spec = TrafficSpec::parse("size=64,flows=1024,rate=line,duration=100us");
//   std::vector<Packet> packets = generate(spec, profile, 100.0);  // a 100 Gb/s port
//
// Sizes follow the RFC 2544 convention: a "64-byte frame" counts the 4-byte
// FCS, so its Packet::data holds 60 bytes. Timestamps are the offered start
// times of the frames on the wire (preamble, SFD and inter-frame gap counted).
//
// Determinism: like packet_gen, the output depends only on the spec, the
// profile and the line rate. Randomness is SplitMix64 only (no std::
// distributions, no libm transcendental functions), so the same call gives
// the same bytes on every machine and compiler.
#pragma once

#include "sim/traffic/packet_gen.h"
#include "sim/traffic/pcap.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace traffic {

// Bytes a frame of data_len bytes (without FCS, as Packet holds it) takes on
// an Ethernet wire: padded to the 60-byte minimum, + 4 FCS + 8 preamble/SFD
// + 12 inter-frame gap. So 64-byte frames (60 bytes of data) take 84 bytes:
// 148.8 Mpps at 100 Gb/s.
uint64_t wire_bytes(size_t data_len);

// Frame sizes on the wire including the FCS.
constexpr uint32_t kMinFrameSize = 64;
constexpr uint32_t kMaxFrameSize = 9018;           // 9000-byte jumbo MTU + Ethernet header + FCS
constexpr uint64_t kMaxFlows = uint64_t(1) << 24;  // 16M
// Most packets parse() accepts for packets=N and generate() returns (a
// duration that could give more is refused; TrafficGenerator has no limit).
constexpr uint64_t kMaxPackets = 100'000'000;

struct TrafficSpec {
  // Frame sizes including FCS. Either a weighted list (`weighted` not empty:
  // {size, weight} pairs, each size drawn with probability weight / sum) or
  // a uniform range of integers lo..hi (`weighted` empty, lo < hi).
  struct SizeMix {
    std::vector<std::pair<uint32_t, uint32_t>> weighted;
    uint32_t lo = 0, hi = 0;

    static SizeMix fixed(uint32_t size) { return SizeMix{{{size, 1}}, 0, 0}; }
    static SizeMix range(uint32_t lo, uint32_t hi) { return SizeMix{{}, lo, hi}; }
    // The "simple IMIX": 64, 594 and 1518 bytes in the ratio 7:4:1.
    static SizeMix imix() { return SizeMix{{{64, 7}, {594, 4}, {1518, 1}}, 0, 0}; }

    uint32_t min() const;
    uint32_t max() const;
    // Expected wire_bytes() of a frame drawn from the mix.
    double mean_wire_bytes() const;
    bool operator==(const SizeMix& o) const {
      return weighted == o.weighted && lo == o.lo && hi == o.hi;
    }
  };

  enum class Dist { kUniform, kRoundRobin, kZipf };
  enum class Rate {
    kLine,     // the line rate given to generate()
    kGbps,     // bits on the wire (wire_bytes) per second, in Gb/s
    kMpps,     // frames per second, in millions: a constant gap
    kPercent,  // of the line rate, bits on the wire
  };
  enum class Proto { kUdp, kTcp, kMixed };

  SizeMix size = SizeMix::imix();
  uint64_t flows = 1024;  // 1..kMaxFlows
  Dist dist = Dist::kUniform;
  double zipf_s = 1.0;  // kZipf: P(flow of rank k) ~ 1 / k^s, s in (0, 100]
  Rate rate = Rate::kLine;
  double rate_value = 0;  // Gb/s, Mpps or percent (0 < percent <= 100); 0 for kLine
  // Exactly one of these is non-zero: a packet count, or a duration (the
  // packets whose start time is before it).
  uint64_t packets = 10000;
  uint64_t duration_ns = 0;
  Proto proto = Proto::kUdp;  // kMixed: each flow TCP or UDP
  uint32_t ipv6_percent = 0;  // share of the flows that are IPv6, 0..100
  uint64_t seed = 1;

  // Comma-separated key=value, every key optional, e.g.
  // "size=64,flows=1024,dist=uniform,rate=line,duration=100us,proto=udp,seed=1".
  // Throws std::runtime_error("--traffic: <reason>"), one line naming the bad
  // key or value. See docs/traffic.md for the syntax.
  static TrafficSpec parse(const std::string& text);
  // Canonical one-line form with every key; parse(describe()) == *this.
  std::string describe() const;
  // Throws like parse() when the fields are out of range or inconsistent
  // (e.g. a frame size too small for the IPv6+TCP headers).
  void validate() const;
  // The smallest frame (with FCS) that holds the headers this spec can produce.
  uint32_t min_frame_for_headers() const;

  bool operator==(const TrafficSpec& o) const;
  bool operator!=(const TrafficSpec& o) const { return !(*this == o); }
};

// Offered load in bits on the wire per ns (= Gb/s) of the spec on a line of
// line_gbps; for a packet rate, the mean over the size mix. Throws
// "--traffic: ..." when it exceeds the line or the line is not positive.
double offered_gbps(const TrafficSpec& spec, double line_gbps);

// Streams the packets of generate() one by one, without holding them all.
class TrafficGenerator {
 public:
  // Validates the spec against the line (see offered_gbps) and builds the flows.
  TrafficGenerator(const TrafficSpec& spec, const TrafficProfile& profile, double line_gbps);
  ~TrafficGenerator();
  TrafficGenerator(const TrafficGenerator&) = delete;
  TrafficGenerator& operator=(const TrafficGenerator&) = delete;

  // The next packet and its flow index (0..flows-1); false after the last.
  bool next(Packet& packet, uint32_t* flow = nullptr);
  // Packets returned so far.
  uint64_t count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct GeneratedTraffic {
  std::vector<Packet> packets;
  std::vector<uint32_t> flows;  // flows[i]: the flow index of packets[i]
};

// The packets of the spec: ts_ns is the offered start time of each frame
// (first at 0, rounded down to the ns), at the spec's rate on a line of
// line_gbps. Flow f has one 5-tuple (all flows distinct), its addresses,
// ports and protocol drawn from the profile as random_packets favours them
// (empty lists: random). Frames are well-formed Ethernet/IPv4|IPv6/UDP|TCP
// with correct checksums and a payload that gives the drawn size. Throws
// "--traffic: ..." for an invalid spec, a rate above the line, or more than
// kMaxPackets packets.
GeneratedTraffic generate_traffic(const TrafficSpec& spec, const TrafficProfile& profile,
                                  double line_gbps);
std::vector<Packet> generate(const TrafficSpec& spec, const TrafficProfile& profile,
                             double line_gbps);

}  // namespace traffic
