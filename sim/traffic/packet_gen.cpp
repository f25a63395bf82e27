#include "sim/traffic/packet_gen.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace traffic {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? (next() >> 11) % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <typename T>
  T pick(const std::vector<T>& v, T fallback) {
    return v.empty() || !chance(70) ? fallback : v[below(v.size())];
  }

 private:
  uint64_t s_;
};

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) s += uint32_t(p[n - 1]) << 8;
  return s;
}

uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

enum Proto : uint8_t { kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58, kOther = 47 };

// One packet's recipe; build() turns it into bytes.
struct Spec {
  std::vector<std::pair<uint16_t, uint16_t>> vlans;  // (tpid, vid), outermost first
  bool ipv6 = false;
  uint16_t ethertype = 0;  // non-IP frames: this ethertype and a payload
  uint32_t src = 0x0a000001, dst = 0x0a000101;
  uint8_t proto = kUdp;
  uint16_t sport = 12345, dport = 80;
  uint8_t ttl = 64;
  uint8_t ip_opts_words = 0;
  uint16_t frag = 0;         // flags and offset field of IPv4
  std::vector<uint8_t> ext;  // IPv6 extension header types, in order
  uint8_t icmp_type = 8;
  bool bad_ip_csum = false, bad_l4_csum = false;
  size_t payload = 18;
};

std::vector<uint8_t> build(const Spec& s) {
  std::vector<uint8_t> b(12, 0);
  const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02}, smac[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(b.data(), dmac, 6);
  std::memcpy(b.data() + 6, smac, 6);
  auto push16 = [&](uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
  };
  for (auto [tpid, vid] : s.vlans) push16(tpid), push16(vid);
  if (s.ethertype) {
    push16(s.ethertype);
    for (size_t i = 0; i < s.payload + 28; ++i) b.push_back(uint8_t(i * 7));
    return b;
  }
  push16(s.ipv6 ? 0x86dd : 0x0800);
  size_t l3 = b.size();
  size_t l4_len = (s.proto == kTcp ? 20 : 8) + s.payload;
  uint8_t l4proto = s.proto;
  if (!s.ipv6) {
    size_t ihl = 5 + s.ip_opts_words;
    b.resize(l3 + ihl * 4, 1);  // options: NOPs
    b[l3] = uint8_t(0x40 | ihl);
    b[l3 + 1] = 0;
    put16(b, l3 + 2, uint16_t(ihl * 4 + l4_len));
    put16(b, l3 + 4, 0x1234);
    put16(b, l3 + 6, s.frag);
    b[l3 + 8] = s.ttl;
    b[l3 + 9] = s.proto;
    put16(b, l3 + 10, 0);
    uint32_t src = htonl(s.src), dst = htonl(s.dst);
    std::memcpy(&b[l3 + 12], &src, 4);
    std::memcpy(&b[l3 + 16], &dst, 4);
    put16(b, l3 + 10, uint16_t(fold(sum16(&b[l3], ihl * 4)) ^ (s.bad_ip_csum ? 0x5a5a : 0)));
  } else {
    b.resize(l3 + 40, 0);
    b[l3] = 0x60;
    b[l3 + 6] = s.ext.empty() ? s.proto : s.ext[0];
    b[l3 + 7] = s.ttl;
    b[l3 + 8] = 0x20, b[l3 + 9] = 0x01;  // 2001::src / 2001::dst
    b[l3 + 24] = 0x20, b[l3 + 25] = 0x01;
    uint32_t src = htonl(s.src), dst = htonl(s.dst);
    std::memcpy(&b[l3 + 20], &src, 4);
    std::memcpy(&b[l3 + 36], &dst, 4);
    for (size_t i = 0; i < s.ext.size(); ++i) {
      uint8_t next = i + 1 < s.ext.size() ? s.ext[i + 1] : s.proto;
      size_t at = b.size();
      b.resize(at + 8, 0);
      b[at] = next;  // 8-byte headers (the fragment header is 8 bytes by definition)
    }
    put16(b, l3 + 4, uint16_t(b.size() - l3 - 40 + l4_len));
    if (s.proto == kIcmp) l4proto = kIcmp6;
  }
  size_t l4 = b.size();
  b.resize(l4 + l4_len, 0);
  for (size_t i = 0; i < s.payload; ++i) b[b.size() - s.payload + i] = uint8_t(0x41 + i % 26);
  size_t csum_at = 0;
  if (s.proto == kTcp) {
    put16(b, l4, s.sport), put16(b, l4 + 2, s.dport);
    put16(b, l4 + 4, 0x0001), put16(b, l4 + 8, 0);
    b[l4 + 12] = 0x50, b[l4 + 13] = 0x18;  // data offset 5, PSH|ACK
    put16(b, l4 + 14, 0xffff);
    csum_at = l4 + 16;
  } else if (s.proto == kUdp) {
    put16(b, l4, s.sport), put16(b, l4 + 2, s.dport), put16(b, l4 + 4, uint16_t(l4_len));
    csum_at = l4 + 6;
  } else if (s.proto == kIcmp) {
    b[l4] = s.ipv6 ? (s.icmp_type == 8 ? 128 : 129) : s.icmp_type;
    put16(b, l4 + 4, 0x4242), put16(b, l4 + 6, 1);
    csum_at = l4 + 2;
  }
  if (csum_at) {
    uint32_t ps = 0;
    if (s.ipv6) {
      ps = sum16(&b[l3 + 8], 32) + uint32_t(l4_len) + l4proto;
    } else if (s.proto != kIcmp) {
      ps = sum16(&b[l3 + 12], 8) + uint32_t(l4_len) + s.proto;
    }
    uint16_t c = fold(sum16(&b[l4], l4_len, ps));
    if (s.proto == kUdp && c == 0) c = 0xffff;
    put16(b, csum_at, uint16_t(c ^ (s.bad_l4_csum ? 0x1111 : 0)));
  }
  return b;
}

