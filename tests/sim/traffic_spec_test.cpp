// Generated traffic (`--traffic SPEC`): the spec's syntax and errors, wire
// sizes, offered rates read back from the timestamps, size mixes, flow counts
// and distributions, and frames checked by a parser and checksum routine
// written here (not the library's). Suites are named traffic_spec_* so that
// `ctest -R traffic` selects them with the other traffic tests.
#include "sim/traffic/traffic_spec.h"

#include "sim/traffic/packet_build.h"
#include "sim/traffic/packet_gen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace traffic;

namespace {

constexpr double kLine = 100.0;  // Gb/s

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// The message is one "--traffic: ..." line that contains every needle.
void expect_error(const std::string& msg, const std::vector<std::string>& needles,
                  const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_FALSE(msg.empty()) << "no error";
  EXPECT_EQ(msg.rfind("--traffic: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
}

// ---- an independent frame parser and checksum

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (n % 2) sum += uint32_t(p[n - 1]) << 8;
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

uint16_t get16(const std::vector<uint8_t>& d, size_t at) {
  return uint16_t(d[at] << 8 | d[at + 1]);
}
uint32_t get32(const std::vector<uint8_t>& d, size_t at) {
  return uint32_t(get16(d, at)) << 16 | get16(d, at + 2);
}

struct Parsed {
  std::string error;  // empty when the frame is well-formed
  bool v6 = false;
  bool tcp = false;
  std::string tuple;  // protocol, addresses and ports
  uint32_t seq = 0;
  size_t payload = 0;
};

Parsed parse_frame(const std::vector<uint8_t>& d) {
  Parsed r;
  auto bad = [&](const std::string& why) {
    r.error = why;
    return r;
  };
  if (d.size() < 60) return bad("shorter than 60 bytes");
  const uint16_t type = get16(d, 12);
  size_t l4 = 0, l4_len = 0;
  uint8_t proto = 0;
  uint32_t pseudo = 0;
  if (type == 0x0800) {
    r.v6 = false;
    if (d[14] != 0x45) return bad("IPv4 version/IHL");
    if (get16(d, 16) != d.size() - 14) return bad("IPv4 total length");
    if (fold(sum16(&d[14], 20)) != 0xffff) return bad("IPv4 header checksum");
    if ((get16(d, 20) & 0x3fff) != 0) return bad("IPv4 fragment");
    if (d[22] == 0) return bad("IPv4 TTL 0");
    proto = d[23];
    l4 = 34;
    l4_len = d.size() - 34;
    pseudo = sum16(&d[26], 8) + proto + uint32_t(l4_len);
    r.tuple = std::to_string(proto) + " " + std::to_string(get32(d, 26)) + ">" +
              std::to_string(get32(d, 30));
  } else if (type == 0x86dd) {
    r.v6 = true;
    if (d[14] >> 4 != 6) return bad("IPv6 version");
    if (get16(d, 18) != d.size() - 54) return bad("IPv6 payload length");
    proto = d[20];
    l4 = 54;
    l4_len = d.size() - 54;
    pseudo = sum16(&d[22], 32) + proto + uint32_t(l4_len);
    r.tuple = std::to_string(proto) + " " + std::string(d.begin() + 22, d.begin() + 54);
  } else {
    return bad("ethertype");
  }
  if (proto == 17) {
    if (l4_len < 8) return bad("UDP short");
    if (get16(d, l4 + 4) != l4_len) return bad("UDP length");
    if (get16(d, l4 + 6) == 0) return bad("UDP checksum missing");
    if (fold(sum16(&d[l4], l4_len, pseudo)) != 0xffff) return bad("UDP checksum");
    r.payload = l4_len - 8;
  } else if (proto == 6) {
    r.tcp = true;
    if (l4_len < 20) return bad("TCP short");
    if (d[l4 + 12] >> 4 != 5) return bad("TCP data offset");
    if (!(d[l4 + 13] & 0x10)) return bad("TCP without ACK");
    if (fold(sum16(&d[l4], l4_len, pseudo)) != 0xffff) return bad("TCP checksum");
    r.seq = get32(d, l4 + 4);
    r.payload = l4_len - 20;
  } else {
    return bad("protocol " + std::to_string(proto));
  }
  r.tuple += " " + std::to_string(get16(d, l4)) + ">" + std::to_string(get16(d, l4 + 2));
  return r;
}

GeneratedTraffic gen(const std::string& spec, const TrafficProfile& profile = {},
                     double line = kLine) {
  return generate_traffic(TrafficSpec::parse(spec), profile, line);
}

uint64_t fnv1a(const std::vector<Packet>& packets) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ull;
  };
  for (const Packet& p : packets) {
    for (int i = 0; i < 8; ++i) mix(uint8_t(p.ts_ns >> (8 * i)));
    for (uint8_t b : p.data) mix(b);
  }
  return h;
}

// Frames per microsecond (Mpps) measured from first to last timestamp.
double measured_mpps(const std::vector<Packet>& v) {
  return double(v.size() - 1) * 1000.0 / double(v.back().ts_ns - v.front().ts_ns);
}

}  // namespace

