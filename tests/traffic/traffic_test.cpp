// Traffic library: pcap I/O, packet crafting, the deterministic generator and
// traffic profiles. Checksums are checked by a routine written here, not the
// library's, and (when scapy is there) by scapy's own dissectors. Suites are
// named traffic_* so that `ctest -R traffic` selects them.
#include "sim/traffic/packet_build.h"
#include "sim/traffic/packet_gen.h"
#include "sim/traffic/pcap.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace traffic;

namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "traffic_test_" + std::to_string(getpid()) + "_" + name;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The message of the std::runtime_error that f throws, or "" if none.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

void expect_one_line_naming(const std::string& msg, const std::string& path) {
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_GT(msg.size(), path.size() + 2) << msg;
}

// ---- an independent checksum and a small parser, so the builder is not checked by itself

// One's-complement sum of big-endian 16-bit words, carries folded at the end.
uint64_t words(const uint8_t* p, size_t n, uint64_t acc = 0) {
  for (size_t i = 0; i < n; ++i) acc += i % 2 == 0 ? uint64_t(p[i]) << 8 : p[i];
  return acc;
}

uint16_t fold(uint64_t acc) {
  while (acc > 0xffff) acc = (acc >> 16) + (acc & 0xffff);
  return uint16_t(acc);
}

uint16_t be16(const Bytes& f, size_t at) {
  return uint16_t(f[at] << 8 | f[at + 1]);
}

struct Parsed {
  size_t tags = 0;
  uint16_t ethertype = 0;
  size_t l3 = 0;
  int version = 0;
  std::array<uint8_t, 16> src{}, dst{};  // IPv4 uses the first 4 bytes; dst is the final one
  uint8_t proto = 0;
  size_t l4 = 0, l4_len = 0;
  size_t ext_headers = 0;
};

// Ethernet, tags, IPv4 or IPv6 with extension headers; returns false if not IP.
bool parse(const Bytes& f, Parsed* out) {
  Parsed p;
  size_t at = 12;
  if (f.size() < 14) return false;
  while (be16(f, at) == 0x8100 || be16(f, at) == 0x88a8) {
    at += 4;
    ++p.tags;
    if (at + 2 > f.size()) return false;
  }
  p.ethertype = be16(f, at);
  p.l3 = at + 2;
  if (p.ethertype == 0x0800 && f.size() >= p.l3 + 20) {
    p.version = 4;
    size_t ihl = (f[p.l3] & 0x0f) * 4u;
    std::copy(f.begin() + p.l3 + 12, f.begin() + p.l3 + 16, p.src.begin());
    std::copy(f.begin() + p.l3 + 16, f.begin() + p.l3 + 20, p.dst.begin());
    p.proto = f[p.l3 + 9];
    p.l4 = p.l3 + ihl;
    p.l4_len = be16(f, p.l3 + 2) - ihl;
  } else if (p.ethertype == 0x86dd && f.size() >= p.l3 + 40) {
    p.version = 6;
    std::copy(f.begin() + p.l3 + 8, f.begin() + p.l3 + 24, p.src.begin());
    std::copy(f.begin() + p.l3 + 24, f.begin() + p.l3 + 40, p.dst.begin());
    uint8_t next = f[p.l3 + 6];
    size_t pos = p.l3 + 40;
    while ((next == 0 || next == 43 || next == 44 || next == 60) && pos + 8 <= f.size()) {
      size_t len = next == 44 ? 8 : (f[pos + 1] + 1) * 8u;
      if (next == 43 && f[pos + 3] > 0 && f[pos + 1] >= 2) {  // segments left: final address
        size_t n = f[pos + 1] / 2;
        size_t a = f[pos + 2] == 4 ? pos + 8 : pos + 8 + 16 * (n - 1);
        std::copy(f.begin() + a, f.begin() + a + 16, p.dst.begin());
      }
      next = f[pos];
      pos += len;
      ++p.ext_headers;
    }
    p.proto = next;
    p.l4 = pos;
    p.l4_len = be16(f, p.l3 + 4) - (pos - p.l3 - 40);
  } else {
    return false;
  }
  *out = p;
  return true;
}

bool ipv4_header_ok(const Bytes& f, const Parsed& p) {
  return fold(words(&f[p.l3], (f[p.l3] & 0x0f) * 4u)) == 0xffff;
}

// Transport checksum over the pseudo-header (none for ICMPv4).
bool l4_checksum_ok(const Bytes& f, const Parsed& p) {
  if (p.l4 + p.l4_len > f.size()) return false;
  uint64_t acc = words(&f[p.l4], p.l4_len);
  if (p.proto != 1) {
    Bytes ph;
    size_t alen = p.version == 4 ? 4 : 16;
    ph.insert(ph.end(), p.src.begin(), p.src.begin() + alen);
    ph.insert(ph.end(), p.dst.begin(), p.dst.begin() + alen);
    if (p.version == 4)
      ph.insert(ph.end(), {0, p.proto, uint8_t(p.l4_len >> 8), uint8_t(p.l4_len)});
    else
      ph.insert(ph.end(), {0, 0, uint8_t(p.l4_len >> 8), uint8_t(p.l4_len), 0, 0, 0, p.proto});
    acc = words(ph.data(), ph.size(), acc);
  }
  return fold(acc) == 0xffff;
}

bool fully_valid(const Bytes& f) {
  Parsed p;
  if (!parse(f, &p)) return false;
  if (p.version == 4 && !ipv4_header_ok(f, p)) return false;
  if (p.proto != 6 && p.proto != 17 && p.proto != 1 && p.proto != 58) return true;
  return l4_checksum_ok(f, p);
}

// FNV-1a over all packets: a fingerprint that must not change across machines.
uint64_t fingerprint(const std::vector<Packet>& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  for (const Packet& p : v) {
    for (uint8_t b : p.data) mix(b);
    for (int i = 0; i < 8; ++i) mix(uint8_t(p.ts_ns >> (8 * i)));
    mix(0xff);
  }
  return h;
}