uint8_t proto_of(const std::string& n) {
  if (n == "tcp") return kTcp;
  if (n == "udp") return kUdp;
  if (n == "icmp" || n == "icmpv6") return kIcmp;
  return kOther;
}

}  // namespace

TrafficProfile TrafficProfile::from_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error(path + ": not a JSON object");
  TrafficProfile p;
  try {
    auto addrs = [&](const char* key, std::vector<uint32_t>& out) {
      if (!j.contains(key)) return;
      for (const auto& a : j[key]) {
        in_addr x;
        if (inet_pton(AF_INET, a.get<std::string>().c_str(), &x) != 1)
          throw std::runtime_error(
              fmt::format("{}: \"{}\" is not an IPv4 address", key, a.get<std::string>()));
        out.push_back(ntohl(x.s_addr));
      }
    };
    addrs("src_ipv4", p.src_ipv4);
    addrs("dst_ipv4", p.dst_ipv4);
    if (j.contains("src_ports")) p.src_ports = j["src_ports"].get<std::vector<uint16_t>>();
    if (j.contains("dst_ports")) p.dst_ports = j["dst_ports"].get<std::vector<uint16_t>>();
    if (j.contains("protocols")) p.protocols = j["protocols"].get<std::vector<std::string>>();
    if (j.contains("vlan_ids")) p.vlan_ids = j["vlan_ids"].get<std::vector<uint16_t>>();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  return p;
}