// ---------------------------------------------------------------- wire size

TEST(traffic_spec_wire, bytes_on_the_wire) {
  EXPECT_EQ(wire_bytes(60), 84u);
  EXPECT_EQ(wire_bytes(1514), 1538u);
  EXPECT_EQ(wire_bytes(10), 84u);
  EXPECT_EQ(wire_bytes(0), 84u);
  EXPECT_EQ(wire_bytes(61), 85u);
  EXPECT_EQ(wire_bytes(9014), 9038u);
}

// ---------------------------------------------------------------- parse and describe

TEST(traffic_spec_parse, defaults) {
  TrafficSpec d = TrafficSpec::parse("");
  EXPECT_EQ(d, TrafficSpec{});
  EXPECT_EQ(d.describe(),
            "size=imix,flows=1024,dist=uniform,rate=line,packets=10000,proto=udp,ipv6=0,seed=1");
  EXPECT_EQ(d.size, TrafficSpec::SizeMix::imix());
  EXPECT_EQ(d.packets, 10000u);
  EXPECT_EQ(d.duration_ns, 0u);
}

TEST(traffic_spec_parse, example_from_the_docs) {
  TrafficSpec s = TrafficSpec::parse(
      "size=64,flows=1024,dist=uniform,rate=line,duration=100us,proto=udp,seed=1");
  EXPECT_EQ(s.size, TrafficSpec::SizeMix::fixed(64));
  EXPECT_EQ(s.flows, 1024u);
  EXPECT_EQ(s.dist, TrafficSpec::Dist::kUniform);
  EXPECT_EQ(s.rate, TrafficSpec::Rate::kLine);
  EXPECT_EQ(s.duration_ns, 100000u);
  EXPECT_EQ(s.packets, 0u);
  EXPECT_EQ(s.proto, TrafficSpec::Proto::kUdp);
  EXPECT_EQ(s.seed, 1u);
  EXPECT_EQ(s.describe(),
            "size=64,flows=1024,dist=uniform,rate=line,duration=100us,proto=udp,ipv6=0,seed=1");
}

TEST(traffic_spec_parse, values) {
  TrafficSpec s = TrafficSpec::parse(
      " size = 64*7+594*4+1518*1 , dist=zipf:1.1, rate=40Gbps, packets=5, proto=mixed, "
      "ipv6=0%, seed=18446744073709551615");
  EXPECT_EQ(s.size, TrafficSpec::SizeMix::imix());
  EXPECT_EQ(s.dist, TrafficSpec::Dist::kZipf);
  EXPECT_DOUBLE_EQ(s.zipf_s, 1.1);
  EXPECT_EQ(s.rate, TrafficSpec::Rate::kGbps);
  EXPECT_DOUBLE_EQ(s.rate_value, 40);
  EXPECT_EQ(s.packets, 5u);
  EXPECT_EQ(s.proto, TrafficSpec::Proto::kMixed);
  EXPECT_EQ(s.ipv6_percent, 0u);
  EXPECT_EQ(s.seed, UINT64_MAX);
  EXPECT_EQ(TrafficSpec::parse("size=78,ipv6=100%").ipv6_percent, 100u);
  EXPECT_EQ(TrafficSpec::parse("size=78,ipv6=35").ipv6_percent, 35u);

  EXPECT_EQ(TrafficSpec::parse("size=100-200").size, TrafficSpec::SizeMix::range(100, 200));
  EXPECT_EQ(TrafficSpec::parse("size=128-128").size, TrafficSpec::SizeMix::fixed(128));
  TrafficSpec::SizeMix two = TrafficSpec::parse("size=128+256*3").size;
  ASSERT_EQ(two.weighted.size(), 2u);
  EXPECT_EQ(two.weighted[1], (std::pair<uint32_t, uint32_t>(256, 3)));
  EXPECT_EQ(TrafficSpec::parse("rate=40G").rate_value, 40);
  EXPECT_EQ(TrafficSpec::parse("rate=2.5Gb/s").rate_value, 2.5);
  EXPECT_EQ(TrafficSpec::parse("rate=10Mpps").rate, TrafficSpec::Rate::kMpps);
  EXPECT_EQ(TrafficSpec::parse("rate=50%").rate, TrafficSpec::Rate::kPercent);
  EXPECT_EQ(TrafficSpec::parse("dist=zipf").zipf_s, 1.0);
  EXPECT_EQ(TrafficSpec::parse("dist=roundrobin").dist, TrafficSpec::Dist::kRoundRobin);
  EXPECT_EQ(TrafficSpec::parse("duration=1ms").duration_ns, 1000000u);
  EXPECT_EQ(TrafficSpec::parse("duration=2s").duration_ns, 2000000000u);
  EXPECT_EQ(TrafficSpec::parse("duration=500ns").duration_ns, 500u);
  EXPECT_EQ(TrafficSpec::parse("duration=1.5ms").duration_ns, 1500000u);
  EXPECT_EQ(TrafficSpec::parse("duration=0.25us").duration_ns, 250u);
}