std::string fmt_name(const char* tmpl, size_t len) {
  return std::string("truncated/") + tmpl + "/len=" + std::to_string(len);
}

TrafficProfile sample_profile() {
  return TrafficProfile::from_json_text(R"({
    "dst_ipv4": ["10.0.0.1", "10.0.0.2"],
    "src_ipv4": ["10.0.1.1"],
    "dst_ipv6": ["2001:db8:1::1"],
    "dst_ports": [443, 53],
    "src_ports": [5555],
    "protocols": ["tcp", "udp", "icmp"],
    "vlan_ids": [100, 200]
  })",
                                        "sample");
}

}  // namespace

// ---------------------------------------------------------------- pcap

TEST(traffic_pcap, RoundTripKeepsBytesAndNanoseconds) {
  std::vector<Packet> in;
  for (size_t i = 0; i < 50; ++i) {
    Packet p;
    p.data.resize(14 + i * 61);
    for (size_t k = 0; k < p.data.size(); ++k) p.data[k] = uint8_t(k * 13 + i);
    p.ts_ns = 1'700'000'000'123'456'789ull + i * 1'000'000'007ull;
    in.push_back(p);
  }
  std::string path = temp_path("roundtrip.pcap");
  write_pcap(path, in);
  std::vector<Packet> out = read_pcap(path);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].data, in[i].data) << i;
    EXPECT_EQ(out[i].ts_ns, in[i].ts_ns) << i;
  }
  // A nanosecond pcap for Ethernet with snap length 65535, as promised.
  std::string raw = read_file(path);
  ASSERT_GE(raw.size(), 24u);
  uint32_t magic, snaplen, link;
  std::memcpy(&magic, raw.data(), 4);
  std::memcpy(&snaplen, raw.data() + 16, 4);
  std::memcpy(&link, raw.data() + 20, 4);
  EXPECT_EQ(magic, 0xa1b23c4du);
  EXPECT_EQ(snaplen, 65535u);
  EXPECT_EQ(link, 1u);
  std::remove(path.c_str());
}

TEST(traffic_pcap, StreamingWriterAndEmptyFile) {
  std::string path = temp_path("stream.pcap");
  {
    PcapWriter w(path);
    EXPECT_EQ(w.count(), 0u);
    w.close();
  }
  EXPECT_TRUE(read_pcap(path).empty());
  {
    PcapWriter w(path);
    Bytes frame = PacketBuilder().ipv4(Ipv4{}).udp(Udp{}).payload_size(10).build();
    w.write(Packet{frame, 5});
    w.write(frame.data(), 14, 7);
    EXPECT_EQ(w.count(), 2u);
  }  // the destructor closes
  std::vector<Packet> out = read_pcap(path);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data.size(), 14u);
  EXPECT_EQ(out[1].ts_ns, 7u);
  std::remove(path.c_str());
}

TEST(traffic_pcap, ReadsMicrosecondFiles) {
  // Classic microsecond pcap, one 14-byte packet at 3 s + 5 us.
  std::string f;
  auto u32 = [&](uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.append(reinterpret_cast<const char*>(&v), 2); };
  u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(65535), u32(1);
  u32(3), u32(5), u32(14), u32(14);
  f.append(14, '\x11');
  std::string path = temp_path("usec.pcap");
  write_file(path, f);
  std::vector<Packet> out = read_pcap(path);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 3'000'005'000ull);
  EXPECT_EQ(out[0].data, Bytes(14, 0x11));
  std::remove(path.c_str());
}

TEST(traffic_pcap, MissingFileIsOneLineNamingIt) {
  std::string path = temp_path("does-not-exist.pcap");
  expect_one_line_naming(error_of([&] { read_pcap(path); }), path);
}

TEST(traffic_pcap, GarbageAndEmptyFilesAreErrors) {
  std::string path = temp_path("garbage.pcap");
  write_file(path, "this is not a capture file, just some text\n");
  expect_one_line_naming(error_of([&] { read_pcap(path); }), path);
  write_file(path, "");
  expect_one_line_naming(error_of([&] { read_pcap(path); }), path);
  std::remove(path.c_str());
}

TEST(traffic_pcap, TruncatedFileIsAnError) {
  std::string path = temp_path("truncated.pcap");
  std::vector<Packet> in(3);
  for (Packet& p : in) p.data.assign(100, 0xab);
  write_pcap(path, in);
  std::string raw = read_file(path);
  for (size_t cut : {size_t(10), size_t(30), raw.size() - 5}) {
    write_file(path, raw.substr(0, cut));
    expect_one_line_naming(error_of([&] { read_pcap(path); }), path);
  }
  std::remove(path.c_str());
}

