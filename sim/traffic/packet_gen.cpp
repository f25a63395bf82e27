#include "sim/traffic/packet_gen.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace traffic {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  if (n == 0) return 0;
  // Draws at or above the largest multiple of n are redrawn, so every residue
  // is equally likely; at most half the draws are rejected even for n = 2^63+1.
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - max % n;
  uint64_t x;
  do x = next();
  while (x >= limit);
  return x % n;
}

// ---------------------------------------------------------------- profile

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& why) {
  std::string line = origin + ": " + why;
  std::replace(line.begin(), line.end(), '\n', ' ');
  throw std::runtime_error(line);
}

const json& list_of(const json& v, const std::string& key, const std::string& origin) {
  if (!v.is_array()) bad(origin, fmt::format("'{}' must be a list", key));
  return v;
}

std::vector<uint16_t> int_list(const json& v, const std::string& key, uint64_t max,
                               const char* what, const std::string& origin) {
  std::vector<uint16_t> out;
  size_t i = 0;
  for (const json& e : list_of(v, key, origin)) {
    bool ok = e.is_number_unsigned() ||
              (e.is_number_integer() && e.get<int64_t>() >= 0);  // e.g. parsed as signed
    if (!ok || e.get<uint64_t>() > max)
      bad(origin, fmt::format("{}[{}]: {} is not {} (0..{})", key, i, e.dump(), what, max));
    out.push_back(uint16_t(e.get<uint64_t>()));
    ++i;
  }
  return out;
}

std::vector<std::string> string_list(const json& v, const std::string& key,
                                     const std::string& origin) {
  std::vector<std::string> out;
  size_t i = 0;
  for (const json& e : list_of(v, key, origin)) {
    if (!e.is_string()) bad(origin, fmt::format("{}[{}]: {} is not a string", key, i, e.dump()));
    out.push_back(e.get<std::string>());
    ++i;
  }
  return out;
}

Protocol parse_protocol(const std::string& s, size_t i, const std::string& origin) {
  if (s == "tcp") return Protocol::kTcp;
  if (s == "udp") return Protocol::kUdp;
  if (s == "icmp") return Protocol::kIcmp;
  if (s == "icmpv6") return Protocol::kIcmpv6;
  if (s == "other") return Protocol::kOther;
  bad(origin, fmt::format("protocols[{}]: '{}' is not one of tcp, udp, icmp, icmpv6, other", i, s));
}

// nlohmann prefixes its messages with "[json.exception.parse_error.101] ".
std::string json_reason(const std::exception& e) {
  std::string s = e.what();
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  return s;
}

}  // namespace

TrafficProfile TrafficProfile::from_json_text(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(origin, "invalid JSON: " + json_reason(e));
  }
  if (!j.is_object()) bad(origin, "a traffic profile must be a JSON object");
  TrafficProfile p;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (!key.empty() && key[0] == '_') continue;  // comment
    if (key == "dst_ipv4" || key == "src_ipv4") {
      std::vector<Ipv4Addr>& dst = key == "dst_ipv4" ? p.dst_ipv4 : p.src_ipv4;
      std::vector<std::string> s = string_list(v, key, origin);
      for (size_t i = 0; i < s.size(); ++i) {
        try {
          dst.push_back(parse_ipv4(s[i]));
        } catch (const std::runtime_error& e) {
          bad(origin, fmt::format("{}[{}]: {}", key, i, e.what()));
        }
      }
    } else if (key == "dst_ipv6") {
      std::vector<std::string> s = string_list(v, key, origin);
      for (size_t i = 0; i < s.size(); ++i) {
        try {
          p.dst_ipv6.push_back(parse_ipv6(s[i]));
        } catch (const std::runtime_error& e) {
          bad(origin, fmt::format("{}[{}]: {}", key, i, e.what()));
        }
      }
    } else if (key == "dst_ports") {
      p.dst_ports = int_list(v, key, 65535, "a port", origin);
    } else if (key == "src_ports") {
      p.src_ports = int_list(v, key, 65535, "a port", origin);
    } else if (key == "vlan_ids") {
      p.vlan_ids = int_list(v, key, 4095, "a VLAN id", origin);
    } else if (key == "protocols") {
      std::vector<std::string> s = string_list(v, key, origin);
      for (size_t i = 0; i < s.size(); ++i) p.protocols.push_back(parse_protocol(s[i], i, origin));
    } else {
      bad(origin, fmt::format("unknown key '{}' (expected dst_ipv4, src_ipv4, dst_ipv6, "
                              "dst_ports, src_ports, protocols, vlan_ids)",
                              key));
    }
  }
  return p;
}

TrafficProfile TrafficProfile::from_json_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) bad(path, "is a directory, not a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) bad(path, "read error");
  return from_json_text(text.str(), path);
}

// ---------------------------------------------------------------- shared helpers

namespace {

constexpr MacAddr kDstMac = {0x02, 0, 0, 0, 0, 0x02};
constexpr MacAddr kSrcMac = {0x02, 0, 0, 0, 0, 0x01};
constexpr size_t kMaxPerList = 32;  // edge cases per configured value list, at most

template <typename T>
T first_or(const std::vector<T>& v, T fallback) {
  return v.empty() ? fallback : v.front();
}

template <typename T>
std::vector<T> capped(const std::vector<T>& v, size_t n, T fallback) {
  if (v.empty()) return {fallback};
  return std::vector<T>(v.begin(), v.begin() + std::min(v.size(), n));
}

void set16(Bytes& b, size_t at, uint16_t v) {
  if (at + 1 < b.size()) {
    b[at] = uint8_t(v >> 8);
    b[at + 1] = uint8_t(v);
  }
}

// Stamps packets 1 us apart, from zero.
void number(std::vector<Packet>& v) {
  for (size_t i = 0; i < v.size(); ++i) v[i].ts_ns = i * kPacketGapNs;
}

// ---------------------------------------------------------------- edge cases

class Edges {
 public:
  explicit Edges(const TrafficProfile& p)
      : p_(p),
        src4_(first_or(p.src_ipv4, parse_ipv4("198.51.100.1"))),
        dst4_(first_or(p.dst_ipv4, parse_ipv4("192.0.2.1"))),
        dst6_(first_or(p.dst_ipv6, parse_ipv6("2001:db8::2"))),
        sport_(first_or<uint16_t>(p.src_ports, 40000)),
        dport_(first_or<uint16_t>(p.dst_ports, 80)),
        vid_(first_or<uint16_t>(p.vlan_ids, 100)) {}

