// Packet crafting: Ethernet frames layer by layer, correct by default and
// broken on request (wrong checksums, lying lengths, odd header sizes), so
// tests and the generator can say exactly which rule a packet breaks.
//
//   Tcp tcp;
//   tcp.dport = 443;
//   tcp.flags = kTcpSyn | kTcpAck;
//   Ipv4 ip;
//   ip.dst = parse_ipv4("10.0.0.2");
//   Bytes frame = PacketBuilder().vlan(100).ipv4(ip).tcp(tcp).payload_size(32).build();
//
// Multi-byte fields are given in host order; the builder writes network order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace traffic {

using Bytes = std::vector<uint8_t>;
using MacAddr = std::array<uint8_t, 6>;
using Ipv4Addr = uint32_t;  // host order: 192.0.2.1 is 0xc0000201
using Ipv6Addr = std::array<uint8_t, 16>;

// Parsers throw std::runtime_error naming the text and what is wrong with it.
Ipv4Addr parse_ipv4(const std::string& text);  // dotted quad
Ipv6Addr parse_ipv6(const std::string& text);  // any RFC 4291 text form
MacAddr parse_mac(const std::string& text);    // aa:bb:cc:dd:ee:ff
std::string format_ipv4(Ipv4Addr a);
std::string format_ipv6(const Ipv6Addr& a);

// The Internet checksum (RFC 1071) of data, continuing from a partial sum;
// returns the complemented 16-bit result as stored in a header (host order).
uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t partial = 0);
// The running, uncomplemented sum, for pseudo-headers and split buffers.
uint32_t inet_sum(const uint8_t* data, size_t len, uint32_t partial = 0);

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthLldp = 0x88cc;
constexpr uint16_t kEthExperimental = 0x88b5;  // IEEE 802 local experimental
constexpr uint16_t kTpid8021Q = 0x8100;
constexpr uint16_t kTpid8021AD = 0x88a8;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoNoNext = 59;       // IPv6 "no next header"
constexpr uint8_t kProtoExperiment = 253;  // RFC 3692: the IPv4 default with no L4 layer

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestOptions = 60;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpUrg = 0x20;
constexpr uint8_t kTcpEce = 0x40;
constexpr uint8_t kTcpCwr = 0x80;

// What goes into a checksum field.
enum class Checksum {
  kCorrect,
  kWrong,  // a value that fails verification (never 0, which UDP reads as "none")
  kZero,   // 0: "no checksum" for UDP over IPv4, simply wrong elsewhere
};

struct VlanTag {
  uint16_t vid = 0;  // 12 bits
  uint16_t tpid = kTpid8021Q;
  uint8_t pcp = 0;  // 3 bits
  bool dei = false;
};

struct Ipv4 {
  Ipv4Addr src = 0xc6336401;  // 198.51.100.1 (TEST-NET-2)
  Ipv4Addr dst = 0xc0000201;  // 192.0.2.1 (TEST-NET-1)
  uint8_t tos = 0;
  uint16_t id = 1;
  bool evil = false;  // the reserved flag bit (RFC 3514)
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;  // 8-byte units, 13 bits
  uint8_t ttl = 64;
  std::optional<uint8_t> protocol;       // default: the L4 layer's, else kProtoExperiment
  Bytes options;                         // zero-padded (EOL) to 4 bytes; at most 40 bytes
  std::optional<uint8_t> ihl;            // header-length field in words; default from options
  std::optional<uint16_t> total_length;  // default: header + everything after it
  Checksum checksum = Checksum::kCorrect;
};

// One IPv6 extension header. `data` is what follows its next-header and
// length bytes; the builder pads it to the 8-byte multiple and fills both.
struct Ipv6Ext {
  uint8_t type = kIpv6DestOptions;
  Bytes data;
  std::optional<Ipv6Addr> final_dst;  // routing headers: the address L4 checksums use

  // Hop-by-hop / destination options: the given TLV options, then Pad1/PadN
  // up to `min_len` bytes of header (rounded up to 8).
  static Ipv6Ext hop_by_hop(const Bytes& options = {}, size_t min_len = 8);
  static Ipv6Ext dest_options(const Bytes& options = {}, size_t min_len = 8);
  // Routing type 0/2 list addresses in visiting order, type 4 (SRH) in
  // reverse; either way the final destination is taken when segments_left > 0.
  static Ipv6Ext routing(uint8_t routing_type, uint8_t segments_left,
                         const std::vector<Ipv6Addr>& addresses);
  // offset in 8-byte units (13 bits).
  static Ipv6Ext fragment(uint16_t offset, bool more, uint32_t id);
};