TEST(traffic_spec_parse, describe_round_trips) {
  const std::vector<std::string> specs = {
      "",
      "size=64",
      "size=64-1518",
      "size=1518-9018,flows=1",
      "size=imix",
      "size=64*7+594*4+1518*1",
      "size=128+256+128*5",
      "flows=16777216,dist=roundrobin",
      "dist=zipf",
      "dist=zipf:1.1",
      "dist=zipf:0.0001",
      "rate=40G",
      "rate=2.5Gb/s",
      "rate=0.00001G",
      "rate=10Mpps",
      "rate=0.3Mpps",
      "rate=50%",
      "rate=12.5%",
      "duration=100us",
      "duration=1.5ms",
      "duration=2s",
      "duration=500ns",
      "duration=123456789ns",
      "packets=1",
      "packets=100000000",
      "proto=tcp",
      "proto=mixed,ipv6=50,size=128",
      "size=78-1518,ipv6=100%,proto=tcp",
      "seed=0",
      "seed=18446744073709551615",
      "size=64,flows=1024,dist=uniform,rate=line,duration=100us,proto=udp,seed=1",
  };
  for (const std::string& text : specs) {
    SCOPED_TRACE(text);
    TrafficSpec s = TrafficSpec::parse(text);
    const std::string d = s.describe();
    EXPECT_EQ(d.find(' '), std::string::npos) << d;
    TrafficSpec again = TrafficSpec::parse(d);
    EXPECT_EQ(again, s) << d;
    EXPECT_EQ(again.describe(), d);
  }
  EXPECT_NE(TrafficSpec::parse("duration=1.5ms").describe().find("duration=1500us"),
            std::string::npos);
  EXPECT_NE(TrafficSpec::parse("size=64*7+594*4+1518*1").describe().find("size=imix,"),
            std::string::npos);
  EXPECT_NE(TrafficSpec::parse("rate=40G").describe().find("rate=40Gbps,"), std::string::npos);
  EXPECT_NE(TrafficSpec::parse("ipv6=100%,size=78").describe().find("ipv6=100,"),
            std::string::npos);
}