  std::vector<EdgeCase> run() {
    truncations();
    ipv4_headers();
    lengths();
    fragments();
    ttls();
    checksums();
    vlans();
    ipv6_chains();
    icmp();
    ports_and_protocols();
    tcp_details();
    non_ip();
    sizes();
    addresses();
    return std::move(out_);
  }

 private:
  void add(const std::string& name, Bytes frame) {
    if (frame.size() < 14) return;  // BPF_PROG_TEST_RUN refuses these for XDP
    EdgeCase e;
    e.name = name;
    e.packet.data = std::move(frame);
    out_.push_back(std::move(e));
  }
  void add(const std::string& name, const PacketBuilder& b) { add(name, b.build()); }

  Ipv4 ip4() const {
    Ipv4 h;
    h.src = src4_;
    h.dst = dst4_;
    h.id = 0x1234;
    return h;
  }
  Ipv6 ip6() const {
    Ipv6 h;
    h.dst = dst6_;
    return h;
  }
  Tcp tcp(uint8_t flags = kTcpAck | kTcpPsh) const {
    Tcp t;
    t.sport = sport_;
    t.dport = dport_;
    t.seq = 0x01020304;
    t.ack = flags & kTcpAck ? 0x0a0b0c0d : 0;
    t.flags = flags;
    return t;
  }
  Udp udp() const {
    Udp u;
    u.sport = sport_;
    u.dport = dport_;
    return u;
  }
  PacketBuilder v4() const { return PacketBuilder().ipv4(ip4()); }
  PacketBuilder v6() const { return PacketBuilder().ipv6(ip6()); }
  // One IPv4 packet per transport kind, for cases that vary the IP header.
  PacketBuilder with_l4(PacketBuilder b, const std::string& l4) const {
    if (l4 == "tcp") return b.tcp(tcp()).payload_size(12);
    if (l4 == "udp") return b.udp(udp()).payload_size(12);
    return b.icmp(IcmpEcho{}).payload_size(12);
  }

  void truncations() {
    Tcp t = tcp();
    t.options = tcp_opt_nop();
    for (uint8_t x : tcp_opt_nop()) t.options.push_back(x);
    for (uint8_t x : tcp_opt_timestamp(0x11223344, 0x55667788)) t.options.push_back(x);
    Ipv6 frag = ip6();
    frag.ext = {Ipv6Ext::hop_by_hop(), Ipv6Ext::fragment(0, true, 0xabcd)};
    const std::vector<std::pair<std::string, Bytes>> full = {
        {"eth-ipv4-tcp", v4().tcp(t).payload_size(8).build()},
        {"eth-ipv4-udp", v4().udp(udp()).payload_size(8).build()},
        {"eth-ipv6-udp", v6().udp(udp()).payload_size(8).build()},
        {"eth-vlan-ipv4-icmp", v4().vlan(vid_).icmp(IcmpEcho{}).payload_size(8).build()},
        {"eth-ipv6-tcp", v6().tcp(tcp()).payload_size(4).build()},
        {"eth-ipv6-hbh-frag-udp", PacketBuilder().ipv6(frag).udp(udp()).payload_size(8).build()},
    };
    for (const auto& [name, frame] : full)
      for (size_t len = 0; len <= frame.size(); ++len)
        add(fmt::format("truncated/{}/len={}", name, len),
            Bytes(frame.begin(), frame.begin() + len));
  }