struct Ipv6 {
  Ipv6Addr src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // 2001:db8::1
  Ipv6Addr dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};  // 2001:db8::2
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // 20 bits
  uint8_t hop_limit = 64;
  std::vector<Ipv6Ext> ext;                // in wire order
  std::optional<uint8_t> next_header;      // after the last extension: default from the L4 layer
  std::optional<uint16_t> payload_length;  // default: everything after the fixed header
};

struct Tcp {
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 1;
  uint32_t ack = 0;
  uint8_t flags = kTcpSyn;
  uint16_t window = 65535;
  uint16_t urgent = 0;
  Bytes options;                       // zero-padded (EOL) to 4 bytes; at most 40 bytes
  std::optional<uint8_t> data_offset;  // header-length field in words; default from options
  Checksum checksum = Checksum::kCorrect;
};

// TCP option encodings, to concatenate into Tcp::options.
Bytes tcp_opt_mss(uint16_t mss);
Bytes tcp_opt_wscale(uint8_t shift);
Bytes tcp_opt_sack_permitted();
Bytes tcp_opt_timestamp(uint32_t value, uint32_t echo);
Bytes tcp_opt_nop();

struct Udp {
  uint16_t sport = 40000;
  uint16_t dport = 53;
  std::optional<uint16_t> length;  // default: header + payload
  Checksum checksum = Checksum::kCorrect;
};

// ICMP over IPv4 (echo: type 8/0) or ICMPv6 over IPv6 (echo: type 128/129),
// chosen by the network layer; type/code override it for other messages.
struct IcmpEcho {
  bool reply = false;
  uint16_t id = 1;
  uint16_t seq = 1;
  std::optional<uint8_t> type;
  uint8_t code = 0;
  Checksum checksum = Checksum::kCorrect;
};

// Ethernet/IPv4 ARP.
struct Arp {
  uint16_t op = 1;  // 1 request, 2 reply
  MacAddr sender_mac = {0x02, 0, 0, 0, 0, 0x01};
  Ipv4Addr sender_ip = 0xc6336401;
  MacAddr target_mac = {};
  Ipv4Addr target_ip = 0xc0000201;
};

// Layers are set in any order and each at most once (a later call replaces an
// earlier one); build() assembles Ethernet, tags, network layer, transport
// layer, payload, padding. Unset Ethernet addresses are 02:00:00:00:00:02
// (destination) and 02:00:00:00:00:01 (source). Tunnels: build the inner
// packet, drop its 14-byte Ethernet header and pass it as payload.
class PacketBuilder {
 public:
  PacketBuilder& eth(const MacAddr& dst, const MacAddr& src);
  PacketBuilder& vlan(uint16_t vid, uint16_t tpid = kTpid8021Q, uint8_t pcp = 0, bool dei = false);
  PacketBuilder& vlan(const VlanTag& tag);  // appended inside the tags set so far
  // The ethertype after the tags; default from the network layer, or
  // kEthExperimental when there is none. Set it to lie about the network layer.
  PacketBuilder& ethertype(uint16_t type);
  PacketBuilder& ipv4(const Ipv4& h);
  PacketBuilder& ipv6(const Ipv6& h);
  PacketBuilder& arp(const Arp& a);
  PacketBuilder& tcp(const Tcp& h);
  PacketBuilder& udp(const Udp& h);
  PacketBuilder& icmp(const IcmpEcho& h);
  PacketBuilder& payload(const Bytes& data);
  // n payload bytes of a fixed pattern (i * 7 + 1).
  PacketBuilder& payload_size(size_t n);
  // Zero bytes after everything else up to this frame length (Ethernet padding:
  // not counted in IP or UDP lengths).
  PacketBuilder& pad_to(size_t frame_len);

  // Frame length without payload and padding: where the payload starts.
  size_t header_size() const;
  // Throws std::runtime_error on impossible requests: a transport layer with
  // no network layer (ARP counts as none), options over 40 bytes, a length
  // past its 16-bit field unless that field is overridden.
  Bytes build() const;

 private:
  MacAddr dst_mac_ = {0x02, 0, 0, 0, 0, 0x02};
  MacAddr src_mac_ = {0x02, 0, 0, 0, 0, 0x01};
  std::vector<VlanTag> tags_;
  std::optional<uint16_t> ethertype_;
  std::optional<Ipv4> ipv4_;
  std::optional<Ipv6> ipv6_;
  std::optional<Arp> arp_;
  std::optional<Tcp> tcp_;
  std::optional<Udp> udp_;
  std::optional<IcmpEcho> icmp_;
  Bytes payload_;
  size_t pad_to_ = 0;
};

}  // namespace traffic