TEST(traffic_spec_parse, errors_name_the_key) {
  struct Case {
    std::string text;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      // syntax
      {"bogus=1", {"unknown key 'bogus'", "size"}},
      {"flows", {"'flows'", "key=value"}},
      {"size=64,,flows=2", {"empty"}},
      {"size=64,", {"empty"}},
      {"size=", {"size="}},
      {"size=64,size=128", {"'size'", "twice"}},
      {"seed=1,seed=1", {"'seed'", "twice"}},
      // size
      {"size=63", {"size=63", "64..9018"}},
      {"size=9019", {"size=9019", "64..9018"}},
      {"size=0", {"size=0"}},
      {"size=abc", {"size=abc", "not a frame size"}},
      {"size=1518-64", {"size=1518-64", "range"}},
      {"size=64-99999999999999999999", {"size=64-99999999999999999999"}},
      {"size=64*0", {"size=64*0", "weight"}},
      {"size=64*x", {"size=64*x", "weight"}},
      {"size=64*2000000", {"size=64*2000000", "weight"}},
      {"size=64+", {"size=64+"}},
      {"size=IMIX", {"size=IMIX"}},
      // headers that do not fit
      {"size=64,ipv6=10,proto=tcp", {"size=64", "IPv6+TCP", "78"}},
      {"size=64,ipv6=1", {"size=64", "IPv6+UDP", "66"}},
      {"ipv6=20", {"size=imix", "IPv6+UDP", "66"}},
      {"size=77-1518,ipv6=100,proto=mixed", {"size=77-1518", "IPv6+TCP", "78"}},
      // flows and distribution
      {"flows=0", {"flows=0", "1..16777216"}},
      {"flows=16777217", {"flows=16777217"}},
      {"flows=99999999999999999999999", {"flows=99999999999999999999999", "out of range"}},
      {"flows=abc", {"flows=abc", "not a whole number"}},
      {"flows=-3", {"flows=-3"}},
      {"flows=1.5", {"flows=1.5"}},
      {"dist=pareto", {"dist=pareto"}},
      {"dist=zipf:0", {"dist=zipf:0", "exponent"}},
      {"dist=zipf:-1", {"dist=zipf:-1"}},
      {"dist=zipf:abc", {"dist=zipf:abc"}},
      {"dist=zipf:101", {"dist=zipf:101"}},
      // rate
      {"rate=0G", {"rate=0G", "more than 0"}},
      {"rate=0Mpps", {"rate=0Mpps", "more than 0"}},
      {"rate=0%", {"rate=0%", "more than 0"}},
      {"rate=0.0Gbps", {"rate=0.0Gbps"}},
      {"rate=101%", {"rate=101%", "100%"}},
      {"rate=fast", {"rate=fast"}},
      {"rate=-5G", {"rate=-5G"}},
      {"rate=nanG", {"rate=nanG"}},
      {"rate=infG", {"rate=infG"}},
      {"rate=1e999G", {"rate=1e999G"}},
      {"rate=10Mbps", {"rate=10Mbps"}},
      {"rate=G", {"rate=G"}},
      // duration and packets
      {"duration=0us", {"duration=0us", "more than 0"}},
      {"duration=10", {"duration=10", "unit"}},
      {"duration=1.5ns", {"duration=1.5ns", "nanosecond"}},
      {"duration=1.0000000001s", {"duration=1.0000000001s"}},
      {"duration=99999999999s", {"duration=99999999999s", "too long"}},
      {"duration=99999999999999999999999ns", {"duration=99999999999999999999999ns"}},
      {"duration=.5ms", {"duration=.5ms"}},
      {"duration=xms", {"duration=xms"}},
      {"packets=0", {"packets=0", "1..100000000"}},
      {"packets=-1", {"packets=-1"}},
      {"packets=100000001", {"packets=100000001"}},
      {"duration=1ms,packets=5", {"duration", "packets"}},
      // the rest
      {"proto=sctp", {"proto=sctp", "udp"}},
      {"ipv6=101", {"ipv6=101", "0..100"}},
      {"ipv6=x", {"ipv6=x"}},
      {"seed=-1", {"seed=-1"}},
      {"seed=18446744073709551616", {"seed=18446744073709551616", "out of range"}},
  };
  for (const Case& c : cases)
    expect_error(error_of([&] { TrafficSpec::parse(c.text); }), c.needles, c.text);
  // Near misses that are fine.
  EXPECT_NO_THROW(TrafficSpec::parse("size=64,proto=tcp"));  // IPv4+TCP fits in 64
  EXPECT_NO_THROW(TrafficSpec::parse("size=78-1518,ipv6=100,proto=mixed"));
  EXPECT_NO_THROW(TrafficSpec::parse("size=66,ipv6=50,proto=udp"));
  EXPECT_NO_THROW(TrafficSpec::parse("size=9018,rate=100%"));
}

TEST(traffic_spec_parse, validate_catches_programmatic_specs) {
  TrafficSpec s;
  s.packets = 5;
  s.duration_ns = 5;
  expect_error(error_of([&] { s.validate(); }), {"packets", "duration"}, "both");
  s = TrafficSpec{};
  s.flows = 0;
  expect_error(error_of([&] { s.validate(); }), {"flows=0"}, "flows");
  s = TrafficSpec{};
  s.size = TrafficSpec::SizeMix::range(200, 100);
  expect_error(error_of([&] { s.validate(); }), {"size=200-100"}, "range");
  s = TrafficSpec{};
  s.rate = TrafficSpec::Rate::kGbps;
  s.rate_value = 0;
  expect_error(error_of([&] { s.validate(); }), {"rate="}, "rate");
  s = TrafficSpec{};
  s.ipv6_percent = 10;
  s.proto = TrafficSpec::Proto::kTcp;
  EXPECT_EQ(s.min_frame_for_headers(), 78u);
  expect_error(error_of([&] { generate(s, {}, kLine); }), {"IPv6+TCP", "78"}, "generate");
}

// ---------------------------------------------------------------- rates and timestamps