  void ipv4_headers() {
    for (uint8_t ihl = 6; ihl <= 15; ++ihl) {
      for (const char* l4 : {"tcp", "udp"}) {
        Ipv4 h = ip4();
        h.options.assign((ihl - 5) * 4u, 1);  // NOPs, then end of list
        h.options.back() = 0;
        add(fmt::format("ipv4/ihl={}/{}", ihl, l4), with_l4(PacketBuilder().ipv4(h), l4));
      }
    }
    const std::vector<std::pair<std::string, Bytes>> opts = {
        {"router-alert", {0x94, 4, 0, 0}},
        {"record-route",
         [] {
           Bytes b(40, 0);
           b[0] = 7, b[1] = 39, b[2] = 4;
           return b;
         }()},
        {"timestamp", {68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
        {"option-length-0", {0x83, 0, 0, 0}},
        {"option-length-1", {0x83, 1, 0, 0}},
        {"option-past-header", {7, 40, 4, 0}},
        {"unknown-option", {0x9e, 4, 0xaa, 0xbb}},
    };
    for (const auto& [name, o] : opts) {
      Ipv4 h = ip4();
      h.options = o;
      add("ipv4/options/" + name, with_l4(PacketBuilder().ipv4(h), "udp"));
    }
    for (uint8_t ihl = 0; ihl < 5; ++ihl) {
      Ipv4 h = ip4();
      h.ihl = ihl;
      add(fmt::format("ipv4/ihl={}", ihl), with_l4(PacketBuilder().ipv4(h), "udp"));
    }
    for (uint8_t ihl : {6, 15}) {
      Ipv4 h = ip4();
      h.ihl = ihl;  // claims options that are not there
      add(fmt::format("ipv4/ihl={}-without-options", ihl), with_l4(PacketBuilder().ipv4(h), "udp"));
    }
    for (uint8_t version : {0, 6, 15}) {
      Bytes f = with_l4(v4(), "udp").build();
      f[14] = uint8_t(version << 4 | 5);
      add(fmt::format("ipv4/version={}", version), f);
    }
  }

  void lengths() {
    Bytes base = v4().udp(udp()).payload_size(18).build();
    const uint16_t exact = uint16_t(base.size() - 14);
    for (uint16_t tl : {0, 1, 19, 20, 27, 28, exact - 1, exact + 1, 100, 1500, 65535}) {
      Ipv4 h = ip4();
      h.total_length = tl;
      add(fmt::format("ipv4/total-length={}", tl), v4().ipv4(h).udp(udp()).payload_size(18));
    }
    add("ipv4/padded-frame", v4().udp(udp()).payload_size(2).pad_to(60));
    add("ipv4/padded-frame-nonzero", [&] {
      Bytes f = v4().udp(udp()).payload_size(2).build();
      f.resize(60, 0xee);  // trailer bytes that are not zero
      return f;
    }());
    for (uint16_t ul : {0, 7, 8, 25, 27, 1000, 65535}) {
      Udp u = udp();
      u.length = ul;
      add(fmt::format("udp/length={}", ul), v4().udp(u).payload_size(18));
    }
    for (uint8_t off : {0, 1, 4, 6, 15}) {
      Tcp t = tcp();
      t.data_offset = off;
      add(fmt::format("tcp/data-offset={}", off), v4().tcp(t).payload_size(12));
    }
    Bytes b6 = v6().udp(udp()).payload_size(18).build();
    const uint16_t exact6 = uint16_t(b6.size() - 54);
    for (uint16_t pl : {0, 7, exact6 - 1, exact6 + 1, 65535}) {
      Ipv6 h = ip6();
      h.payload_length = pl;
      add(fmt::format("ipv6/payload-length={}", pl), v6().ipv6(h).udp(udp()).payload_size(18));
    }
  }

  void fragments() {
    struct Kind {
      const char* name;
      bool df, mf, evil;
      uint16_t offset;
    };
    const Kind kinds[] = {
        {"first", false, true, false, 0},         {"middle", false, true, false, 185},
        {"last", false, false, false, 370},       {"df", true, false, false, 0},
        {"df-mf", true, true, false, 0},          {"df-offset", true, false, false, 185},
        {"offset=1", false, true, false, 1},      {"offset-max", false, false, false, 0x1fff},
        {"reserved-flag", false, false, true, 0},
    };
    for (const char* l4 : {"tcp", "udp", "icmp"}) {
      for (const Kind& k : kinds) {
        Ipv4 h = ip4();
        h.df = k.df;
        h.mf = k.mf;
        h.evil = k.evil;
        h.frag_offset = k.offset;
        add(fmt::format("ipv4-frag/{}/{}", l4, k.name), with_l4(PacketBuilder().ipv4(h), l4));
      }
    }
    // Fragments as they really look: only the first carries the L4 header.
    Ipv4 mid = ip4();
    mid.protocol = kProtoTcp;
    mid.mf = true;
    mid.frag_offset = 185;
    add("ipv4-frag/tcp/middle-no-header", v4().ipv4(mid).payload_size(24));
    Ipv4 first = ip4();
    first.protocol = kProtoTcp;
    first.mf = true;
    add("ipv4-frag/tcp/first-shorter-than-header", v4().ipv4(first).payload_size(8));
  }

  void ttls() {
    for (uint8_t ttl : {0, 1, 255}) {
      for (const char* l4 : {"tcp", "udp", "icmp"}) {
        Ipv4 h = ip4();
        h.ttl = ttl;
        add(fmt::format("ipv4/ttl={}/{}", ttl, l4), with_l4(PacketBuilder().ipv4(h), l4));
      }
      Ipv6 h = ip6();
      h.hop_limit = ttl;
      add(fmt::format("ipv6/hop-limit={}/udp", ttl), v6().ipv6(h).udp(udp()).payload_size(12));
    }
  }

  void checksums() {
    for (const char* l4 : {"tcp", "udp", "icmp"}) {
      Ipv4 h = ip4();
      h.checksum = Checksum::kWrong;
      add(fmt::format("checksum/ipv4-wrong/{}", l4), with_l4(PacketBuilder().ipv4(h), l4));
    }
    Ipv4 z = ip4();
    z.checksum = Checksum::kZero;
    add("checksum/ipv4-zero/udp", with_l4(PacketBuilder().ipv4(z), "udp"));
    for (Checksum c : {Checksum::kWrong, Checksum::kZero}) {
      const char* how = c == Checksum::kWrong ? "wrong" : "zero";
      Tcp t = tcp();
      t.checksum = c;
      Udp u = udp();
      u.checksum = c;
      IcmpEcho e;
      e.checksum = c;
      add(fmt::format("checksum/tcp-{}/ipv4", how), v4().tcp(t).payload_size(12));
      add(fmt::format("checksum/udp-{}/ipv4", how), v4().udp(u).payload_size(12));
      add(fmt::format("checksum/icmp-{}/ipv4", how), v4().icmp(e).payload_size(12));
      add(fmt::format("checksum/tcp-{}/ipv6", how), v6().tcp(t).payload_size(12));
      add(fmt::format("checksum/udp-{}/ipv6", how), v6().udp(u).payload_size(12));
      add(fmt::format("checksum/icmpv6-{}/ipv6", how), v6().icmp(e).payload_size(12));
    }
    Ipv4 h = ip4();
    h.checksum = Checksum::kWrong;
    Tcp t = tcp();
    t.checksum = Checksum::kWrong;
    add("checksum/ipv4-and-tcp-wrong", v4().ipv4(h).tcp(t).payload_size(12));
  }

  void vlans() {
    const std::vector<std::vector<uint16_t>> stacks = {
        {kTpid8021Q},
        {kTpid8021AD},
        {kTpid8021AD, kTpid8021Q},
        {kTpid8021Q, kTpid8021Q},
        {kTpid8021AD, kTpid8021AD},
        {kTpid8021AD, kTpid8021Q, kTpid8021Q},
        {kTpid8021Q, kTpid8021Q, kTpid8021Q},
        {kTpid8021AD, kTpid8021AD, kTpid8021Q},
    };
    for (const auto& stack : stacks) {
      std::string sname;
      for (uint16_t tpid : stack) sname += fmt::format("{}{:04x}", sname.empty() ? "" : "-", tpid);
      // The innermost tag carries the profile's VLAN: what a program sees after popping.
      auto tagged = [&](PacketBuilder b) {
        for (size_t i = 0; i < stack.size(); ++i)
          b.vlan(i + 1 == stack.size() ? vid_ : uint16_t(200 + i), stack[i]);
        return b;
      };
      add(fmt::format("vlan/{}/ipv4-udp", sname), tagged(v4()).udp(udp()).payload_size(12));
      add(fmt::format("vlan/{}/ipv4-icmp", sname), tagged(v4()).icmp(IcmpEcho{}).payload_size(12));
      add(fmt::format("vlan/{}/ipv6-tcp", sname), tagged(v6()).tcp(tcp()).payload_size(12));
      add(fmt::format("vlan/{}/arp", sname), tagged(PacketBuilder()).arp(Arp{}));
      add(fmt::format("vlan/{}/empty", sname), [&] {
        Bytes f = tagged(v4()).build();
        f.resize(14 + 4 * stack.size());  // tags and ethertype, nothing after
        return f;
      }());
    }
    add("vlan/vid=0-priority-tag", v4().vlan(0, kTpid8021Q, 5).udp(udp()).payload_size(12));
    add("vlan/vid=4095", v4().vlan(4095).udp(udp()).payload_size(12));
    add("vlan/pcp=7-dei", v4().vlan(vid_, kTpid8021Q, 7, true).udp(udp()).payload_size(12));
    add("vlan/tpid=9100", v4().vlan(vid_, 0x9100).udp(udp()).payload_size(12));
    for (uint16_t vid : capped(p_.vlan_ids, kMaxPerList, vid_)) {
      add(fmt::format("vlan/profile/{}/tcp", vid), v4().vlan(vid).tcp(tcp()).payload_size(12));
      add(fmt::format("vlan/profile/{}/udp", vid), v4().vlan(vid).udp(udp()).payload_size(12));
    }
  }

  void ipv6_chains() {
    const Ipv6Addr via = parse_ipv6("2001:db8::100");
    const std::vector<std::pair<std::string, Ipv6Ext>> singles = {
        {"hop-by-hop", Ipv6Ext::hop_by_hop()},
        {"dest-options", Ipv6Ext::dest_options()},
        {"routing-0", Ipv6Ext::routing(0, 1, {via, dst6_})},
        {"routing-2", Ipv6Ext::routing(2, 1, {dst6_})},
        {"routing-4-srh", Ipv6Ext::routing(4, 1, {dst6_, via})},
        {"fragment-first", Ipv6Ext::fragment(0, true, 1)},
        {"fragment-middle", Ipv6Ext::fragment(100, true, 1)},
        {"fragment-last", Ipv6Ext::fragment(200, false, 1)},
        {"fragment-atomic", Ipv6Ext::fragment(0, false, 1)},
    };
    for (const auto& [name, e] : singles) {
      Ipv6 h = ip6();
      if (e.type == kIpv6Routing) h.dst = via;  // the next hop; the routing header holds the rest
      h.ext = {e};
      add("ipv6-ext/" + name + "/udp", v6().ipv6(h).udp(udp()).payload_size(12));
    }
    // Long chains, for parsers with bounded loops.
    const std::vector<Ipv6Ext> chain = {
        Ipv6Ext::hop_by_hop(),         Ipv6Ext::dest_options(),
        Ipv6Ext::routing(0, 0, {via}), Ipv6Ext::fragment(0, false, 2),
        Ipv6Ext::dest_options({}, 16), Ipv6Ext::routing(0, 0, {}),
        Ipv6Ext::dest_options(),       Ipv6Ext::fragment(0, false, 3),
        Ipv6Ext::dest_options({}, 24),
    };
    for (size_t n = 1; n <= chain.size(); ++n) {
      Ipv6 h = ip6();
      h.ext.assign(chain.begin(), chain.begin() + n);
      add(fmt::format("ipv6-ext/chain={}/udp", n), v6().ipv6(h).udp(udp()).payload_size(12));
      add(fmt::format("ipv6-ext/chain={}/tcp", n), v6().ipv6(h).tcp(tcp()).payload_size(12));
      add(fmt::format("ipv6-ext/chain={}/icmpv6", n),
          v6().ipv6(h).icmp(IcmpEcho{}).payload_size(12));
    }
    Ipv6 h = ip6();
    h.ext = {Ipv6Ext::dest_options(), Ipv6Ext::hop_by_hop()};
    add("ipv6-ext/hop-by-hop-not-first", v6().ipv6(h).udp(udp()).payload_size(12));
    h.ext = {Ipv6Ext::hop_by_hop()};
    h.next_header = kProtoNoNext;
    add("ipv6-ext/no-next-header", v6().ipv6(h).payload_size(16));
    h.ext = {Ipv6Ext::dest_options()};
    h.next_header = kProtoExperiment;
    add("ipv6-ext/unknown-next-header", v6().ipv6(h).payload_size(16));
    h = ip6();
    h.ext = {Ipv6Ext::hop_by_hop()};
    Bytes f = v6().ipv6(h).udp(udp()).payload_size(12).build();
    f[55] = 255;  // hop-by-hop length: 2048 bytes, far past the frame
    add("ipv6-ext/length-past-end", f);
    h.ext = {Ipv6Ext::hop_by_hop({}, 256)};
    add("ipv6-ext/hop-by-hop-256", v6().ipv6(h).udp(udp()).payload_size(12));
    h.ext = {Ipv6Ext::hop_by_hop({5, 2, 0, 0})};  // router alert
    add("ipv6-ext/router-alert", v6().ipv6(h).udp(udp()).payload_size(12));
    h.ext = {Ipv6Ext::hop_by_hop({0xc2, 4, 0, 0, 0x01, 0x00})};  // jumbo payload, length 0 said
    h.payload_length = 0;
    add("ipv6-ext/jumbo-option", v6().ipv6(h).udp(udp()).payload_size(12));
    for (uint8_t version : {4, 0}) {
      Bytes g = v6().udp(udp()).payload_size(12).build();
      g[14] = uint8_t(version << 4 | (g[14] & 0x0f));
      add(fmt::format("ipv6/version={}", version), g);
    }
  }

  void icmp() {
    // An echo request and reply to each configured address; same bytes as before.
    auto echo = [this](const std::string& proto, const std::string& addr,
                       const PacketBuilder& base) {
      for (bool reply : {false, true}) {
        IcmpEcho e;
        e.reply = reply;
        e.id = 0x4242;
        e.seq = 7;
        add(fmt::format("{}/echo-{}/{}", proto, reply ? "reply" : "request", addr),
            PacketBuilder(base).icmp(e).payload_size(32));
      }
    };
    for (Ipv4Addr a : capped(p_.dst_ipv4, kMaxPerList, dst4_)) {
      Ipv4 h = ip4();
      h.dst = a;
      echo("icmp", format_ipv4(a), v4().ipv4(h));
    }
    for (Ipv6Addr a : capped(p_.dst_ipv6, kMaxPerList, dst6_)) {
      Ipv6 h = ip6();
      h.dst = a;
      echo("icmpv6", format_ipv6(a), v6().ipv6(h));
    }
    IcmpEcho big;
    add("icmp/echo-request-1000", v4().icmp(big).payload_size(1000));
    // Errors quote the offending packet's IP header and 8 bytes after it.
    Bytes quoted = v4().udp(udp()).payload_size(0).build();
    quoted.erase(quoted.begin(), quoted.begin() + 14);
    using TypeCode = std::vector<std::pair<uint8_t, uint8_t>>;
    for (auto [type, code] : TypeCode{{3, 3}, {11, 0}, {5, 1}, {13, 0}}) {
      IcmpEcho e;
      e.type = type;
      e.code = code;
      e.id = e.seq = 0;
      add(fmt::format("icmp/type={}/code={}", type, code), v4().icmp(e).payload(quoted));
    }
    for (auto [type, code] : TypeCode{{1, 4}, {2, 0}, {133, 0}, {135, 0}}) {
      IcmpEcho e;
      e.type = type;
      e.code = code;
      e.id = e.seq = 0;
      Ipv6 h = ip6();
      h.hop_limit = 255;
      add(fmt::format("icmpv6/type={}/code={}", type, code), v6().ipv6(h).icmp(e).payload_size(24));
    }
  }

  void ports_and_protocols() {
    for (uint16_t port : capped(p_.dst_ports, kMaxPerList, dport_)) {
      Tcp t = tcp(kTcpSyn);
      t.dport = port;
      Udp u = udp();
      u.dport = port;
      add(fmt::format("port/dst/{}/tcp-syn", port), v4().tcp(t).payload_size(0).pad_to(60));
      add(fmt::format("port/dst/{}/udp", port), v4().udp(u).payload_size(16));
      if (!p_.dst_ipv6.empty()) {
        add(fmt::format("port/dst/{}/ipv6-tcp-syn", port), v6().tcp(t));
        add(fmt::format("port/dst/{}/ipv6-udp", port), v6().udp(u).payload_size(16));
      }
    }
    for (uint16_t port : capped(p_.src_ports, kMaxPerList, sport_)) {
      Tcp t = tcp(kTcpSyn);
      t.sport = port;
      Udp u = udp();
      u.sport = port;
      add(fmt::format("port/src/{}/tcp-syn", port), v4().tcp(t).pad_to(60));
      add(fmt::format("port/src/{}/udp", port), v4().udp(u).payload_size(16));
    }
    for (uint16_t port : {0, 65535}) {
      Tcp t = tcp(kTcpSyn);
      t.sport = t.dport = port;
      Udp u = udp();
      u.sport = u.dport = port;
      add(fmt::format("port/both={}/tcp", port), v4().tcp(t).pad_to(60));
      add(fmt::format("port/both={}/udp", port), v4().udp(u).payload_size(16));
    }
    // Protocols past TCP/UDP/ICMP ("other"): tunnels and ones no parser knows.
    Bytes inner4 = v4().udp(udp()).payload_size(16).build();
    inner4.erase(inner4.begin(), inner4.begin() + 14);
    Bytes inner6 = v6().udp(udp()).payload_size(16).build();
    inner6.erase(inner6.begin(), inner6.begin() + 14);
    Bytes gre(4 + inner4.size(), 0);  // flags/version 0, protocol IPv4
    gre[2] = 0x08;
    std::copy(inner4.begin(), inner4.end(), gre.begin() + 4);
    const std::vector<std::tuple<std::string, uint8_t, Bytes>> others = {
        {"ipip", 4, inner4},
        {"ipv6-in-ipv4", 41, inner6},
        {"gre", 47, gre},
        {"esp", 50, Bytes(40, 0x5c)},
        {"sctp", 132, Bytes(28, 0x11)},
        {"proto=0", 0, Bytes(16, 0)},
        {"proto=255", 255, Bytes(16, 0xff)},
    };
    for (const auto& [name, proto, body] : others) {
      Ipv4 h = ip4();
      h.protocol = proto;
      add("other/ipv4/" + name, v4().ipv4(h).payload(body));
      Ipv6 h6 = ip6();
      h6.next_header = proto == 0 ? kProtoExperiment : proto;  // 0 is hop-by-hop in IPv6
      add("other/ipv6/" + name, v6().ipv6(h6).payload(body));
    }
  }

  void tcp_details() {
    const std::vector<std::pair<std::string, uint8_t>> flags = {
        {"none", 0},
        {"syn", kTcpSyn},
        {"syn-ack", kTcpSyn | kTcpAck},
        {"ack", kTcpAck},
        {"psh-ack", kTcpPsh | kTcpAck},
        {"fin-ack", kTcpFin | kTcpAck},
        {"rst", kTcpRst},
        {"rst-ack", kTcpRst | kTcpAck},
        {"urg", kTcpUrg | kTcpAck},
        {"all", 0xff},
        {"syn-fin", kTcpSyn | kTcpFin},
        {"syn-ece-cwr", kTcpSyn | kTcpEce | kTcpCwr},
    };
    for (const auto& [name, f] : flags) {
      Tcp t = tcp(f);
      if (f & kTcpUrg) t.urgent = 4;
      add("tcp/flags=" + name, v4().tcp(t).payload_size(f & kTcpSyn ? 0 : 12).pad_to(60));
    }
    Tcp syn = tcp(kTcpSyn);
    for (const Bytes& o : {tcp_opt_mss(1460), tcp_opt_sack_permitted(), tcp_opt_timestamp(1, 0),
                           tcp_opt_nop(), tcp_opt_wscale(7)})
      syn.options.insert(syn.options.end(), o.begin(), o.end());
    add("tcp/options/syn-full", v4().tcp(syn));
    add("tcp/options/syn-full-ipv6", v6().tcp(syn));
    const std::vector<std::pair<std::string, Bytes>> bad_opts = {
        {"length-0", {2, 0, 5, 0xb4}},  // a parser that trusts it loops forever
        {"length-1", {2, 1, 5, 0xb4}}, {"past-header", {2, 40, 5, 0xb4}},
        {"nop-40", Bytes(40, 1)},      {"eol-then-junk", {0, 0xde, 0xad, 0xbe}},
    };
    for (const auto& [name, o] : bad_opts) {
      Tcp t = tcp(kTcpSyn);
      t.options = o;
      add("tcp/options/" + name, v4().tcp(t));
    }
  }

  void non_ip() {
    Arp req;
    req.sender_ip = src4_;
    req.target_ip = dst4_;
    add("arp/request", PacketBuilder().eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kSrcMac).arp(req));
    add("arp/request-padded",
        PacketBuilder().eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kSrcMac).arp(req).pad_to(60));
    Arp rep = req;
    rep.op = 2;
    rep.target_mac = kDstMac;
    add("arp/reply", PacketBuilder().arp(rep).pad_to(60));
    Arp grat = req;
    grat.target_ip = grat.sender_ip;
    add("arp/gratuitous",
        PacketBuilder().eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kSrcMac).arp(grat));
    Arp odd = req;
    odd.op = 9;
    add("arp/op=9", PacketBuilder().arp(odd).pad_to(60));
    // LLDP: chassis id, port id, TTL, end.
    Bytes lldp = {0x02, 0x07, 0x04, 0x02, 0,    0,    0,    0,    0x01, 0x04, 0x03,
                  0x05, 'e',  't',  '0',  0x06, 0x02, 0x00, 0x78, 0x00, 0x00};
    add("ethertype/lldp", PacketBuilder()
                              .eth({0x01, 0x80, 0xc2, 0, 0, 0x0e}, kSrcMac)
                              .ethertype(kEthLldp)
                              .payload(lldp)
                              .pad_to(60));
    std::vector<uint16_t> types = {0x0000, 0xffff, 0x05dc, 0x05ff, 0x0600, 0x8847,
                                   0x8864, 0x8137, 0x88b5, 0x8906, 0x9000};
    SplitMix64 r(0x7e57ca5e);  // fixed: the edge cases take no seed
    while (types.size() < 19) {
      uint16_t t = uint16_t(r.next());
      if (t != kEthIpv4 && t != kEthIpv6 && t != kEthArp && t != kTpid8021Q && t != kTpid8021AD &&
          std::find(types.begin(), types.end(), t) == types.end())
        types.push_back(t);
    }
    for (uint16_t t : types)
      add(fmt::format("ethertype/0x{:04x}", t), PacketBuilder().ethertype(t).payload_size(46));
    add("ethertype/ipv4-carrying-ipv6", v6().ethertype(kEthIpv4).udp(udp()).payload_size(12));
    add("ethertype/ipv6-carrying-ipv4", v4().ethertype(kEthIpv6).udp(udp()).payload_size(12));
    add("ethertype/arp-carrying-ipv4", v4().ethertype(kEthArp).udp(udp()).payload_size(12));
  }

