#include "sim/traffic/packet_build.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace traffic {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("packet builder: " + what);
}

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}

void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (24 - 8 * i));
}

void push16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

void push32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (24 - 8 * i)));
}

void append(Bytes& b, const uint8_t* p, size_t n) {
  b.insert(b.end(), p, p + n);
}

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// The stored checksum value for a mode, given the correct one.
uint16_t apply(Checksum mode, uint16_t correct) {
  switch (mode) {
    case Checksum::kCorrect:
      return correct;
    case Checksum::kZero:
      return 0;
    case Checksum::kWrong: {
      // Differs from the correct value and from its one's-complement twin
      // (0x0000 vs 0xffff), and is never 0, which UDP reads as "none".
      uint16_t v = correct ^ 0x00ff;
      if (v == 0 || v == 0xffff) v = correct ^ 0x0f0f;
      return v;
    }
  }
  return correct;
}

// TLV options padded with Pad1/PadN to a header of at least min_len bytes.
Ipv6Ext options_header(uint8_t type, const Bytes& options, size_t min_len) {
  Ipv6Ext e;
  e.type = type;
  e.data = options;
  size_t total = round_up(std::max(min_len, options.size() + 2), 8);
  size_t pad = total - 2 - options.size();
  if (pad == 1) {
    e.data.push_back(0);  // Pad1
  } else if (pad >= 2) {
    e.data.push_back(1);  // PadN
    e.data.push_back(uint8_t(pad - 2));
    e.data.insert(e.data.end(), pad - 2, 0);
  }
  return e;
}

size_t ext_size(const Ipv6Ext& e) {
  return round_up(2 + e.data.size(), 8);
}

size_t padded_options(const Bytes& o) {
  return round_up(o.size(), 4);
}

}  // namespace

uint32_t inet_sum(const uint8_t* data, size_t len, uint32_t partial) {
  uint64_t s = partial;
  for (size_t i = 0; i + 1 < len; i += 2) s += uint32_t(data[i]) << 8 | data[i + 1];
  if (len & 1) s += uint32_t(data[len - 1]) << 8;
  while (s >> 32) s = (s & 0xffffffffull) + (s >> 32);
  return uint32_t(s);
}

uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t partial) {
  uint64_t s = inet_sum(data, len, partial);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

Ipv4Addr parse_ipv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1)
    throw std::runtime_error(fmt::format("IPv4 address '{}': not a dotted quad", text));
  return ntohl(a.s_addr);
}

Ipv6Addr parse_ipv6(const std::string& text) {
  Ipv6Addr out{};
  if (inet_pton(AF_INET6, text.c_str(), out.data()) != 1)
    throw std::runtime_error(fmt::format("IPv6 address '{}': not a valid address", text));
  return out;
}

MacAddr parse_mac(const std::string& text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  MacAddr m{};
  bool ok = text.size() == 17;
  for (size_t i = 0; ok && i < 6; ++i) {
    int hi = hex(text[3 * i]), lo = hex(text[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':' && text[3 * i + 2] != '-'))
      ok = false;
    else
      m[i] = uint8_t(hi << 4 | lo);
  }
  if (!ok)
    throw std::runtime_error(fmt::format("MAC address '{}': expected aa:bb:cc:dd:ee:ff", text));
  return m;
}