TEST(traffic_pcap, NonEthernetAndSnapCutPacketsAreErrors) {
  std::string f;
  auto u32 = [&](uint32_t v) { f.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.append(reinterpret_cast<const char*>(&v), 2); };
  u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(65535), u32(101);  // raw IP
  std::string path = temp_path("linktype.pcap");
  write_file(path, f);
  std::string msg = error_of([&] { read_pcap(path); });
  expect_one_line_naming(msg, path);
  EXPECT_NE(msg.find("not Ethernet"), std::string::npos) << msg;

  f.clear();
  u32(0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(20), u32(1);
  u32(0), u32(0), u32(20), u32(60);  // 20 of 60 bytes captured
  f.append(20, '\0');
  write_file(path, f);
  msg = error_of([&] { read_pcap(path); });
  expect_one_line_naming(msg, path);
  EXPECT_NE(msg.find("20 of its 60"), std::string::npos) << msg;
  std::remove(path.c_str());
}

TEST(traffic_pcap, WriteErrorsNameThePath) {
  std::string bad_dir = temp_path("no-such-dir") + "/x.pcap";
  expect_one_line_naming(error_of([&] { write_pcap(bad_dir, {}); }), bad_dir);
  std::string path = temp_path("big.pcap");
  Packet huge;
  huge.data.resize(70000);
  std::string msg = error_of([&] { write_pcap(path, {huge}); });
  expect_one_line_naming(msg, path);
  EXPECT_NE(msg.find("snap length"), std::string::npos) << msg;
  std::remove(path.c_str());
  if (access("/dev/full", W_OK) == 0) {
    std::vector<Packet> many(200);
    for (Packet& p : many) p.data.assign(1500, 1);
    expect_one_line_naming(error_of([&] { write_pcap("/dev/full", many); }), "/dev/full");
  }
}

// ---------------------------------------------------------------- packet builder

TEST(traffic_build, AddressParsers) {
  EXPECT_EQ(parse_ipv4("192.0.2.1"), 0xc0000201u);
  EXPECT_EQ(format_ipv4(0x0a000001), "10.0.0.1");
  EXPECT_EQ(format_ipv6(parse_ipv6("2001:db8::1")), "2001:db8::1");
  EXPECT_EQ(parse_mac("02:00:5e:10:aB:ff"), (MacAddr{0x02, 0x00, 0x5e, 0x10, 0xab, 0xff}));
  for (const char* bad : {"1.2.3", "1.2.3.256", "", "a.b.c.d", "1.2.3.4 "})
    EXPECT_NE(error_of([&] { parse_ipv4(bad); }).find("not a dotted quad"), std::string::npos)
        << bad;
  EXPECT_FALSE(error_of([] { parse_ipv6("2001:db8:::1"); }).empty());
  EXPECT_FALSE(error_of([] { parse_mac("02:00:5e:10:ab"); }).empty());
  EXPECT_FALSE(error_of([] { parse_mac("02:00:5e:10:ab:fg"); }).empty());
}

TEST(traffic_build, Ipv4TcpFieldsAndChecksums) {
  Ipv4 ip;
  ip.src = parse_ipv4("10.1.2.3");
  ip.dst = parse_ipv4("10.4.5.6");
  ip.ttl = 17;
  ip.df = true;
  ip.id = 0xbeef;
  ip.options = {0x94, 4, 0, 0};
  Tcp t;
  t.sport = 1234;
  t.dport = 443;
  t.flags = kTcpSyn | kTcpAck;
  t.seq = 0x01020304;
  t.ack = 0x05060708;
  t.options = tcp_opt_mss(1460);
  Bytes f = PacketBuilder().ipv4(ip).tcp(t).payload_size(11).build();
  ASSERT_EQ(f.size(), 14u + 24 + 24 + 11);
  EXPECT_EQ(be16(f, 12), 0x0800);
  EXPECT_EQ(f[14], 0x46);  // version 4, IHL 6
  EXPECT_EQ(be16(f, 16), 24 + 24 + 11);
  EXPECT_EQ(be16(f, 18), 0xbeef);
  EXPECT_EQ(be16(f, 20), 0x4000);  // DF
  EXPECT_EQ(f[22], 17);
  EXPECT_EQ(f[23], 6);
  EXPECT_EQ(be16(f, 38), 1234);
  EXPECT_EQ(be16(f, 40), 443);
  EXPECT_EQ(f[50], 0x60);  // data offset 6
  EXPECT_EQ(f[51], kTcpSyn | kTcpAck);
  EXPECT_EQ(be16(f, 58), 0x0204);  // MSS option kind, length
  Parsed p;
  ASSERT_TRUE(parse(f, &p));
  EXPECT_TRUE(ipv4_header_ok(f, p));
  EXPECT_TRUE(l4_checksum_ok(f, p));
}

TEST(traffic_build, ChecksumsOfEveryTransportAreRight) {
  Ipv6 with_routing;
  with_routing.dst = parse_ipv6("2001:db8::100");
  with_routing.ext = {Ipv6Ext::hop_by_hop(), Ipv6Ext::routing(0, 1, {parse_ipv6("2001:db8::200")}),
                      Ipv6Ext::dest_options({}, 16)};
  Ipv6 with_srh;
  with_srh.ext = {Ipv6Ext::routing(4, 1, {parse_ipv6("2001:db8::300"), parse_ipv6("2001:db8::2")})};
  std::vector<PacketBuilder> builders = {
      PacketBuilder().ipv4(Ipv4{}).tcp(Tcp{}).payload_size(33),
      PacketBuilder().ipv4(Ipv4{}).udp(Udp{}).payload_size(1),
      PacketBuilder().ipv4(Ipv4{}).icmp(IcmpEcho{}).payload_size(56),
      PacketBuilder().vlan(7).vlan(8).ipv4(Ipv4{}).udp(Udp{}).payload_size(100),
      PacketBuilder().ipv6(Ipv6{}).tcp(Tcp{}).payload_size(7),
      PacketBuilder().ipv6(Ipv6{}).udp(Udp{}).payload_size(0),
      PacketBuilder().ipv6(Ipv6{}).icmp(IcmpEcho{}).payload_size(13),
      PacketBuilder().ipv6(with_routing).udp(Udp{}).payload_size(9),
      PacketBuilder().ipv6(with_srh).tcp(Tcp{}).payload_size(9),
  };
  for (size_t i = 0; i < builders.size(); ++i) {
    Bytes f = builders[i].build();
    Parsed p;
    ASSERT_TRUE(parse(f, &p)) << i;
    if (p.version == 4) {
      EXPECT_TRUE(ipv4_header_ok(f, p)) << i;
    }
    EXPECT_TRUE(l4_checksum_ok(f, p)) << i;
    EXPECT_EQ(p.l4 + p.l4_len, f.size()) << i;
  }
  // The routing header moved the checksum's destination to its last address.
  Bytes f = builders[7].build();
  Parsed p;
  ASSERT_TRUE(parse(f, &p));
  EXPECT_EQ(p.dst, parse_ipv6("2001:db8::200"));
  EXPECT_EQ(p.ext_headers, 3u);
}

TEST(traffic_build, WrongAndZeroChecksumsAreWrong) {
  Ipv4 ip;
  ip.checksum = Checksum::kWrong;
  Tcp t;
  t.checksum = Checksum::kWrong;
  Bytes f = PacketBuilder().ipv4(ip).tcp(t).build();
  Parsed p;
  ASSERT_TRUE(parse(f, &p));
  EXPECT_FALSE(ipv4_header_ok(f, p));
  EXPECT_FALSE(l4_checksum_ok(f, p));
  for (int seed = 0; seed < 300; ++seed) {  // whatever the correct value, wrong stays wrong
    Udp u;
    u.sport = uint16_t(seed * 7919);
    u.checksum = Checksum::kWrong;
    Bytes g = PacketBuilder().ipv6(Ipv6{}).udp(u).payload_size(seed % 5).build();
    ASSERT_TRUE(parse(g, &p));
    EXPECT_FALSE(l4_checksum_ok(g, p)) << seed;
    EXPECT_NE(be16(g, p.l4 + 6), 0) << seed;
  }
  Udp z;
  z.checksum = Checksum::kZero;
  Bytes g = PacketBuilder().ipv4(Ipv4{}).udp(z).build();
  EXPECT_EQ(be16(g, 14 + 20 + 6), 0);
}

TEST(traffic_build, VlanStackFragmentsArpAndPadding) {
  Ipv4 frag;
  frag.mf = true;
  frag.frag_offset = 185;
  Bytes f = PacketBuilder()
                .vlan(300, kTpid8021AD)
                .vlan(100, kTpid8021Q, 5, true)
                .ipv4(frag)
                .udp(Udp{})
                .payload_size(4)
                .pad_to(80)
                .build();
  ASSERT_EQ(f.size(), 80u);
  EXPECT_EQ(be16(f, 12), 0x88a8);
  EXPECT_EQ(be16(f, 14), 300);
  EXPECT_EQ(be16(f, 16), 0x8100);
  EXPECT_EQ(be16(f, 18), 0xb000 | 100);  // PCP 5, DEI
  EXPECT_EQ(be16(f, 20), 0x0800);
  EXPECT_EQ(be16(f, 22 + 6), 0x2000 | 185);
  EXPECT_EQ(be16(f, 22 + 2), 20 + 8 + 4);  // padding is not part of the IP packet
  EXPECT_EQ(f.back(), 0);

  Arp a;
  a.op = 2;
  Bytes arp = PacketBuilder().arp(a).pad_to(60).build();
  ASSERT_EQ(arp.size(), 60u);
  EXPECT_EQ(be16(arp, 12), 0x0806);
  EXPECT_EQ(be16(arp, 14), 1);
  EXPECT_EQ(be16(arp, 16), 0x0800);
  EXPECT_EQ(be16(arp, 20), 2);
  EXPECT_EQ(be16(arp, 38), 0xc000);  // target 192.0.2.1

  Ipv4 bad;
  bad.ihl = 3;
  bad.total_length = 9999;
  Bytes g = PacketBuilder().ipv4(bad).udp(Udp{}).build();
  EXPECT_EQ(g[14], 0x43);
  EXPECT_EQ(be16(g, 16), 9999);
}

TEST(traffic_build, ImpossibleRequestsThrow) {
  EXPECT_FALSE(error_of([] { PacketBuilder().tcp(Tcp{}).build(); }).empty());
  EXPECT_FALSE(error_of([] { PacketBuilder().arp(Arp{}).udp(Udp{}).build(); }).empty());
  Ipv4 ip;
  ip.options.assign(41, 1);
  EXPECT_FALSE(error_of([&] { PacketBuilder().ipv4(ip).build(); }).empty());
  Tcp t;
  t.options.assign(44, 1);
  EXPECT_FALSE(error_of([&] { PacketBuilder().ipv4(Ipv4{}).tcp(t).build(); }).empty());
  EXPECT_FALSE(error_of([] { PacketBuilder().ipv4(Ipv4{}).payload_size(70000).build(); }).empty());
  EXPECT_FALSE(error_of([] {
                 PacketBuilder().ipv6(Ipv6{}).udp(Udp{}).payload_size(65530).build();
               }).empty());
  Ipv6 big;
  big.ext = {Ipv6Ext::dest_options({}, 3000)};
  EXPECT_FALSE(error_of([&] { PacketBuilder().ipv6(big).build(); }).empty());
  // A lie about the length is still possible when asked for explicitly.
  Ipv4 lie;
  lie.total_length = 100;
  EXPECT_EQ(PacketBuilder().ipv4(lie).payload_size(70000).build().size(), 14u + 20 + 70000);
}

TEST(traffic_build, Ipv6ExtensionHeaderLayout) {
  Ipv6 h;
  h.ext = {Ipv6Ext::hop_by_hop({5, 2, 0, 0}), Ipv6Ext::fragment(3, true, 0x11223344),
           Ipv6Ext::dest_options({}, 24)};
  Bytes f = PacketBuilder().ipv6(h).udp(Udp{}).payload_size(4).build();
  size_t at = 54;
  EXPECT_EQ(f[20], 0);   // IPv6 next header: hop-by-hop
  EXPECT_EQ(f[at], 44);  // -> fragment
  EXPECT_EQ(f[at + 1], 0);
  EXPECT_EQ(f[at + 2], 5);  // router alert option kept
  at += 8;
  EXPECT_EQ(f[at], 60);  // -> destination options
  EXPECT_EQ(be16(f, at + 2), 3 << 3 | 1);
  EXPECT_EQ(be16(f, at + 4), 0x1122);
  at += 8;
  EXPECT_EQ(f[at], 17);
  EXPECT_EQ(f[at + 1], 2);  // 24 bytes
  at += 24;
  EXPECT_EQ(be16(f, at + 4), 12);  // UDP length
  EXPECT_EQ(be16(f, 18), 8 + 8 + 24 + 12);
}

// ---------------------------------------------------------------- generator

TEST(traffic_gen, SplitMixIsTheReferenceSequence) {
  SplitMix64 r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(r.next(), 0x6e789e6aa1b965f4ull);
  SplitMix64 s(7);
  std::set<uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    uint64_t v = s.range(3, 9);
    ASSERT_GE(v, 3u);
    ASSERT_LE(v, 9u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(s.below(0), 0u);
  EXPECT_EQ(s.below(1), 0u);
}

TEST(traffic_gen, SameSeedSameBytesOtherSeedOtherBytes) {
  TrafficProfile prof = sample_profile();
  std::vector<Packet> a = random_packets(prof, 300, 42), b = random_packets(prof, 300, 42);
  std::vector<Packet> c = random_packets(prof, 300, 43);
  ASSERT_EQ(a.size(), 300u);
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  EXPECT_NE(fingerprint(a), fingerprint(c));
  EXPECT_EQ(fingerprint(edge_cases(prof)), fingerprint(edge_cases(prof)));
  // The same bytes on every machine: these values were taken once and must not
  // drift. Change them only with an intended change of the generator.
  EXPECT_EQ(fingerprint(random_packets(TrafficProfile{}, 200, 1)), 0xa479bf193a1ad4b1ull)
      << std::hex << fingerprint(random_packets(TrafficProfile{}, 200, 1));
  EXPECT_EQ(fingerprint(random_packets(prof, 200, 20261123)), 0x954efe76dc3bd99bull)
      << std::hex << fingerprint(random_packets(prof, 200, 20261123));
  EXPECT_EQ(fingerprint(edge_cases(TrafficProfile{})), 0x4bc272410fb362d9ull)
      << std::hex << fingerprint(edge_cases(TrafficProfile{}));
}

TEST(traffic_gen, RandomPacketsAreMostlyWellFormedAndFollowTheProfile) {
  TrafficProfile prof = sample_profile();
  std::vector<Packet> v = random_packets(prof, 4000, 7);
  size_t valid = 0, v4 = 0, to_profile = 0, tagged = 0, full = 0, small = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const Bytes& f = v[i].data;
    ASSERT_GE(f.size(), 14u);
    ASSERT_LE(f.size(), 1514u + 8);
    EXPECT_EQ(v[i].ts_ns, i * kPacketGapNs);
    if (fully_valid(f)) ++valid;
    if (f.size() >= 1514) ++full;
    if (f.size() <= 100) ++small;
    Parsed p;
    if (parse(f, &p)) {
      if (p.tags) ++tagged;
      if (p.version == 4) {
        ++v4;
        uint32_t dst = uint32_t(p.dst[0]) << 24 | p.dst[1] << 16 | p.dst[2] << 8 | p.dst[3];
        if (dst == 0x0a000001 || dst == 0x0a000002) ++to_profile;
      }
    }
  }
  double n = double(v.size());
  EXPECT_GT(valid / n, 0.75);
  EXPECT_LT(valid / n, 0.93);
  EXPECT_GT(to_profile / double(v4), 0.6);
  EXPECT_GT(tagged / n, 0.2);
  EXPECT_GT(full / n, 0.1);
  EXPECT_GT(small / n, 0.3);
}

TEST(traffic_gen, EdgeCasesCoverTheList) {
  TrafficProfile prof = sample_profile();
  std::vector<EdgeCase> cases = edge_case_list(prof);
  EXPECT_GE(cases.size(), 500u);
  EXPECT_LE(cases.size(), 2000u);
  std::map<std::string, const Bytes*> by_name;
  size_t n14 = 0, n60 = 0, n1514 = 0, jumbo = 0, qinq = 0, three_tags = 0, v4_frags = 0, chain9 = 0;
  std::set<uint32_t> echo_targets;
  for (const EdgeCase& c : cases) {
    const Bytes& f = c.packet.data;
    EXPECT_TRUE(by_name.emplace(c.name, &f).second) << "duplicate name " << c.name;
    ASSERT_GE(f.size(), 14u) << c.name;
    ASSERT_LE(f.size(), 3000u) << c.name;
    n14 += f.size() == 14;
    n60 += f.size() == 60;
    n1514 += f.size() == 1514;
    jumbo += f.size() > 1522;
    if (be16(f, 12) == 0x88a8 && f.size() >= 18 && be16(f, 16) == 0x8100) ++qinq;
    if (f.size() >= 22 && be16(f, 16) >= 0x8100 && (be16(f, 20) == 0x8100 || be16(f, 20) == 0x88a8))
      ++three_tags;
    Parsed p;
    if (parse(f, &p) && p.version == 4 && f.size() >= p.l3 + 20 && (be16(f, p.l3 + 6) & 0x2000))
      ++v4_frags;
    if (parse(f, &p) && p.ext_headers == 9) ++chain9;
    if (parse(f, &p) && p.version == 4 && p.proto == 1 && f.size() > p.l4 && f[p.l4] == 8)
      echo_targets.insert(uint32_t(p.dst[0]) << 24 | p.dst[1] << 16 | p.dst[2] << 8 | p.dst[3]);
  }
  EXPECT_GE(n14, 5u);
  EXPECT_GE(n60, 5u);
  EXPECT_GE(n1514, 4u);
  EXPECT_GE(jumbo, 3u);
  EXPECT_GE(qinq, 3u);
  EXPECT_GE(three_tags, 3u);
  EXPECT_GE(v4_frags, 10u);
  EXPECT_GE(chain9, 3u);
  EXPECT_TRUE(echo_targets.count(0x0a000001) && echo_targets.count(0x0a000002));

  // Every prefix of the typical packets, from 14 bytes to whole.
  for (const char* tmpl : {"eth-ipv4-tcp", "eth-ipv4-udp", "eth-ipv6-udp", "eth-vlan-ipv4-icmp"}) {
    size_t len = 14;
    const Bytes* prev = nullptr;
    while (by_name.count(fmt_name(tmpl, len))) {
      const Bytes* cur = by_name[fmt_name(tmpl, len)];
      EXPECT_EQ(cur->size(), len);
      if (prev) {
        EXPECT_TRUE(std::equal(prev->begin(), prev->end(), cur->begin())) << tmpl << len;
      }
      prev = cur;
      ++len;
    }
    EXPECT_GE(len, 50u) << tmpl;
    ASSERT_NE(prev, nullptr);
    EXPECT_TRUE(fully_valid(*prev)) << tmpl << ": the whole packet is well-formed";
    EXPECT_FALSE(by_name.count(fmt_name(tmpl, 13))) << "frames under 14 bytes are left out";
  }
  for (const char* name :
       {"ipv4/ihl=4", "ipv4/ihl=15/tcp", "ipv4/total-length=65535", "ipv4-frag/udp/first",
        "ipv4-frag/udp/middle", "ipv4-frag/udp/last", "ipv4-frag/tcp/df-mf", "ipv4/ttl=0/tcp",
        "ipv4/ttl=255/icmp", "checksum/ipv4-wrong/tcp", "checksum/udp-wrong/ipv6",
        "vlan/88a8-8100/ipv4-udp", "vlan/8100-8100-8100/ipv6-tcp", "ipv6-ext/chain=9/udp",
        "arp/request", "ethertype/lldp", "size/3000/ipv4-udp", "icmpv6/echo-request/2001:db8:1::1",
        "port/dst/443/tcp-syn"})
    EXPECT_TRUE(by_name.count(name)) << name;

  // Named well-formed cases verify; named broken ones do not.
  EXPECT_TRUE(fully_valid(*by_name["ipv6-ext/chain=9/tcp"]));
  EXPECT_TRUE(fully_valid(*by_name["ipv6-ext/routing-0/udp"]));
  EXPECT_TRUE(fully_valid(*by_name["size/1514/ipv6-udp"]));
  EXPECT_FALSE(fully_valid(*by_name["checksum/ipv4-wrong/udp"]));
  EXPECT_FALSE(fully_valid(*by_name["checksum/tcp-wrong/ipv6"]));
}

TEST(traffic_gen, PacketSetIsEdgeCasesThenRandom) {
  TrafficProfile prof = sample_profile();
  std::vector<Packet> edges = edge_cases(prof);
  std::vector<Packet> set = packet_set(prof, edges.size() + 100, 5);
  ASSERT_EQ(set.size(), edges.size() + 100);
  for (size_t i = 0; i < edges.size(); ++i) ASSERT_EQ(set[i].data, edges[i].data) << i;
  std::vector<Packet> rnd = random_packets(prof, 100, 5);
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(set[edges.size() + i].data, rnd[i].data) << i;
  for (size_t i = 0; i < set.size(); ++i) ASSERT_EQ(set[i].ts_ns, i * kPacketGapNs);
  std::vector<Packet> few = packet_set(prof, 10, 5);
  ASSERT_EQ(few.size(), 10u);
  EXPECT_EQ(few[9].data, edges[9].data);
  EXPECT_TRUE(packet_set(prof, 0, 5).empty());
}

// ---------------------------------------------------------------- profiles

TEST(traffic_profile, ParsesEveryKey) {
  TrafficProfile p = sample_profile();
  EXPECT_EQ(p.dst_ipv4, (std::vector<Ipv4Addr>{0x0a000001, 0x0a000002}));
  EXPECT_EQ(p.src_ipv4, (std::vector<Ipv4Addr>{0x0a000101}));
  ASSERT_EQ(p.dst_ipv6.size(), 1u);
  EXPECT_EQ(format_ipv6(p.dst_ipv6[0]), "2001:db8:1::1");
  EXPECT_EQ(p.dst_ports, (std::vector<uint16_t>{443, 53}));
  EXPECT_EQ(p.src_ports, (std::vector<uint16_t>{5555}));
  EXPECT_EQ(p.protocols, (std::vector<Protocol>{Protocol::kTcp, Protocol::kUdp, Protocol::kIcmp}));
  EXPECT_EQ(p.vlan_ids, (std::vector<uint16_t>{100, 200}));
  TrafficProfile empty = TrafficProfile::from_json_text(R"({"_comment": "nothing"})", "x");
  EXPECT_TRUE(empty.dst_ipv4.empty() && empty.protocols.empty());
}

TEST(traffic_profile, FileAndErrors) {
  std::string path = temp_path("profile.json");
  write_file(path, R"({"dst_ipv4": ["192.0.2.7"], "protocols": ["icmpv6", "other"]})");
  TrafficProfile p = TrafficProfile::from_json_file(path);
  EXPECT_EQ(p.dst_ipv4, (std::vector<Ipv4Addr>{0xc0000207}));
  EXPECT_EQ(p.protocols, (std::vector<Protocol>{Protocol::kIcmpv6, Protocol::kOther}));

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"dst_ipv4\": [\"10.0.0.1\",\n", "invalid JSON"},
      {"not json at all", "invalid JSON"},
      {"[1, 2]", "JSON object"},
      {R"({"dst_port": [80]})", "unknown key 'dst_port'"},
      {R"({"dst_ports": [80, 70000]})", "dst_ports[1]"},
      {R"({"dst_ports": [-1]})", "dst_ports[0]"},
      {R"({"dst_ports": [80.5]})", "dst_ports[0]"},
      {R"({"vlan_ids": [4096]})", "vlan_ids[0]"},
      {R"({"dst_ports": 80})", "must be a list"},
      {R"({"src_ipv4": ["10.0.0.300"]})", "src_ipv4[0]"},
      {R"({"dst_ipv6": ["2001:db8::g"]})", "dst_ipv6[0]"},
      {R"({"protocols": ["sctp"]})", "protocols[0]: 'sctp'"},
      {R"({"protocols": [6]})", "protocols[0]"},
  };
  for (const auto& [text, why] : bad) {
    write_file(path, text);
    std::string msg = error_of([&] { TrafficProfile::from_json_file(path); });
    expect_one_line_naming(msg, path);
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
  }
  std::remove(path.c_str());
  expect_one_line_naming(error_of([&] { TrafficProfile::from_json_file(path); }), path);
  std::string dir = ::testing::TempDir();
  expect_one_line_naming(error_of([&] { TrafficProfile::from_json_file(dir); }), dir);
}