  void sizes() {
    for (uint16_t t : {kEthIpv4, kEthIpv6, kEthArp, kTpid8021Q, kTpid8021AD, kEthExperimental})
      add(fmt::format("size/14/0x{:04x}", t), PacketBuilder().ethertype(t).build());
    add("size/15/ipv4", [] {
      Bytes f = PacketBuilder().ethertype(kEthIpv4).build();
      f.push_back(0x45);
      return f;
    }());
    add("size/34/ipv4-header-only", [&] {
      Ipv4 h = ip4();
      h.protocol = kProtoUdp;
      h.total_length = 20;
      return PacketBuilder().ipv4(h).build();
    }());
    add("size/60/ipv4-udp", v4().udp(udp()).pad_to(60));
    add("size/60/ipv4-tcp", v4().tcp(tcp(kTcpAck)).pad_to(60));
    add("size/60/ipv4-icmp", v4().icmp(IcmpEcho{}).pad_to(60));
    add("size/60/ipv4-udp-payload", v4().udp(udp()).payload_size(18));
    add("size/59/ipv4-udp", v4().udp(udp()).payload_size(17));
    add("size/61/ipv4-udp", v4().udp(udp()).payload_size(19));
    add("size/62/ipv6-udp", v6().udp(udp()));
    auto sized = [](PacketBuilder b, size_t frame) {
      size_t h = b.header_size();
      return b.payload_size(frame > h ? frame - h : 0);
    };
    add("size/1514/ipv4-tcp", sized(v4().tcp(tcp()), 1514));
    add("size/1514/ipv4-udp", sized(v4().udp(udp()), 1514));
    add("size/1514/ipv4-icmp", sized(v4().icmp(IcmpEcho{}), 1514));
    add("size/1514/ipv6-tcp", sized(v6().tcp(tcp()), 1514));
    add("size/1514/ipv6-udp", sized(v6().udp(udp()), 1514));
    add("size/1518/vlan-ipv4-udp", sized(v4().vlan(vid_).udp(udp()), 1518));
    add("size/1522/qinq-ipv4-udp", sized(v4().vlan(300, kTpid8021AD).vlan(vid_).udp(udp()), 1522));
    add("size/1515/ipv4-udp", sized(v4().udp(udp()), 1515));
    add("size/2000/ipv6-udp", sized(v6().udp(udp()), 2000));
    add("size/2048/ipv4-tcp", sized(v4().tcp(tcp()), 2048));
    add("size/3000/ipv4-udp", sized(v4().udp(udp()), 3000));
    add("size/3000/ipv6-tcp", sized(v6().tcp(tcp()), 3000));
    add("size/3000/non-ip", sized(PacketBuilder().ethertype(kEthExperimental), 3000));
  }