std::string format_ipv4(Ipv4Addr a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string format_ipv6(const Ipv6Addr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

Ipv6Ext Ipv6Ext::hop_by_hop(const Bytes& options, size_t min_len) {
  return options_header(kIpv6HopByHop, options, min_len);
}

Ipv6Ext Ipv6Ext::dest_options(const Bytes& options, size_t min_len) {
  return options_header(kIpv6DestOptions, options, min_len);
}

Ipv6Ext Ipv6Ext::routing(uint8_t routing_type, uint8_t segments_left,
                         const std::vector<Ipv6Addr>& addresses) {
  Ipv6Ext e;
  e.type = kIpv6Routing;
  e.data = {routing_type, segments_left, 0, 0, 0, 0};
  // SRH: last entry, flags, tag in place of the reserved word.
  if (routing_type == 4 && !addresses.empty()) e.data[2] = uint8_t(addresses.size() - 1);
  for (const Ipv6Addr& a : addresses) append(e.data, a.data(), a.size());
  if (segments_left > 0 && !addresses.empty())
    e.final_dst = routing_type == 4 ? addresses.front() : addresses.back();
  return e;
}

Ipv6Ext Ipv6Ext::fragment(uint16_t offset, bool more, uint32_t id) {
  Ipv6Ext e;
  e.type = kIpv6Fragment;
  push16(e.data, uint16_t((offset & 0x1fff) << 3 | (more ? 1 : 0)));
  push32(e.data, id);
  return e;
}

Bytes tcp_opt_mss(uint16_t mss) {
  return {2, 4, uint8_t(mss >> 8), uint8_t(mss)};
}
Bytes tcp_opt_wscale(uint8_t shift) {
  return {3, 3, shift};
}
Bytes tcp_opt_sack_permitted() {
  return {4, 2};
}
Bytes tcp_opt_nop() {
  return {1};
}
Bytes tcp_opt_timestamp(uint32_t value, uint32_t echo) {
  Bytes b = {8, 10};
  push32(b, value);
  push32(b, echo);
  return b;
}

PacketBuilder& PacketBuilder::eth(const MacAddr& dst, const MacAddr& src) {
  dst_mac_ = dst;
  src_mac_ = src;
  return *this;
}

PacketBuilder& PacketBuilder::vlan(uint16_t vid, uint16_t tpid, uint8_t pcp, bool dei) {
  return vlan(VlanTag{vid, tpid, pcp, dei});
}

PacketBuilder& PacketBuilder::vlan(const VlanTag& tag) {
  tags_.push_back(tag);
  return *this;
}

PacketBuilder& PacketBuilder::ethertype(uint16_t type) {
  ethertype_ = type;
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(const Ipv4& h) {
  ipv4_ = h;
  ipv6_.reset();
  arp_.reset();
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(const Ipv6& h) {
  ipv6_ = h;
  ipv4_.reset();
  arp_.reset();
  return *this;
}

PacketBuilder& PacketBuilder::arp(const Arp& a) {
  arp_ = a;
  ipv4_.reset();
  ipv6_.reset();
  return *this;
}

PacketBuilder& PacketBuilder::tcp(const Tcp& h) {
  tcp_ = h;
  udp_.reset();
  icmp_.reset();
  return *this;
}

PacketBuilder& PacketBuilder::udp(const Udp& h) {
  udp_ = h;
  tcp_.reset();
  icmp_.reset();
  return *this;
}

PacketBuilder& PacketBuilder::icmp(const IcmpEcho& h) {
  icmp_ = h;
  tcp_.reset();
  udp_.reset();
  return *this;
}

PacketBuilder& PacketBuilder::payload(const Bytes& data) {
  payload_ = data;
  return *this;
}

PacketBuilder& PacketBuilder::payload_size(size_t n) {
  payload_.resize(n);
  for (size_t i = 0; i < n; ++i) payload_[i] = uint8_t(i * 7 + 1);
  return *this;
}

PacketBuilder& PacketBuilder::pad_to(size_t frame_len) {
  pad_to_ = frame_len;
  return *this;
}

size_t PacketBuilder::header_size() const {
  size_t n = 14 + 4 * tags_.size();
  if (ipv4_) n += 20 + padded_options(ipv4_->options);
  if (ipv6_) {
    n += 40;
    for (const Ipv6Ext& e : ipv6_->ext) n += ext_size(e);
  }
  if (arp_) n += 28;
  if (tcp_) n += 20 + padded_options(tcp_->options);
  if (udp_ || icmp_) n += 8;
  return n;
}

Bytes PacketBuilder::build() const {
  const bool has_l4 = tcp_ || udp_ || icmp_;
  if (has_l4 && !ipv4_ && !ipv6_) fail("a TCP, UDP or ICMP layer needs an IPv4 or IPv6 layer");
  if (ipv4_ && ipv4_->options.size() > 40)
    fail(fmt::format("IPv4 options of {} bytes exceed 40", ipv4_->options.size()));
  if (tcp_ && tcp_->options.size() > 40)
    fail(fmt::format("TCP options of {} bytes exceed 40", tcp_->options.size()));
  if (ipv6_) {
    for (const Ipv6Ext& e : ipv6_->ext)
      if (ext_size(e) > 2048)  // the length byte counts at most 256 units of 8 bytes
        fail(fmt::format("IPv6 extension header {} of {} bytes exceeds 2048", e.type, ext_size(e)));
  }

  // Transport segment (or bare payload) first: the network layer needs its
  // length and protocol.
  Bytes l4;
  uint8_t l4_proto = ipv4_ ? kProtoExperiment : kProtoNoNext;
  size_t csum_at = 0;
  Checksum csum_mode = Checksum::kCorrect;
  if (tcp_) {
    const Tcp& t = *tcp_;
    size_t len = 20 + padded_options(t.options);
    l4.assign(len, 0);
    put16(l4, 0, t.sport);
    put16(l4, 2, t.dport);
    put32(l4, 4, t.seq);
    put32(l4, 8, t.ack);
    l4[12] = uint8_t(t.data_offset.value_or(uint8_t(len / 4)) << 4);
    l4[13] = t.flags;
    put16(l4, 14, t.window);
    put16(l4, 18, t.urgent);
    std::copy(t.options.begin(), t.options.end(), l4.begin() + 20);
    l4_proto = kProtoTcp;
    csum_at = 16;
    csum_mode = t.checksum;
  } else if (udp_) {
    l4.assign(8, 0);
    put16(l4, 0, udp_->sport);
    put16(l4, 2, udp_->dport);
    put16(l4, 4, udp_->length.value_or(uint16_t(8 + payload_.size())));
    l4_proto = kProtoUdp;
    csum_at = 6;
    csum_mode = udp_->checksum;
  } else if (icmp_) {
    const IcmpEcho& c = *icmp_;
    l4.assign(8, 0);
    if (ipv6_)
      l4[0] = c.type.value_or(c.reply ? 129 : 128);
    else
      l4[0] = c.type.value_or(c.reply ? 0 : 8);
    l4[1] = c.code;
    put16(l4, 4, c.id);
    put16(l4, 6, c.seq);
    l4_proto = ipv6_ ? kProtoIcmpv6 : kProtoIcmp;
    csum_at = 2;
    csum_mode = c.checksum;
  }
  l4.insert(l4.end(), payload_.begin(), payload_.end());
  // Length fields are 16 bits: past that a packet cannot be said, only lied about.
  if (udp_ && !udp_->length && l4.size() > 0xffff)
    fail(fmt::format("UDP datagram of {} bytes exceeds 65535", l4.size()));

  // Pseudo-header sum for the transport checksum (ICMPv4 has none).
  uint32_t pseudo = 0;
  Bytes l3;
  if (ipv4_) {
    const Ipv4& h = *ipv4_;
    size_t hlen = 20 + padded_options(h.options);
    if (!h.total_length && hlen + l4.size() > 0xffff)
      fail(fmt::format("IPv4 packet of {} bytes exceeds 65535", hlen + l4.size()));
    l3.assign(hlen, 0);
    l3[0] = uint8_t(0x40 | (h.ihl.value_or(uint8_t(hlen / 4)) & 0x0f));
    l3[1] = h.tos;
    put16(l3, 2, h.total_length.value_or(uint16_t(hlen + l4.size())));
    put16(l3, 4, h.id);
    put16(l3, 6,
          uint16_t((h.evil ? 0x8000 : 0) | (h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) |
                   (h.frag_offset & 0x1fff)));
    l3[8] = h.ttl;
    l3[9] = h.protocol.value_or(l4_proto);
    put32(l3, 12, h.src);
    put32(l3, 16, h.dst);
    std::copy(h.options.begin(), h.options.end(), l3.begin() + 20);
    put16(l3, 10, apply(h.checksum, inet_checksum(l3.data(), l3.size())));
    Bytes ph(12, 0);
    put32(ph, 0, h.src);
    put32(ph, 4, h.dst);
    ph[9] = l4_proto;
    put16(ph, 10, uint16_t(l4.size()));
    pseudo = inet_sum(ph.data(), ph.size());
  } else if (ipv6_) {
    const Ipv6& h = *ipv6_;
    l3.assign(40, 0);
    put32(l3, 0, 0x60000000u | uint32_t(h.traffic_class) << 20 | (h.flow_label & 0xfffff));
    l3[7] = h.hop_limit;
    std::copy(h.src.begin(), h.src.end(), l3.begin() + 8);
    std::copy(h.dst.begin(), h.dst.end(), l3.begin() + 24);
    uint8_t last = h.next_header.value_or(l4_proto);
    l3[6] = h.ext.empty() ? last : h.ext[0].type;
    Ipv6Addr final_dst = h.dst;
    for (size_t i = 0; i < h.ext.size(); ++i) {
      const Ipv6Ext& e = h.ext[i];
      size_t at = l3.size(), n = ext_size(e);
      l3.resize(at + n, 0);
      l3[at] = i + 1 < h.ext.size() ? h.ext[i + 1].type : last;
      // The fragment header's second byte is reserved, not a length.
      l3[at + 1] = e.type == kIpv6Fragment ? 0 : uint8_t(n / 8 - 1);
      std::copy(e.data.begin(), e.data.end(), l3.begin() + at + 2);
      if (e.final_dst) final_dst = *e.final_dst;
    }
    size_t payload = l3.size() - 40 + l4.size();
    if (!h.payload_length && payload > 0xffff)
      fail(fmt::format("IPv6 payload of {} bytes exceeds 65535", payload));
    put16(l3, 4, h.payload_length.value_or(uint16_t(payload)));
    Bytes ph(40, 0);
    std::copy(h.src.begin(), h.src.end(), ph.begin());
    std::copy(final_dst.begin(), final_dst.end(), ph.begin() + 16);
    put32(ph, 32, uint32_t(l4.size()));
    ph[39] = l4_proto;
    pseudo = inet_sum(ph.data(), ph.size());
  } else if (arp_) {
    const Arp& a = *arp_;
    l3.assign(28, 0);
    put16(l3, 0, 1);  // Ethernet
    put16(l3, 2, kEthIpv4);
    l3[4] = 6;
    l3[5] = 4;
    put16(l3, 6, a.op);
    std::copy(a.sender_mac.begin(), a.sender_mac.end(), l3.begin() + 8);
    put32(l3, 14, a.sender_ip);
    std::copy(a.target_mac.begin(), a.target_mac.end(), l3.begin() + 18);
    put32(l3, 24, a.target_ip);
  }

  if (has_l4) {
    bool icmpv4 = l4_proto == kProtoIcmp;
    uint16_t c = inet_checksum(l4.data(), l4.size(), icmpv4 ? 0 : pseudo);
    // UDP sends a computed 0 as all ones: 0 means "no checksum" (RFC 768).
    if (l4_proto == kProtoUdp && c == 0) c = 0xffff;
    put16(l4, csum_at, apply(csum_mode, c));
  }

  Bytes f;
  f.reserve(std::max(header_size() + payload_.size(), pad_to_));
  append(f, dst_mac_.data(), 6);
  append(f, src_mac_.data(), 6);
  for (const VlanTag& t : tags_) {
    push16(f, t.tpid);
    push16(f, uint16_t((t.pcp & 7) << 13 | (t.dei ? 0x1000 : 0) | (t.vid & 0x0fff)));
  }
  uint16_t type = ipv4_ ? kEthIpv4 : ipv6_ ? kEthIpv6 : arp_ ? kEthArp : kEthExperimental;
  push16(f, ethertype_.value_or(type));
  f.insert(f.end(), l3.begin(), l3.end());
  f.insert(f.end(), l4.begin(), l4.end());  // transport header (if any) and payload
  if (f.size() < pad_to_) f.resize(pad_to_, 0);
  return f;
}

}  // namespace traffic