std::vector<Packet> edge_cases(const TrafficProfile& p) {
  std::vector<std::vector<uint8_t>> out;
  Spec base;
  if (!p.src_ipv4.empty()) base.src = p.src_ipv4[0];
  if (!p.dst_ipv4.empty()) base.dst = p.dst_ipv4[0];
  if (!p.dst_ports.empty()) base.dport = p.dst_ports[0];
  // Every prefix of four typical frames.
  Spec tcp = base, udp = base, v6 = base, vicmp = base;
  tcp.proto = kTcp;
  v6.ipv6 = true;
  vicmp.proto = kIcmp;
  vicmp.vlans = {{0x8100, p.vlan_ids.empty() ? 100 : p.vlan_ids[0]}};
  for (const Spec& s : {tcp, udp, v6, vicmp}) {
    std::vector<uint8_t> full = build(s);
    for (size_t n = 14; n <= full.size(); ++n) out.emplace_back(full.begin(), full.begin() + n);
  }
  auto add = [&](Spec s) { out.push_back(build(s)); };
  for (uint8_t w = 1; w <= 10; ++w) {  // IPv4 options: IHL 6..15
    Spec s = tcp;
    s.ip_opts_words = w;
    add(s);
  }
  for (uint8_t ihl : {0, 1, 4, 5, 15}) {  // header length field against the frame
    std::vector<uint8_t> f = build(udp);
    f[14] = uint8_t(0x40 | ihl);
    out.push_back(f);
    f[14] = uint8_t(0x60 | ihl);  // IPv6 version nibble under an IPv4 ethertype
    out.push_back(f);
  }
  for (uint16_t tot : {0, 19, 20, 28, 1500, 65535}) {
    std::vector<uint8_t> f = build(udp);
    put16(f, 16, tot);
    out.push_back(f);
  }
  for (uint16_t frag : {0x2000, 0x2001, 0x0001, 0x00b9, 0x4000, 0x6000}) {  // MF, offsets, DF
    for (uint8_t proto : {kTcp, kUdp, kIcmp}) {
      Spec s = base;
      s.proto = proto;
      s.frag = frag;
      add(s);
    }
  }
  for (uint8_t ttl : {0, 1, 2, 255}) {
    for (uint8_t proto : {kTcp, kUdp, kIcmp}) {
      Spec s = base;
      s.ttl = ttl;
      s.proto = proto;
      add(s);
    }
  }
  for (int bad = 1; bad <= 3; ++bad) {
    for (uint8_t proto : {kTcp, kUdp, kIcmp}) {
      Spec s = base;
      s.proto = proto;
      s.bad_ip_csum = bad & 1;
      s.bad_l4_csum = bad & 2;
      add(s);
    }
  }
  for (size_t tags = 1; tags <= 3; ++tags) {  // VLAN stacks, 802.1Q and 802.1ad
    for (uint16_t outer : {0x8100, 0x88a8}) {
      for (uint16_t vid : p.vlan_ids.empty() ? std::vector<uint16_t>{1, 100, 4095} : p.vlan_ids) {
        Spec s = base;
        for (size_t t = 0; t < tags; ++t)
          s.vlans.push_back({t == 0 ? outer : uint16_t(0x8100), uint16_t(vid + t)});
        add(s);
        s.proto = kIcmp;
        add(s);
      }
    }
  }
  for (size_t n = 0; n <= 9; ++n) {  // IPv6 extension chains
    Spec s = v6;
    static const uint8_t kinds[] = {0, 43, 60, 44};
    for (size_t i = 0; i < n; ++i) s.ext.push_back(kinds[i % 4]);
    add(s);
    s.proto = kTcp;
    add(s);
  }
  for (uint32_t dst : p.dst_ipv4) {  // ICMP echo and each protocol and port to each address
    for (uint32_t src : p.src_ipv4.empty() ? std::vector<uint32_t>{base.src} : p.src_ipv4) {
      Spec s = base;
      s.src = src;
      s.dst = dst;
      s.proto = kIcmp;
      add(s);
      s.icmp_type = 0;
      add(s);
      for (uint8_t proto : {kTcp, kUdp}) {
        for (uint16_t port : p.dst_ports.empty() ? std::vector<uint16_t>{80} : p.dst_ports) {
          s.proto = proto;
          s.dport = port;
          add(s);
        }
      }
    }
  }
  for (uint16_t et : {0x0806, 0x88cc, 0x1234, 0x0000, 0xffff}) {
    Spec s = base;
    s.ethertype = et;
    add(s);
  }
  for (size_t payload : {0, 6, 1472, 2000, 2900}) {  // 14..3000-byte frames
    Spec s = base;
    s.payload = payload;
    add(s);
  }
  out.push_back(std::vector<uint8_t>(14, 0));
  out.push_back(std::vector<uint8_t>(60, 0xff));
  std::vector<Packet> pk;
  for (auto& f : out) pk.push_back(Packet{std::move(f), pk.size() * 1000});
  return pk;
}

std::vector<Packet> random_packets(const TrafficProfile& p, size_t count, uint64_t seed) {
  Rng r(seed);
  std::vector<uint8_t> protos;
  for (const std::string& n : p.protocols) protos.push_back(proto_of(n));
  std::vector<Packet> out;
  for (size_t i = 0; i < count; ++i) {
    Spec s;
    s.src = r.pick(p.src_ipv4, uint32_t(0x0a000000 | r.below(1 << 16)));
    s.dst = r.pick(p.dst_ipv4, uint32_t(r.next()));
    s.sport = r.pick(p.src_ports, uint16_t(1024 + r.below(60000)));
    s.dport = r.pick(p.dst_ports, uint16_t(r.below(65536)));
    static const std::vector<uint8_t> kAll = {kTcp, kUdp, kIcmp};
    s.proto = r.pick(protos, kAll[r.below(3)]);
    if (s.proto == kOther) s.proto = kAll[r.below(3)];
    s.ipv6 = r.chance(15);
    s.ttl = uint8_t(r.chance(5) ? r.below(3) : 64);
    s.icmp_type = r.chance(80) ? 8 : uint8_t(r.below(20));
    if (r.chance(20)) s.vlans.push_back({0x8100, r.pick(p.vlan_ids, uint16_t(r.below(4096)))});
    uint64_t k = r.below(100);
    s.payload = k < 40 ? r.below(80) : k < 70 ? 80 + r.below(500) : 580 + r.below(900);
    std::vector<uint8_t> f = build(s);
    if (r.chance(20)) {  // mutate: flip a byte, cut short, or change the ethertype
      switch (r.below(3)) {
        case 0:
          f[r.below(f.size())] ^= uint8_t(1 + r.below(255));
          break;
        case 1:
          f.resize(14 + r.below(f.size() - 14));
          break;
        default:
          put16(f, 12 + 4 * s.vlans.size(), uint16_t(r.next()));
          break;
      }
    }
    out.push_back(Packet{std::move(f), i * 1000});
  }
  return out;
}

std::vector<Packet> packet_set(const TrafficProfile& p, size_t total, uint64_t seed) {
  std::vector<Packet> out = edge_cases(p);
  if (out.size() > total) out.resize(total);
  std::vector<Packet> rnd = random_packets(p, total - out.size(), seed);
  for (Packet& k : rnd) {
    k.ts_ns += out.size() * 1000;
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace traffic