  void addresses() {
    const MacAddr bcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    add("mac/dst-broadcast", v4().eth(bcast, kSrcMac).udp(udp()).payload_size(12));
    add("mac/dst-multicast",
        v4().eth({0x01, 0x00, 0x5e, 0, 0, 1}, kSrcMac).udp(udp()).payload_size(12));
    add("mac/src-multicast", v4().eth(kDstMac, {0x01, 0, 0, 0, 0, 1}).udp(udp()).payload_size(12));
    add("mac/all-zero", v4().eth({}, {}).udp(udp()).payload_size(12));
    const std::vector<std::tuple<std::string, std::string, std::string>> v4cases = {
        {"src=0.0.0.0-dst=broadcast", "0.0.0.0", "255.255.255.255"},
        {"dst=loopback", "", "127.0.0.1"},
        {"dst=multicast", "", "224.0.0.1"},
        {"src=multicast", "239.1.1.1", ""},
        {"src=broadcast", "255.255.255.255", ""},
    };
    for (const auto& [name, s, d] : v4cases) {
      Ipv4 h = ip4();
      if (!s.empty()) h.src = parse_ipv4(s);
      if (!d.empty()) h.dst = parse_ipv4(d);
      add("ipv4/addr/" + name, v4().ipv4(h).udp(udp()).payload_size(12));
    }
    Ipv4 land = ip4();
    land.src = land.dst;
    Tcp t = tcp(kTcpSyn);
    t.sport = t.dport;
    add("ipv4/addr/land", v4().ipv4(land).tcp(t).pad_to(60));
    const std::vector<std::tuple<std::string, std::string, std::string>> v6cases = {
        {"src=unspecified", "::", ""},    {"dst=all-nodes", "fe80::1", "ff02::1"},
        {"dst=loopback", "", "::1"},      {"dst=v4-mapped", "", "::ffff:192.0.2.1"},
        {"src=multicast", "ff02::1", ""},
    };
    for (const auto& [name, s, d] : v6cases) {
      Ipv6 h = ip6();
      if (!s.empty()) h.src = parse_ipv6(s);
      if (!d.empty()) h.dst = parse_ipv6(d);
      add("ipv6/addr/" + name, v6().ipv6(h).udp(udp()).payload_size(12));
    }
  }