TEST(traffic_spec_rate, line_rate_64_bytes_at_100g) {
  GeneratedTraffic t = gen("size=64,rate=line,packets=10000");
  const std::vector<Packet>& v = t.packets;
  ASSERT_EQ(v.size(), 10000u);
  EXPECT_EQ(v.front().ts_ns, 0u);
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(v[i].data.size(), 60u);
    // Start of packet i is i * 6.72 ns, rounded down.
    ASSERT_EQ(v[i].ts_ns, uint64_t(i * 672 / 100)) << i;
    if (i) {
      ASSERT_TRUE(v[i].ts_ns - v[i - 1].ts_ns == 6 || v[i].ts_ns - v[i - 1].ts_ns == 7);
    }
  }
  // 10,000 frames of 84 wire bytes take 10,000 * 6.72 ns: the last one ends there.
  EXPECT_NEAR(double(v.back().ts_ns) + 6.72, 10000 * 6.72, 1.0);
  EXPECT_NEAR(measured_mpps(v), 148.81, 0.05);
  EXPECT_NEAR(offered_gbps(TrafficSpec::parse("size=64"), kLine), 100.0, 1e-9);
}

TEST(traffic_spec_rate, percent_and_gbps) {
  const double half = measured_mpps(gen("size=64,rate=50%,packets=10000").packets);
  EXPECT_NEAR(half, 148.81 / 2, 0.03);
  EXPECT_NEAR(measured_mpps(gen("size=64,rate=50G,packets=10000").packets), half, 1e-9);
  EXPECT_NEAR(measured_mpps(gen("size=64,rate=50Gbps,packets=10000").packets), half, 1e-9);
  // The same percentage of a 40 Gb/s line.
  EXPECT_NEAR(measured_mpps(gen("size=64,rate=50%,packets=10000", {}, 40).packets), 148.81 * 0.2,
              0.02);
  // 1518-byte frames take 1538 bytes: 307.6 ns each at 40 Gb/s.
  std::vector<Packet> big = gen("size=1518,rate=40G,packets=1001").packets;
  EXPECT_NEAR(double(big.back().ts_ns), 1000 * 307.6, 1.0);
  for (const Packet& p : big) ASSERT_EQ(p.data.size(), 1514u);
}

TEST(traffic_spec_rate, packet_rate_is_a_constant_gap) {
  for (const char* size : {"64", "imix", "64-1518"}) {
    SCOPED_TRACE(size);
    std::vector<Packet> v = gen(std::string("size=") + size + ",rate=10Mpps,packets=1000").packets;
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i].ts_ns, 100 * i);
  }
  std::vector<Packet> v = gen("size=64,rate=0.3Mpps,packets=1000").packets;
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i].ts_ns, uint64_t(i * 10000 / 3));
  EXPECT_NEAR(measured_mpps(v), 0.3, 1e-4);
}

TEST(traffic_spec_rate, mixed_sizes_follow_the_previous_frame) {
  GeneratedTraffic t = gen("size=imix,rate=40G,packets=2000");
  const std::vector<Packet>& v = t.packets;
  uint64_t bits = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    // Start of packet i: all bits before it, at 40 bits/ns, rounded down.
    ASSERT_EQ(v[i].ts_ns, bits / 40) << i;
    bits += wire_bytes(v[i].data.size()) * 8;
  }
  EXPECT_NEAR(offered_gbps(TrafficSpec::parse("rate=40G"), kLine), 40, 1e-12);
}

TEST(traffic_spec_rate, above_the_line_is_an_error) {
  expect_error(error_of([] { gen("rate=200G"); }), {"rate=200Gbps", "100 Gb/s"}, "Gbps");
  expect_error(error_of([] { gen("size=64,rate=40G", {}, 25); }), {"rate=40Gbps", "25 Gb/s"},
               "Gbps on 25G");
  // 200 Mpps of 64-byte frames is 134.4 Gb/s on the wire.
  expect_error(error_of([] { gen("size=64,rate=200Mpps"); }), {"rate=200Mpps", "134.4", "100 Gb/s"},
               "Mpps");
  // IMIX averages 381.8 wire bytes: 33 Mpps is 100.8 Gb/s, 32 Mpps fits.
  expect_error(error_of([] { gen("size=imix,rate=33Mpps"); }), {"rate=33Mpps", "100 Gb/s"}, "imix");
  EXPECT_NO_THROW(gen("size=imix,rate=32Mpps,packets=10"));
  EXPECT_NO_THROW(gen("size=64,rate=100G,packets=10"));  // exactly the line
  EXPECT_NO_THROW(gen("size=64,rate=148.8Mpps,packets=10"));
  expect_error(error_of([] { gen("packets=1", {}, 0); }), {"line rate"}, "line 0");
  expect_error(error_of([] { gen("packets=1", {}, -5); }), {"line rate"}, "line -5");
  expect_error(error_of([] { gen("packets=1", {}, NAN); }), {"line rate"}, "line nan");
}