// ---------------------------------------------------------------- scapy cross-check

namespace {

// A python3 that can import scapy, or "".
std::string python_with_scapy() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    std::string cmd = std::string(py) + " -c 'import scapy.all' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

// Prints one line per packet: each layer scapy dissects with its fields, and
// whether each stored checksum equals what scapy computes for it.
const char* kScapyScript = R"PY(
import sys
from scapy.all import rdpcap, raw, Ether, Dot1Q, Dot1AD, IP, TCP, UDP, ICMP, ARP, Raw, Padding
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                                IPv6ExtHdrFragment, ICMPv6EchoRequest, ICMPv6EchoReply)

def verdict(pkt, depth, field):
    clone = pkt.copy()
    layer = clone
    for _ in range(depth):
        layer = layer.payload
    stored = getattr(layer, field)
    delattr(layer, field)
    fresh = Ether(raw(clone))
    for _ in range(depth):
        fresh = fresh.payload
    return "ok" if getattr(fresh, field) == stored else "bad"

for p in rdpcap(sys.argv[1]):
    p = Ether(raw(p))
    out, layer, depth = [], p, 0
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        l = layer
        if isinstance(l, Ether):
            out.append("eth %s>%s" % (l.src, l.dst))
        elif isinstance(l, Dot1AD):
            out.append("vlan 88a8 vid=%d" % l.vlan)
        elif isinstance(l, Dot1Q):
            out.append("vlan 8100 vid=%d prio=%d" % (l.vlan, l.prio))
        elif isinstance(l, IP):
            out.append("ipv4 %s>%s ttl=%d proto=%d flags=%d frag=%d ihl=%d len=%d sum=%s" % (
                l.src, l.dst, l.ttl, l.proto, int(l.flags), l.frag, l.ihl, l.len,
                verdict(p, depth, "chksum")))
        elif isinstance(l, IPv6):
            out.append("ipv6 %s>%s hlim=%d nh=%d plen=%d" % (l.src, l.dst, l.hlim, l.nh, l.plen))
        elif isinstance(l, IPv6ExtHdrHopByHop):
            out.append("hbh len=%d" % l.len)
        elif isinstance(l, IPv6ExtHdrDestOpt):
            out.append("dest len=%d" % l.len)
        elif isinstance(l, IPv6ExtHdrRouting):
            out.append("rt type=%d segleft=%d n=%d" % (l.type, l.segleft, len(l.addresses)))
        elif isinstance(l, IPv6ExtHdrFragment):
            out.append("frag off=%d m=%d id=%d" % (l.offset, l.m, l.id))
        elif isinstance(l, TCP):
            out.append("tcp %d>%d flags=%d seq=%d ack=%d dataofs=%d opts=%s sum=%s" % (
                l.sport, l.dport, int(l.flags), l.seq, l.ack, l.dataofs,
                ",".join(o[0] for o in l.options), verdict(p, depth, "chksum")))
        elif isinstance(l, UDP):
            out.append("udp %d>%d len=%d sum=%s" % (l.sport, l.dport, l.len, verdict(p, depth, "chksum")))
        elif isinstance(l, ICMP):
            out.append("icmp type=%d code=%d id=%d seq=%d sum=%s" % (
                l.type, l.code, l.id, l.seq, verdict(p, depth, "chksum")))
        elif isinstance(l, (ICMPv6EchoRequest, ICMPv6EchoReply)):
            out.append("icmpv6 type=%d id=%d seq=%d data=%d sum=%s" % (
                l.type, l.id, l.seq, len(l.data), verdict(p, depth, "cksum")))
        elif isinstance(l, ARP):
            out.append("arp op=%d %s>%s hw=%s" % (l.op, l.psrc, l.pdst, l.hwsrc))
        elif isinstance(l, Padding):  # a subclass of Raw: test it first
            out.append("pad %d" % len(l.load))
        elif isinstance(l, Raw):
            out.append("raw %d" % len(l.load))
        else:
            out.append(l.__class__.__name__)
        layer, depth = layer.payload, depth + 1
    print(" | ".join(out))
)PY";

}  // namespace