  const TrafficProfile& p_;
  Ipv4Addr src4_, dst4_;
  Ipv6Addr dst6_;
  uint16_t sport_, dport_, vid_;
  std::vector<EdgeCase> out_;
};

// ---------------------------------------------------------------- random packets

class RandomGen {
 public:
  RandomGen(const TrafficProfile& p, uint64_t seed) : p_(p), r_(seed) {
    bool has4 = !p.dst_ipv4.empty() || !p.src_ipv4.empty(), has6 = !p.dst_ipv6.empty();
    v6_percent_ = has4 == has6 ? 20 : has6 ? 90 : 10;
    vlan_percent_ = p.vlan_ids.empty() ? 8 : 40;
  }

  Bytes next() {
    size_t l3_at = 0;
    Bytes f = well_formed(&l3_at);
    if (r_.chance(20)) mutate(f, l3_at);
    return f;
  }

 private:
  template <typename T>
  T pick(const std::vector<T>& v, T fallback) {
    // Always draw, so the stream does not depend on whether the list is empty.
    bool from_list = r_.chance(70);
    if (v.empty() || !from_list) return fallback;
    return v[r_.below(v.size())];
  }

  uint16_t r16() { return uint16_t(r_.next()); }
  uint32_t r32() { return uint32_t(r_.next()); }