TEST(traffic_spec_rate, duration_or_packets) {
  // Frames start every 6.72 ns: those starting before 1 us are 0..148.
  std::vector<Packet> v = gen("size=64,duration=1us").packets;
  ASSERT_EQ(v.size(), 149u);
  for (const Packet& p : v) EXPECT_LT(p.ts_ns, 1000u);
  // 100 us: i * 6.72 < 100000 for i up to 14880.
  EXPECT_EQ(gen("size=64,duration=100us").packets.size(), 14881u);
  EXPECT_EQ(gen("size=64,duration=100us,rate=50%").packets.size(), 7441u);
  // A packet rate: 0, 100, ..., 900 ns.
  EXPECT_EQ(gen("size=64,rate=10Mpps,duration=1us").packets.size(), 10u);
  EXPECT_EQ(gen("size=64,rate=10Mpps,duration=1001ns").packets.size(), 11u);
  // A duration with mixed sizes: every frame starts before it, the next would not.
  GeneratedTraffic t = gen("size=imix,rate=10G,duration=50us");
  uint64_t bits = 0;
  for (const Packet& p : t.packets) bits += wire_bytes(p.data.size()) * 8;
  EXPECT_LT(t.packets.back().ts_ns, 50000u);
  EXPECT_GE(bits / 10, 50000u);
  // A count.
  EXPECT_EQ(gen("size=64,packets=1234,rate=1G").packets.size(), 1234u);
  EXPECT_EQ(gen("").packets.size(), 10000u);
  // More than a list holds.
  expect_error(error_of([] { gen("size=64,duration=10s"); }), {"duration=10s", "100000000"},
               "limit");
}

// ---------------------------------------------------------------- sizes

TEST(traffic_spec_size, imix_proportions) {
  GeneratedTraffic t = gen("size=imix,packets=12000,flows=16");
  std::map<size_t, size_t> n;
  for (const Packet& p : t.packets) ++n[p.data.size()];
  ASSERT_EQ(n.size(), 3u);
  EXPECT_NEAR(double(n[60]) / 12000, 7.0 / 12, 0.02);
  EXPECT_NEAR(double(n[590]) / 12000, 4.0 / 12, 0.02);
  EXPECT_NEAR(double(n[1514]) / 12000, 1.0 / 12, 0.015);
  // A weighted list of two.
  GeneratedTraffic w = gen("size=128*1+256*3,packets=12000");
  size_t small = 0;
  for (const Packet& p : w.packets) {
    ASSERT_TRUE(p.data.size() == 124 || p.data.size() == 252) << p.data.size();
    small += p.data.size() == 124;
  }
  EXPECT_NEAR(double(small) / 12000, 0.25, 0.02);
}

TEST(traffic_spec_size, range_bounds) {
  GeneratedTraffic t = gen("size=100-200,packets=12000");
  size_t lo = SIZE_MAX, hi = 0;
  double sum = 0;
  std::set<size_t> seen;
  for (const Packet& p : t.packets) {
    lo = std::min(lo, p.data.size());
    hi = std::max(hi, p.data.size());
    sum += double(p.data.size());
    seen.insert(p.data.size());
  }
  EXPECT_EQ(lo, 96u);
  EXPECT_EQ(hi, 196u);
  EXPECT_EQ(seen.size(), 101u);
  EXPECT_NEAR(sum / 12000, 146, 2);
  for (const Packet& p : gen("size=9018,packets=5,proto=tcp,ipv6=50").packets)
    EXPECT_EQ(p.data.size(), 9014u);
}

// ---------------------------------------------------------------- flows

TEST(traffic_spec_flows, uniform_uses_exactly_the_flows) {
  GeneratedTraffic t = gen("size=64,flows=100,packets=5000,proto=mixed");
  std::set<std::string> tuples;
  std::map<uint32_t, std::string> by_flow;
  std::map<uint32_t, size_t> per_flow;
  for (size_t i = 0; i < t.packets.size(); ++i) {
    Parsed p = parse_frame(t.packets[i].data);
    ASSERT_EQ(p.error, "") << i;
    tuples.insert(p.tuple);
    const uint32_t f = t.flows[i];
    ASSERT_LT(f, 100u);
    auto [it, fresh] = by_flow.emplace(f, p.tuple);
    ASSERT_EQ(it->second, p.tuple) << "flow " << f << " changed its 5-tuple";
    ++per_flow[f];
  }
  EXPECT_EQ(tuples.size(), 100u);
  EXPECT_EQ(by_flow.size(), 100u);
  for (const auto& [f, n] : per_flow) EXPECT_NEAR(double(n), 50, 25) << f;
}