TEST(traffic_scapy, DissectsBuiltPacketsWithTheSameFieldsAndChecksums) {
  std::string py = python_with_scapy();
  if (py.empty())
    GTEST_SKIP() << "python3 with scapy is not installed (apt-get install python3-scapy)";

  const std::string eth = "eth 02:00:00:00:00:01>02:00:00:00:00:02";
  std::vector<std::pair<Bytes, std::string>> cases;
  {
    Ipv4 ip;
    ip.src = parse_ipv4("10.0.0.1");
    ip.dst = parse_ipv4("10.0.0.2");
    ip.ttl = 33;
    ip.df = true;
    Tcp t;
    t.sport = 1234;
    t.dport = 80;
    t.flags = kTcpSyn;
    t.seq = 1000;
    for (const Bytes& o : {tcp_opt_mss(1460), tcp_opt_sack_permitted(), tcp_opt_timestamp(5, 0),
                           tcp_opt_nop(), tcp_opt_wscale(7)})
      t.options.insert(t.options.end(), o.begin(), o.end());
    cases.push_back({PacketBuilder().ipv4(ip).tcp(t).payload_size(5).build(),
                     eth + " | ipv4 10.0.0.1>10.0.0.2 ttl=33 proto=6 flags=2 frag=0 ihl=5 len=65 "
                           "sum=ok | tcp 1234>80 flags=2 seq=1000 ack=0 dataofs=10 "
                           "opts=MSS,SAckOK,Timestamp,NOP,WScale sum=ok | raw 5"});
    Tcp bad = t;
    bad.options.clear();
    bad.flags = kTcpAck | kTcpPsh;
    bad.ack = 77;
    bad.checksum = Checksum::kWrong;
    cases.push_back({PacketBuilder().ipv4(ip).tcp(bad).payload_size(3).build(),
                     eth + " | ipv4 10.0.0.1>10.0.0.2 ttl=33 proto=6 flags=2 frag=0 ihl=5 len=43 "
                           "sum=ok | tcp 1234>80 flags=24 seq=1000 ack=77 dataofs=5 opts= "
                           "sum=bad | raw 3"});
  }
  {
    Ipv4 ip;
    ip.options = {0x94, 4, 0, 0};
    ip.mf = true;
    Udp u;
    u.sport = 1111;  // not 53: scapy would dissect the payload as DNS
    u.dport = 2222;
    cases.push_back({PacketBuilder()
                         .vlan(300, kTpid8021AD)
                         .vlan(100, kTpid8021Q, 3)
                         .ipv4(ip)
                         .udp(u)
                         .payload_size(2)
                         .pad_to(64)
                         .build(),
                     eth + " | vlan 88a8 vid=300 | vlan 8100 vid=100 prio=3 | ipv4 "
                           "198.51.100.1>192.0.2.1 ttl=64 proto=17 flags=1 frag=0 ihl=6 len=34 "
                           "sum=ok | udp 1111>2222 len=10 sum=ok | raw 2 | pad 8"});
    Ipv4 wrong;
    wrong.checksum = Checksum::kWrong;
    IcmpEcho e;
    e.id = 0x4242;
    e.seq = 9;
    cases.push_back({PacketBuilder().ipv4(wrong).icmp(e).payload_size(16).build(),
                     eth + " | ipv4 198.51.100.1>192.0.2.1 ttl=64 proto=1 flags=0 frag=0 ihl=5 "
                           "len=44 sum=bad | icmp type=8 code=0 id=16962 seq=9 sum=ok | raw 16"});
  }
  {
    Ipv6 h;
    h.hop_limit = 9;
    h.ext = {Ipv6Ext::hop_by_hop(), Ipv6Ext::routing(0, 1, {parse_ipv6("2001:db8::99")}),
             Ipv6Ext::dest_options({}, 16)};
    Udp u;
    u.sport = 1000;
    u.dport = 2000;
    cases.push_back(
        {PacketBuilder().ipv6(h).udp(u).payload_size(6).build(),
         eth + " | ipv6 2001:db8::1>2001:db8::2 hlim=9 nh=0 plen=62 | hbh len=0 | rt "
               "type=0 segleft=1 n=1 | dest len=1 | udp 1000>2000 len=14 sum=ok | raw 6"});
    Ipv6 f;
    f.ext = {Ipv6Ext::fragment(0, true, 77)};
    Tcp t;
    t.flags = kTcpFin | kTcpAck;
    t.ack = 5;
    cases.push_back(
        {PacketBuilder().ipv6(f).tcp(t).payload_size(1).build(),
         eth + " | ipv6 2001:db8::1>2001:db8::2 hlim=64 nh=44 plen=29 | frag off=0 m=1 "
               "id=77 | tcp 40000>80 flags=17 seq=1 ack=5 dataofs=5 opts= sum=ok | raw 1"});
    IcmpEcho e;
    e.reply = true;
    e.id = 3;
    e.seq = 4;
    cases.push_back({PacketBuilder().ipv6(Ipv6{}).icmp(e).payload_size(8).build(),
                     eth +
                         " | ipv6 2001:db8::1>2001:db8::2 hlim=64 nh=58 plen=16 | icmpv6 type=129 "
                         "id=3 seq=4 data=8 sum=ok"});
  }
  {
    Arp a;
    a.sender_ip = parse_ipv4("10.9.8.7");
    a.target_ip = parse_ipv4("10.9.8.1");
    cases.push_back({PacketBuilder().arp(a).pad_to(60).build(),
                     eth + " | arp op=1 10.9.8.7>10.9.8.1 hw=02:00:00:00:00:01 | pad 18"});
  }
  // The generator's own well-formed edge cases must pass scapy's checksums too.
  std::vector<EdgeCase> edges = edge_case_list(sample_profile());
  size_t first_edge = cases.size();
  std::vector<std::string> edge_names;
  for (const EdgeCase& c : edges) {
    const std::string& n = c.name;
    bool pick = n.rfind("ipv6-ext/chain=", 0) == 0 || n.rfind("vlan/", 0) == 0 ||
                n.rfind("size/1514", 0) == 0 || n.rfind("icmp", 0) == 0 ||
                n.rfind("ipv6-ext/routing", 0) == 0 || n.rfind("port/", 0) == 0;
    bool no_sum = n.find("empty") != std::string::npos || n.find("type=") != std::string::npos ||
                  n.find("arp") != std::string::npos || n.find("9100") != std::string::npos;
    if (pick && !no_sum) {
      cases.push_back({c.packet.data, ""});
      edge_names.push_back(n);
    }
  }

  std::vector<Packet> pkts;
  for (const auto& c : cases) pkts.push_back(Packet{c.first, 0});
  std::string pcap = temp_path("scapy.pcap"), script = temp_path("scapy_check.py");
  write_pcap(pcap, pkts);
  write_file(script, kScapyScript);
  std::string cmd = py + " " + script + " " + pcap + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::vector<std::string> lines;
  std::string cur;
  for (int ch; (ch = fgetc(pipe)) != EOF;) {
    if (ch == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += char(ch);
    }
  }
  int status = pclose(pipe);
  std::remove(pcap.c_str());
  std::remove(script.c_str());
  ASSERT_EQ(status, 0) << "scapy script failed:\n"
                       << [&] {
                            std::string all;
                            for (const std::string& l : lines) all += l + "\n";
                            return all;
                          }();
  ASSERT_EQ(lines.size(), cases.size());
  for (size_t i = 0; i < first_edge; ++i) EXPECT_EQ(lines[i], cases[i].second) << "case " << i;
  for (size_t i = first_edge; i < cases.size(); ++i) {
    const std::string& l = lines[i];
    EXPECT_EQ(l.find("sum=bad"), std::string::npos) << edge_names[i - first_edge] << ": " << l;
    EXPECT_NE(l.find("sum=ok"), std::string::npos) << edge_names[i - first_edge] << ": " << l;
  }
}