  Bytes random_bytes(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; i += 8) {
      uint64_t x = r_.next();
      for (size_t k = 0; k < 8 && i + k < n; ++k) b[i + k] = uint8_t(x >> (8 * k));
    }
    return b;
  }

  Protocol protocol() {
    if (!p_.protocols.empty() && r_.chance(70)) return p_.protocols[r_.below(p_.protocols.size())];
    uint64_t u = r_.below(100);
    if (u < 45) return Protocol::kTcp;
    if (u < 80) return Protocol::kUdp;
    if (u < 90) return Protocol::kIcmp;
    if (u < 95) return Protocol::kIcmpv6;
    return Protocol::kOther;
  }

  // Frame sizes shaped like Internet traffic: many small (ACKs, DNS), some
  // middle-sized, many full-sized.
  size_t frame_size() {
    uint64_t u = r_.below(100);
    if (u < 45) return r_.chance(50) ? 60 : r_.range(60, 100);
    if (u < 60) return r_.range(101, 599);
    if (u < 65) return 576;
    if (u < 70) return r_.range(600, 1399);
    return r_.chance(60) ? 1514 : r_.range(1400, 1514);
  }

  Bytes well_formed(size_t* l3_at) {
    const Protocol proto = protocol();
    const bool v6 =
        proto == Protocol::kIcmpv6 || (proto != Protocol::kIcmp && r_.chance(v6_percent_));
    PacketBuilder b;
    MacAddr src = kSrcMac;
    for (size_t i = 1; i < 6; ++i) src[i] = uint8_t(r_.next());
    b.eth(kDstMac, src);
    size_t tags = 0;
    if (r_.chance(vlan_percent_)) {
      if (r_.chance(15)) {
        b.vlan(uint16_t(r_.range(1, 4094)), kTpid8021AD);
        ++tags;
      }
      // One draw per statement: argument evaluation order is unspecified.
      uint16_t vid = pick(p_.vlan_ids, uint16_t(r_.range(1, 4094)));
      uint8_t pcp = uint8_t(r_.below(8));
      b.vlan(vid, kTpid8021Q, pcp);
      ++tags;
    }
    *l3_at = 14 + 4 * tags;

    uint8_t other_proto = 0;
    if (proto == Protocol::kOther) {
      static const uint8_t kOthers[] = {4, 41, 47, 50, 132, 253};
      other_proto = r_.chance(80) ? kOthers[r_.below(sizeof kOthers)] : uint8_t(r_.next());
      // Values that would read as extension headers or transports we do build.
      if (other_proto == 0 || other_proto == kProtoTcp || other_proto == kProtoUdp ||
          other_proto == kProtoIcmp || other_proto == kProtoIcmpv6 || other_proto == kIpv6Routing ||
          other_proto == kIpv6Fragment || other_proto == kIpv6DestOptions)
        other_proto = 253;
    }
    if (v6) {
      Ipv6 h;
      h.src = {0x20, 0x01, 0x0d, 0xb8};
      for (size_t i = 4; i < 16; ++i) h.src[i] = uint8_t(r_.next());
      Ipv6Addr any;
      for (uint8_t& x : any) x = uint8_t(r_.next());
      h.dst = pick(p_.dst_ipv6, any);
      h.hop_limit = r_.chance(90) ? 64 : uint8_t(r_.range(1, 255));
      h.flow_label = r_.chance(50) ? 0 : r32() & 0xfffff;
      if (other_proto) h.next_header = other_proto;
      b.ipv6(h);
    } else {
      Ipv4 h;
      h.src = pick(p_.src_ipv4, r32());
      h.dst = pick(p_.dst_ipv4, r32());
      h.id = r16();
      h.df = r_.chance(50);
      h.ttl = r_.chance(90) ? (r_.chance(50) ? 64 : 128) : uint8_t(r_.range(1, 255));
      h.tos = r_.chance(90) ? 0 : uint8_t(r_.next());
      if (other_proto) h.protocol = other_proto;
      b.ipv4(h);
    }
    switch (proto) {
      case Protocol::kTcp: {
        Tcp t;
        t.sport = pick(p_.src_ports, uint16_t(r_.range(1024, 65535)));
        t.dport = pick(p_.dst_ports, uint16_t(r_.range(1, 65535)));
        t.seq = r32();
        uint64_t u = r_.below(100);
        t.flags = u < 60   ? kTcpAck
                  : u < 75 ? kTcpAck | kTcpPsh
                  : u < 85 ? kTcpSyn
                  : u < 90 ? kTcpSyn | kTcpAck
                  : u < 95 ? kTcpFin | kTcpAck
                           : kTcpRst;
        t.ack = t.flags & kTcpAck ? r32() : 0;
        t.window = r16();
        if (t.flags & kTcpSyn) {
          t.options = tcp_opt_mss(uint16_t(r_.range(536, 1460)));
          if (r_.chance(50)) {
            uint32_t ts = r32();
            uint8_t shift = uint8_t(r_.below(15));
            for (const Bytes& o : {tcp_opt_sack_permitted(), tcp_opt_timestamp(ts, 0),
                                   tcp_opt_nop(), tcp_opt_wscale(shift)})
              t.options.insert(t.options.end(), o.begin(), o.end());
          }
        }
        b.tcp(t);
        break;
      }
      case Protocol::kUdp: {
        Udp u;
        u.sport = pick(p_.src_ports, uint16_t(r_.range(1024, 65535)));
        u.dport = pick(p_.dst_ports, uint16_t(r_.range(1, 65535)));
        b.udp(u);
        break;
      }
      case Protocol::kIcmp:
      case Protocol::kIcmpv6: {
        IcmpEcho e;
        e.reply = r_.chance(20);
        e.id = r16();
        e.seq = r16();
        b.icmp(e);
        break;
      }
      case Protocol::kOther:
        break;
    }
    size_t want = frame_size(), head = b.header_size();
    b.payload(random_bytes(want > head ? want - head : 0));
    b.pad_to(60);
    return b.build();
  }

  void mutate(Bytes& f, size_t l3_at) {
    uint64_t kind = r_.below(100);
    if (kind < 40) {
      // Mostly in the headers, where a flip changes what a parser decides.
      size_t span = r_.chance(70) ? std::min<size_t>(f.size(), 80) : f.size();
      size_t at = r_.below(span);
      f[at] ^= uint8_t(r_.range(1, 255));
    } else if (kind < 75) {
      if (f.size() > 14) f.resize(14 + r_.below(f.size() - 14));  // 14 bytes at least
    } else {
      set16(f, l3_at - 2, r16());
    }
  }

  const TrafficProfile& p_;
  SplitMix64 r_;
  unsigned v6_percent_ = 20;
  unsigned vlan_percent_ = 8;
};

}  // namespace

std::vector<EdgeCase> edge_case_list(const TrafficProfile& p) {
  std::vector<EdgeCase> v = Edges(p).run();
  for (size_t i = 0; i < v.size(); ++i) v[i].packet.ts_ns = i * kPacketGapNs;
  return v;
}

std::vector<Packet> edge_cases(const TrafficProfile& p) {
  std::vector<Packet> out;
  for (EdgeCase& e : edge_case_list(p)) out.push_back(std::move(e.packet));
  return out;
}

std::vector<Packet> random_packets(const TrafficProfile& p, size_t count, uint64_t seed) {
  RandomGen g(p, seed);
  std::vector<Packet> out(count);
  for (Packet& pkt : out) pkt.data = g.next();
  number(out);
  return out;
}

std::vector<Packet> packet_set(const TrafficProfile& p, size_t total, uint64_t seed) {
  std::vector<Packet> out = edge_cases(p);
  if (out.size() >= total) {
    out.resize(total);
  } else {
    std::vector<Packet> rnd = random_packets(p, total - out.size(), seed);
    out.insert(out.end(), std::make_move_iterator(rnd.begin()), std::make_move_iterator(rnd.end()));
  }
  number(out);
  return out;
}

}  // namespace traffic