TEST(traffic_spec_flows, round_robin_cycles) {
  GeneratedTraffic t = gen("size=64,flows=7,dist=roundrobin,packets=70");
  std::vector<std::string> first(7);
  for (size_t i = 0; i < t.packets.size(); ++i) {
    EXPECT_EQ(t.flows[i], i % 7);
    Parsed p = parse_frame(t.packets[i].data);
    ASSERT_EQ(p.error, "");
    if (i < 7)
      first[i] = p.tuple;
    else
      EXPECT_EQ(p.tuple, first[i % 7]) << i;
  }
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), 7u);
}

TEST(traffic_spec_flows, zipf_ranks) {
  for (double s : {1.1, 1.0, 0.8}) {
    SCOPED_TRACE(s);
    GeneratedTraffic t =
        gen("size=64,flows=100,packets=60000,dist=zipf:" + std::to_string(s) + ",seed=7");
    std::vector<size_t> n(100);
    for (uint32_t f : t.flows) ++n[f];
    EXPECT_EQ(std::max_element(n.begin(), n.end()) - n.begin(), 0);
    EXPECT_NEAR(double(n[0]) / double(n[1]), std::pow(2.0, s), 0.15);
    EXPECT_NEAR(double(n[0]) / double(n[3]), std::pow(4.0, s), 0.4);
    // The expected share of flow 0: 1 / H(100, s).
    double h = 0;
    for (int k = 1; k <= 100; ++k) h += std::pow(double(k), -s);
    EXPECT_NEAR(double(n[0]) / 60000, 1 / h, 0.01);
  }
  // A steep exponent puts nearly everything on the first flow.
  GeneratedTraffic steep = gen("size=64,flows=1000,packets=1000,dist=zipf:20");
  EXPECT_GE(std::count(steep.flows.begin(), steep.flows.end(), 0u), 990);
}

TEST(traffic_spec_flows, profile_is_favoured_and_tuples_stay_distinct) {
  TrafficProfile p;
  p.dst_ipv4 = {parse_ipv4("10.0.0.1")};
  p.dst_ports = {80, 443};
  p.protocols = {Protocol::kTcp};
  GeneratedTraffic t = gen("size=64,flows=400,packets=4000,dist=roundrobin,proto=mixed", p);
  size_t dst_hits = 0, port_hits = 0, tcp = 0;
  std::set<std::string> tuples;
  for (size_t i = 0; i < 400; ++i) {
    const std::vector<uint8_t>& d = t.packets[i].data;
    Parsed q = parse_frame(d);
    ASSERT_EQ(q.error, "");
    tuples.insert(q.tuple);
    dst_hits += get32(d, 30) == 0x0a000001;
    const uint16_t dport = get16(d, 36);
    port_hits += dport == 80 || dport == 443;
    tcp += q.tcp;
  }
  EXPECT_EQ(tuples.size(), 400u);
  EXPECT_NEAR(double(dst_hits) / 400, 0.7, 0.1);
  EXPECT_NEAR(double(port_hits) / 400, 0.7, 0.1);
  EXPECT_NEAR(double(tcp) / 400, 0.7 + 0.3 / 2, 0.1);

  // Every list with one value: most flows would collide, yet all differ.
  TrafficProfile one;
  one.src_ipv4 = {parse_ipv4("10.1.1.1")};
  one.dst_ipv4 = {parse_ipv4("10.2.2.2")};
  one.src_ports = {1000};
  one.dst_ports = {80};
  GeneratedTraffic u = gen("size=64,flows=500,packets=500,dist=roundrobin", one);
  std::set<std::string> distinct;
  for (const Packet& pkt : u.packets) distinct.insert(parse_frame(pkt.data).tuple);
  EXPECT_EQ(distinct.size(), 500u);
}

// ---------------------------------------------------------------- frames

TEST(traffic_spec_frames, every_frame_is_well_formed) {
  for (const std::string spec : {"packets=3000", "size=64-1518,proto=tcp,packets=3000",
                                 "size=78-1518,proto=mixed,ipv6=50,flows=64,packets=3000",
                                 "size=78*3+9018,proto=mixed,ipv6=100,flows=8,packets=300",
                                 "size=66,ipv6=100,packets=100"}) {
    SCOPED_TRACE(spec);
    GeneratedTraffic t = gen(spec);
    size_t v6 = 0, tcp = 0;
    std::map<uint32_t, std::pair<uint32_t, size_t>> next_seq;  // flow: seq, payload
    for (size_t i = 0; i < t.packets.size(); ++i) {
      const Packet& pkt = t.packets[i];
      Parsed p = parse_frame(pkt.data);
      ASSERT_EQ(p.error, "") << "packet " << i;
      v6 += p.v6;
      tcp += p.tcp;
      if (p.tcp) {
        // Each TCP flow's sequence numbers advance by the bytes sent.
        auto it = next_seq.find(t.flows[i]);
        if (it != next_seq.end()) {
          EXPECT_EQ(p.seq, uint32_t(it->second.first + it->second.second));
        }
        next_seq[t.flows[i]] = {p.seq, p.payload};
      }
    }
    const double n = double(t.packets.size());
    if (spec.find("ipv6=50") != std::string::npos) {
      EXPECT_NEAR(v6 / n, 0.5, 0.2);
    }
    if (spec.find("ipv6=100") != std::string::npos) {
      EXPECT_EQ(v6, t.packets.size());
    }
    if (spec.find("ipv6") == std::string::npos) {
      EXPECT_EQ(v6, 0u);
    }
    if (spec.find("proto=tcp") != std::string::npos) {
      EXPECT_EQ(tcp, t.packets.size());
    }
    if (spec.find("proto=mixed") != std::string::npos) {
      EXPECT_GT(tcp, 0u);
      EXPECT_LT(tcp, t.packets.size());
    }
    if (spec.find("proto") == std::string::npos) {
      EXPECT_EQ(tcp, 0u);
    }
  }
}

TEST(traffic_spec_frames, smallest_frames_hold_the_headers) {
  // 78-byte IPv6/TCP frames: 74 bytes of headers, no payload.
  GeneratedTraffic t = gen("size=78,proto=tcp,ipv6=100,packets=20");
  for (const Packet& p : t.packets) {
    ASSERT_EQ(p.data.size(), 74u);
    Parsed q = parse_frame(p.data);
    ASSERT_EQ(q.error, "");
    EXPECT_EQ(q.payload, 0u);
  }
  // 64-byte IPv4/UDP frames: 18 bytes of payload, no Ethernet padding.
  for (const Packet& p : gen("size=64,packets=20").packets) {
    EXPECT_EQ(parse_frame(p.data).payload, 18u);
  }
}

// ---------------------------------------------------------------- determinism

TEST(traffic_spec_determinism, same_spec_same_bytes) {
  const std::string spec =
      "size=78-1518,flows=50,dist=zipf:1.2,proto=mixed,ipv6=30,"
      "rate=25%,packets=2000,seed=42";
  TrafficProfile p;
  p.dst_ports = {53, 80};
  GeneratedTraffic a = gen(spec, p), b = gen(spec, p);
  ASSERT_EQ(a.packets.size(), b.packets.size());
  for (size_t i = 0; i < a.packets.size(); ++i) {
    ASSERT_EQ(a.packets[i].data, b.packets[i].data);
    ASSERT_EQ(a.packets[i].ts_ns, b.packets[i].ts_ns);
  }
  EXPECT_EQ(a.flows, b.flows);
  EXPECT_NE(fnv1a(gen(spec + "3", p).packets), fnv1a(a.packets));  // seed=423
  EXPECT_NE(fnv1a(gen(spec).packets), fnv1a(a.packets));           // no profile

  // The streaming generator gives the same packets.
  TrafficGenerator g(TrafficSpec::parse(spec), p, kLine);
  Packet pkt;
  uint32_t f = 0;
  size_t i = 0;
  while (g.next(pkt, &f)) {
    ASSERT_LT(i, a.packets.size());
    EXPECT_EQ(pkt.data, a.packets[i].data);
    EXPECT_EQ(pkt.ts_ns, a.packets[i].ts_ns);
    EXPECT_EQ(f, a.flows[i]);
    ++i;
  }
  EXPECT_EQ(i, a.packets.size());
  EXPECT_EQ(g.count(), a.packets.size());
  EXPECT_FALSE(g.next(pkt));

  // Sizes do not depend on the flow distribution (separate random streams).
  GeneratedTraffic u = gen("size=imix,packets=500,dist=uniform");
  GeneratedTraffic z = gen("size=imix,packets=500,dist=zipf:1.5");
  for (size_t k = 0; k < 500; ++k) ASSERT_EQ(u.packets[k].data.size(), z.packets[k].data.size());
}

// The same bytes on every machine: a change to the generator that changes them
// must update these on purpose.
TEST(traffic_spec_determinism, pinned_fingerprints) {
  EXPECT_EQ(fnv1a(gen("size=64,flows=16,packets=100").packets), 14479174752841096055ull);
  EXPECT_EQ(fnv1a(gen("flows=1000,dist=zipf:1.1,proto=mixed,ipv6=25,size=78-1518,"
                      "rate=40G,packets=500,seed=9")
                      .packets),
            2916723600429206571ull);
}
