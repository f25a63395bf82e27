#include "sim/traffic/traffic_spec.h"

#include "sim/traffic/packet_build.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <tuple>

namespace traffic {

uint64_t wire_bytes(size_t data_len) {
  return uint64_t(std::max<size_t>(data_len, 60)) + 4 + 8 + 12;
}

// ---------------------------------------------------------------- size mix

uint32_t TrafficSpec::SizeMix::min() const {
  if (weighted.empty()) return lo;
  uint32_t m = weighted.front().first;
  for (const auto& [size, weight] : weighted) m = std::min(m, size);
  return m;
}

uint32_t TrafficSpec::SizeMix::max() const {
  if (weighted.empty()) return hi;
  uint32_t m = weighted.front().first;
  for (const auto& [size, weight] : weighted) m = std::max(m, size);
  return m;
}

double TrafficSpec::SizeMix::mean_wire_bytes() const {
  // Sizes are at least 64 (data 60), so a frame of size S takes S + 20 bytes.
  if (weighted.empty()) return (double(lo) + double(hi)) / 2 + 20;
  double sum = 0, weights = 0;
  for (const auto& [size, weight] : weighted) {
    sum += double(wire_bytes(size < 4 ? 0 : size - 4)) * weight;
    weights += weight;
  }
  return weights > 0 ? sum / weights : 0;
}

namespace {

constexpr uint32_t kMaxWeight = 1'000'000;
constexpr double kMaxZipfS = 100;
constexpr const char* kKeys = "size, flows, dist, rate, duration, packets, proto, ipv6, seed";

[[noreturn]] void fail(std::string why) {
  std::replace(why.begin(), why.end(), '\n', ' ');
  std::replace(why.begin(), why.end(), '\r', ' ');
  throw std::runtime_error("--traffic: " + why);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

enum class Num { kOk, kBad, kOverflow };

// Decimal digits only (no sign, no spaces).
Num parse_uint(std::string_view s, uint64_t* out) {
  if (s.empty()) return Num::kBad;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return Num::kBad;
    if (__builtin_mul_overflow(v, uint64_t(10), &v) ||
        __builtin_add_overflow(v, uint64_t(c - '0'), &v))
      return Num::kOverflow;
  }
  *out = v;
  return Num::kOk;
}

// A non-negative decimal number: digits, an optional fraction, an optional
// exponent ("2.5", "1e-05"); no sign, no inf or nan.
bool parse_decimal(std::string_view s, double* out) {
  if (s.empty() || !is_digit(s.front())) return false;
  for (char c : s)
    if (!is_digit(c) && c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') return false;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// A value of an integer key within lo..hi, or an error naming the key.
uint64_t uint_value(const std::string& key, std::string_view text, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  Num n = parse_uint(text, &v);
  if (n == Num::kBad) fail(fmt::format("{}={}: not a whole number", key, text));
  if (n == Num::kOverflow || v < lo || v > hi)
    fail(fmt::format("{}={}: out of range ({}..{})", key, text, lo, hi));
  return v;
}

// ---- size

uint32_t frame_size(std::string_view text, std::string_view whole) {
  uint64_t v = 0;
  Num n = parse_uint(text, &v);
  if (n == Num::kBad)
    fail(
        fmt::format("size={}: '{}' is not a frame size (expected N, A-B, imix or a list like "
                    "64*7+594*4+1518*1)",
                    whole, text));
  if (n == Num::kOverflow || v < kMinFrameSize || v > kMaxFrameSize)
    fail(fmt::format("size={}: frame size {} is outside {}..{} (sizes include the 4-byte FCS)",
                     whole, text, kMinFrameSize, kMaxFrameSize));
  return uint32_t(v);
}

TrafficSpec::SizeMix parse_size(std::string_view text) {
  if (text == "imix") return TrafficSpec::SizeMix::imix();
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    uint32_t lo = frame_size(text.substr(0, dash), text);
    uint32_t hi = frame_size(text.substr(dash + 1), text);
    if (lo > hi) fail(fmt::format("size={}: the range must go up ({} > {})", text, lo, hi));
    return lo == hi ? TrafficSpec::SizeMix::fixed(lo) : TrafficSpec::SizeMix::range(lo, hi);
  }
  TrafficSpec::SizeMix mix;
  size_t start = 0;
  while (true) {
    size_t plus = text.find('+', start);
    std::string_view item =
        text.substr(start, plus == std::string_view::npos ? std::string_view::npos : plus - start);
    size_t star = item.find('*');
    uint32_t size = frame_size(item.substr(0, star), text);
    uint64_t weight = 1;
    if (star != std::string_view::npos) {
      std::string_view w = item.substr(star + 1);
      Num n = parse_uint(w, &weight);
      if (n == Num::kBad) fail(fmt::format("size={}: weight '{}' is not a whole number", text, w));
      if (n == Num::kOverflow || weight < 1 || weight > kMaxWeight)
        fail(fmt::format("size={}: weight {} is outside 1..{}", text, w, kMaxWeight));
    }
    mix.weighted.emplace_back(size, uint32_t(weight));
    if (plus == std::string_view::npos) break;
    start = plus + 1;
  }
  return mix;
}

std::string describe_size(const TrafficSpec::SizeMix& mix) {
  if (mix == TrafficSpec::SizeMix::imix()) return "imix";
  if (mix.weighted.empty()) return fmt::format("{}-{}", mix.lo, mix.hi);
  if (mix.weighted.size() == 1 && mix.weighted[0].second == 1)
    return std::to_string(mix.weighted[0].first);
  std::string out;
  for (const auto& [size, weight] : mix.weighted) {
    if (!out.empty()) out += '+';
    out += fmt::format("{}*{}", size, weight);
  }
  return out;
}

// ---- distribution, rate, duration

void parse_dist(std::string_view text, TrafficSpec& spec) {
  if (text == "uniform") {
    spec.dist = TrafficSpec::Dist::kUniform;
  } else if (text == "roundrobin") {
    spec.dist = TrafficSpec::Dist::kRoundRobin;
  } else if (text == "zipf") {
    spec.dist = TrafficSpec::Dist::kZipf;
    spec.zipf_s = 1.0;
  } else if (text.substr(0, 5) == "zipf:") {
    double s = 0;
    if (!parse_decimal(text.substr(5), &s))
      fail(fmt::format("dist={}: the zipf exponent is not a number (e.g. zipf:1.1)", text));
    if (!(s > 0) || s > kMaxZipfS)
      fail(fmt::format("dist={}: the zipf exponent must be more than 0 and at most {}", text,
                       kMaxZipfS));
    spec.dist = TrafficSpec::Dist::kZipf;
    spec.zipf_s = s;
  } else {
    fail(fmt::format("dist={}: expected uniform, roundrobin, zipf or zipf:S", text));
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void parse_rate(std::string_view text, TrafficSpec& spec) {
  const std::string l = lower(text);
  if (l == "line") {
    spec.rate = TrafficSpec::Rate::kLine;
    spec.rate_value = 0;
    return;
  }
  struct Unit {
    const char* suffix;
    TrafficSpec::Rate rate;
  };
  // Longest first: "gbps" before "g".
  static const Unit kUnits[] = {
      {"gbps", TrafficSpec::Rate::kGbps}, {"gb/s", TrafficSpec::Rate::kGbps},
      {"g", TrafficSpec::Rate::kGbps},    {"mpps", TrafficSpec::Rate::kMpps},
      {"%", TrafficSpec::Rate::kPercent},
  };
  for (const Unit& u : kUnits) {
    if (!ends_with(l, u.suffix)) continue;
    std::string_view number =
        text.substr(0, text.size() - std::char_traits<char>::length(u.suffix));
    double v = 0;
    if (!parse_decimal(number, &v))
      fail(fmt::format("rate={}: '{}' is not a number", text, number));
    if (!(v > 0)) fail(fmt::format("rate={}: the rate must be more than 0", text));
    if (u.rate == TrafficSpec::Rate::kPercent && v > 100)
      fail(fmt::format("rate={}: at most 100% of the line", text));
    spec.rate = u.rate;
    spec.rate_value = v;
    return;
  }
  fail(fmt::format("rate={}: expected line, <N>G (or Gbps, Gb/s), <N>Mpps or <N>%", text));
}

// "100us", "1.5ms": an exact whole number of nanoseconds.
uint64_t parse_duration(std::string_view text) {
  const std::string l = lower(text);
  struct Unit {
    const char* suffix;
    uint64_t ns;
  };
  static const Unit kUnits[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
  for (const Unit& u : kUnits) {
    if (!ends_with(l, u.suffix)) continue;
    std::string_view number =
        text.substr(0, text.size() - std::char_traits<char>::length(u.suffix));
    size_t dot = number.find('.');
    std::string_view whole = number.substr(0, dot);
    std::string_view frac =
        dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
    uint64_t w = 0, f = 0, scale = 1;
    Num n = parse_uint(whole, &w);
    Num nf = frac.empty() ? (dot == std::string_view::npos ? Num::kOk : Num::kBad)
                          : parse_uint(frac, &f);
    if (n == Num::kBad || nf == Num::kBad)
      fail(fmt::format("duration={}: '{}' is not a number", text, number));
    if (frac.size() > 9) fail(fmt::format("duration={}: finer than a nanosecond", text));
    for (size_t i = 0; i < frac.size(); ++i) scale *= 10;
    // f < 1e9 and u.ns <= 1e9, so f * u.ns fits.
    const uint64_t part = f * u.ns;
    if (part % scale != 0) fail(fmt::format("duration={}: finer than a nanosecond", text));
    uint64_t ns = 0;
    if (n == Num::kOverflow || __builtin_mul_overflow(w, u.ns, &ns) ||
        __builtin_add_overflow(ns, part / scale, &ns))
      fail(fmt::format("duration={}: too long", text));
    if (ns == 0) fail(fmt::format("duration={}: must be more than 0", text));
    return ns;
  }
  fail(fmt::format("duration={}: expected a number with a unit: ns, us, ms or s (e.g. 100us)",
                   text));
}

std::string describe_duration(uint64_t ns) {
  if (ns % 1000000000 == 0) return fmt::format("{}s", ns / 1000000000);
  if (ns % 1000000 == 0) return fmt::format("{}ms", ns / 1000000);
  if (ns % 1000 == 0) return fmt::format("{}us", ns / 1000);
  return fmt::format("{}ns", ns);
}

const char* proto_name(TrafficSpec::Proto p) {
  switch (p) {
    case TrafficSpec::Proto::kUdp:
      return "udp";
    case TrafficSpec::Proto::kTcp:
      return "tcp";
    case TrafficSpec::Proto::kMixed:
      return "mixed";
  }
  return "?";
}

std::string describe_rate(const TrafficSpec& s) {
  switch (s.rate) {
    case TrafficSpec::Rate::kLine:
      return "line";
    case TrafficSpec::Rate::kGbps:
      return fmt::format("{}Gbps", s.rate_value);
    case TrafficSpec::Rate::kMpps:
      return fmt::format("{}Mpps", s.rate_value);
    case TrafficSpec::Rate::kPercent:
      return fmt::format("{}%", s.rate_value);
  }
  return "?";
}

}  // namespace

// ---------------------------------------------------------------- TrafficSpec

TrafficSpec TrafficSpec::parse(const std::string& text) {
  TrafficSpec spec;
  std::vector<std::string> seen;
  std::string_view all = text;
  if (trim(all).empty()) {
    spec.validate();
    return spec;
  }
  size_t start = 0;
  while (true) {
    size_t comma = all.find(',', start);
    std::string_view item = trim(all.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) fail("an empty item between commas");
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      fail(fmt::format("'{}' is not key=value (keys: {})", item, kKeys));
    const std::string key(trim(item.substr(0, eq)));
    const std::string_view value = trim(item.substr(eq + 1));
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      fail(fmt::format("key '{}' given twice", key));
    if (value.empty()) fail(fmt::format("{}=: no value", key));
    seen.push_back(key);

    if (key == "size") {
      spec.size = parse_size(value);
    } else if (key == "flows") {
      spec.flows = uint_value(key, value, 1, kMaxFlows);
    } else if (key == "dist") {
      parse_dist(value, spec);
    } else if (key == "rate") {
      parse_rate(value, spec);
    } else if (key == "duration") {
      spec.duration_ns = parse_duration(value);
    } else if (key == "packets") {
      spec.packets = uint_value(key, value, 1, kMaxPackets);
    } else if (key == "proto") {
      if (value == "udp") {
        spec.proto = Proto::kUdp;
      } else if (value == "tcp") {
        spec.proto = Proto::kTcp;
      } else if (value == "mixed") {
        spec.proto = Proto::kMixed;
      } else {
        fail(fmt::format("proto={}: expected udp, tcp or mixed", value));
      }
    } else if (key == "ipv6") {
      std::string_view v = value;
      if (v.back() == '%') v.remove_suffix(1);
      spec.ipv6_percent = uint32_t(uint_value(key, v, 0, 100));
    } else if (key == "seed") {
      spec.seed = uint_value(key, value, 0, UINT64_MAX);
    } else {
      fail(fmt::format("unknown key '{}' (keys: {})", key, kKeys));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  const bool has_duration = std::find(seen.begin(), seen.end(), "duration") != seen.end();
  const bool has_packets = std::find(seen.begin(), seen.end(), "packets") != seen.end();
  if (has_duration && has_packets) fail("duration and packets exclude each other: give one");
  if (has_duration) spec.packets = 0;
  spec.validate();
  return spec;
}

std::string TrafficSpec::describe() const {
  std::string dist_text = dist == Dist::kUniform      ? "uniform"
                          : dist == Dist::kRoundRobin ? "roundrobin"
                                                      : fmt::format("zipf:{}", zipf_s);
  std::string stop = duration_ns ? "duration=" + describe_duration(duration_ns)
                                 : fmt::format("packets={}", packets);
  return fmt::format("size={},flows={},dist={},rate={},{},proto={},ipv6={},seed={}",
                     describe_size(size), flows, dist_text, describe_rate(*this), stop,
                     proto_name(proto), ipv6_percent, seed);
}

uint32_t TrafficSpec::min_frame_for_headers() const {
  const uint32_t l3 = ipv6_percent > 0 ? 40 : 20;
  const uint32_t l4 = proto == Proto::kUdp ? 8 : 20;
  return std::max<uint32_t>(14 + l3 + l4 + 4, kMinFrameSize);
}

void TrafficSpec::validate() const {
  const std::string size_text = describe_size(size);
  if (size.weighted.empty()) {
    if (size.lo < kMinFrameSize || size.hi > kMaxFrameSize || size.lo >= size.hi)
      fail(fmt::format("size={}: a range must go up within {}..{}", size_text, kMinFrameSize,
                       kMaxFrameSize));
  } else {
    for (const auto& [s, w] : size.weighted) {
      if (s < kMinFrameSize || s > kMaxFrameSize)
        fail(fmt::format("size={}: frame size {} is outside {}..{} (sizes include the 4-byte FCS)",
                         size_text, s, kMinFrameSize, kMaxFrameSize));
      if (w < 1 || w > kMaxWeight)
        fail(fmt::format("size={}: weight {} is outside 1..{}", size_text, w, kMaxWeight));
    }
  }
  if (flows < 1 || flows > kMaxFlows)
    fail(fmt::format("flows={}: out of range (1..{})", flows, kMaxFlows));
  if (dist == Dist::kZipf && !(zipf_s > 0 && zipf_s <= kMaxZipfS))
    fail(fmt::format("dist=zipf:{}: the zipf exponent must be more than 0 and at most {}", zipf_s,
                     kMaxZipfS));
  if (rate != Rate::kLine && !(rate_value > 0 && std::isfinite(rate_value)))
    fail(fmt::format("rate={}: the rate must be more than 0", describe_rate(*this)));
  if (rate == Rate::kPercent && rate_value > 100)
    fail(fmt::format("rate={}: at most 100% of the line", describe_rate(*this)));
  if ((packets == 0) == (duration_ns == 0)) fail("give exactly one of packets and duration");
  if (packets > kMaxPackets)
    fail(fmt::format("packets={}: out of range (1..{})", packets, kMaxPackets));
  if (ipv6_percent > 100) fail(fmt::format("ipv6={}: out of range (0..100)", ipv6_percent));

  const uint32_t need = min_frame_for_headers();
  if (size.min() < need) {
    std::string headers = fmt::format("{}+{}", ipv6_percent > 0 ? "IPv6" : "IPv4",
                                      proto == Proto::kUdp ? "UDP" : "TCP");
    fail(fmt::format(
        "size={}: {}-byte frames are too small for {} headers (ipv6={}, proto={}): "
        "the {} min frame is {} bytes with FCS",
        size_text, size.min(), headers, ipv6_percent, proto_name(proto), headers, need));
  }
}

bool TrafficSpec::operator==(const TrafficSpec& o) const {
  return size == o.size && flows == o.flows && dist == o.dist &&
         (dist != Dist::kZipf || zipf_s == o.zipf_s) && rate == o.rate &&
         (rate == Rate::kLine || rate_value == o.rate_value) && packets == o.packets &&
         duration_ns == o.duration_ns && proto == o.proto && ipv6_percent == o.ipv6_percent &&
         seed == o.seed;
}

double offered_gbps(const TrafficSpec& spec, double line_gbps) {
  if (!(line_gbps > 0) || !std::isfinite(line_gbps))
    fail(fmt::format("the line rate must be a positive number of Gb/s, not {}", line_gbps));
  spec.validate();
  // Equal to the line within rounding is still the line.
  const double limit = line_gbps * (1 + 1e-12);
  switch (spec.rate) {
    case TrafficSpec::Rate::kLine:
      return line_gbps;
    case TrafficSpec::Rate::kPercent:
      return line_gbps * spec.rate_value / 100;
    case TrafficSpec::Rate::kGbps:
      if (spec.rate_value > limit)
        fail(fmt::format("rate={}: more than the {} Gb/s line", describe_rate(spec), line_gbps));
      return spec.rate_value;
    case TrafficSpec::Rate::kMpps: {
      const double mean = spec.size.mean_wire_bytes();
      const double gbps = spec.rate_value * mean * 8 / 1000;
      if (gbps > limit)
        fail(
            fmt::format("rate={}: {:.4g} Gb/s on the wire ({:.4g} bytes a frame there on "
                        "average, size={}), more than the {} Gb/s line",
                        describe_rate(spec), gbps, mean, describe_size(spec.size), line_gbps));
      return gbps;
    }
  }
  return line_gbps;
}

// ---------------------------------------------------------------- generator

namespace {

// k^-s from +, -, *, / (exactly rounded in IEEE 754) and exact scalings
// (frexp, ldexp, floor), so that the Zipf table has the same bits on every
// platform; libm's pow, exp and log may differ in the last place between
// implementations. Relative error about 1e-13, plenty for sampling.
constexpr double kLn2 = 0.69314718055994530942;

double det_log(double x) {  // x > 0
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2;
    --e;
  }
  // ln m = 2 atanh(z), z = (m - 1) / (m + 1), |z| < 0.172
  const double z = (m - 1) / (m + 1), z2 = z * z;
  double term = z, sum = 0;
  for (int k = 1; k <= 31; k += 2) {
    sum += term / k;
    term *= z2;
  }
  return 2 * sum + e * kLn2;
}

double det_exp(double x) {  // x <= 0
  if (x < -1100) return 0;
  const double n = std::floor(x / kLn2 + 0.5);
  const double r = x - n * kLn2;  // |r| <= ln2 / 2 (about)
  double term = 1, sum = 1;
  for (int k = 1; k <= 24; ++k) {
    term = term * r / k;
    sum += term;
  }
  return std::ldexp(sum, int(n));
}

double det_pow_neg(uint64_t k, double s) {
  return det_exp(-s * det_log(double(k)));
}

bool is_unicast4(Ipv4Addr a) {
  uint32_t top = a >> 24;
  return top != 0 && top != 127 && top < 224;
}

struct Flow {
  bool v6 = false;
  bool tcp = false;
  Ipv4Addr src4 = 0, dst4 = 0;
  Ipv6Addr src6 = {}, dst6 = {};
  uint16_t sport = 0, dport = 0;
  uint32_t flow_label = 0;
  // Per-flow state that advances with each packet.
  uint32_t seq = 0, ack = 0;
  uint16_t ip_id = 0;

  auto key() const { return std::tie(v6, tcp, src4, dst4, src6, dst6, sport, dport); }
  // A hash of the 5-tuple (equal tuples, equal hashes): the splitmix64
  // finalizer over its 64-bit words.
  uint64_t hash() const {
    auto mix = [](uint64_t z) {
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    auto word = [](const Ipv6Addr& a, size_t at) {
      uint64_t w = 0;
      for (size_t i = 0; i < 8; ++i) w = w << 8 | a[at + i];
      return w;
    };
    uint64_t h = mix(uint64_t(v6) << 33 | uint64_t(tcp) << 32 | uint64_t(sport) << 16 | dport);
    h = mix(h ^ (uint64_t(src4) << 32 | dst4));
    h = mix(h ^ word(src6, 0));
    h = mix(h ^ word(src6, 8));
    h = mix(h ^ word(dst6, 0));
    return mix(h ^ word(dst6, 8));
  }
};

class FlowMaker {
 public:
  FlowMaker(const TrafficSpec& spec, const TrafficProfile& p, uint64_t seed)
      : spec_(spec), p_(p), r_(seed) {
    for (Protocol x : p.protocols)
      if (x == Protocol::kTcp || x == Protocol::kUdp) l4_list_.push_back(x);
  }

  Flow make() {
    Flow f;
    const uint64_t v6_draw = r_.below(100);
    f.v6 = v6_draw < spec_.ipv6_percent;
    switch (spec_.proto) {
      case TrafficSpec::Proto::kUdp:
        f.tcp = false;
        break;
      case TrafficSpec::Proto::kTcp:
        f.tcp = true;
        break;
      case TrafficSpec::Proto::kMixed: {
        const bool from_list = r_.chance(70);
        const bool coin = r_.below(2) == 1;
        f.tcp = from_list && !l4_list_.empty()
                    ? l4_list_[r_.below(l4_list_.size())] == Protocol::kTcp
                    : coin;
        break;
      }
    }
    if (f.v6) {
      f.src6 = random6();
      Ipv6Addr any = random6();
      f.dst6 = pick(p_.dst_ipv6, any);
    } else {
      Ipv4Addr any_src = random4();
      f.src4 = pick(p_.src_ipv4, any_src);
      Ipv4Addr any_dst = random4();
      f.dst4 = pick(p_.dst_ipv4, any_dst);
    }
    uint16_t any_sport = uint16_t(r_.range(1024, 65535));
    f.sport = pick(p_.src_ports, any_sport);
    uint16_t any_dport = uint16_t(r_.range(1, 65535));
    f.dport = pick(p_.dst_ports, any_dport);
    f.flow_label = uint32_t(r_.next()) & 0xfffff;
    f.seq = uint32_t(r_.next());
    f.ack = uint32_t(r_.next());
    f.ip_id = uint16_t(r_.next());
    return f;
  }

  // A flow whose 5-tuple another flow already has: a random source address
  // and port, ignoring the profile, so that the two differ.
  void redraw_source(Flow& f) {
    if (f.v6)
      f.src6 = random6();
    else
      f.src4 = random4();
    f.sport = uint16_t(r_.range(1024, 65535));
  }

 private:
  template <typename T>
  T pick(const std::vector<T>& v, T fallback) {
    const bool from_list = r_.chance(70);  // always drawn, as in random_packets
    if (v.empty() || !from_list) return fallback;
    return v[r_.below(v.size())];
  }

  // A random unicast IPv4 address (not 0/8, 127/8, multicast or reserved).
  Ipv4Addr random4() {
    Ipv4Addr a;
    do a = Ipv4Addr(r_.next());
    while (!is_unicast4(a));
    return a;
  }

  // A random global unicast IPv6 address (2000::/3).
  Ipv6Addr random6() {
    Ipv6Addr a;
    for (size_t i = 0; i < 16; i += 8) {
      uint64_t x = r_.next();
      for (size_t k = 0; k < 8; ++k) a[i + k] = uint8_t(x >> (8 * k));
    }
    a[0] = uint8_t(0x20 | (a[0] & 0x1f));
    return a;
  }

  const TrafficSpec& spec_;
  const TrafficProfile& p_;
  SplitMix64 r_;
  std::vector<Protocol> l4_list_;
};

std::vector<Flow> make_flows(const TrafficSpec& spec, const TrafficProfile& profile,
                             uint64_t seed) {
  FlowMaker maker(spec, profile, seed);
  std::vector<Flow> flows;
  flows.reserve(spec.flows);
  for (uint64_t i = 0; i < spec.flows; ++i) flows.push_back(maker.make());
  // Make the 5-tuples distinct: sort (hash, index) pairs, compare the tuples
  // within each run of equal hashes, give every later duplicate a new source,
  // repeat until none is left. Ties go by index, so the result is deterministic.
  std::vector<std::pair<uint64_t, uint32_t>> order(flows.size());
  while (true) {
    for (uint32_t i = 0; i < flows.size(); ++i) order[i] = {flows[i].hash(), i};
    std::sort(order.begin(), order.end());
    std::vector<uint32_t> dups;
    for (size_t run = 0; run < order.size();) {
      size_t end = run + 1;
      while (end < order.size() && order[end].first == order[run].first) ++end;
      for (size_t j = run + 1; j < end; ++j) {
        for (size_t k = run; k < j; ++k) {
          if (flows[order[j].second].key() == flows[order[k].second].key()) {
            dups.push_back(order[j].second);
            break;
          }
        }
      }
      run = end;
    }
    if (dups.empty()) break;
    std::sort(dups.begin(), dups.end());
    for (uint32_t d : dups) maker.redraw_source(flows[d]);
  }
  return flows;
}

}  // namespace

struct TrafficGenerator::Impl {
  TrafficSpec spec;
  std::vector<Flow> flows;
  std::vector<double> zipf_cdf;  // running sums of k^-s
  SplitMix64 pick_rng{0};
  SplitMix64 size_rng{0};
  uint64_t size_weights = 0;
  double bits_per_ns = 0;  // bit rates
  double mpps = 0;         // packet rates
  uint64_t count = 0;
  uint64_t wire_bits = 0;  // sent before the next packet

  uint32_t pick_flow() {
    switch (spec.dist) {
      case TrafficSpec::Dist::kUniform:
        return uint32_t(pick_rng.below(flows.size()));
      case TrafficSpec::Dist::kRoundRobin:
        return uint32_t(count % flows.size());
      case TrafficSpec::Dist::kZipf: {
        const double u = double(pick_rng.next() >> 11) * 0x1p-53;  // [0, 1)
        const double target = u * zipf_cdf.back();
        auto it = std::upper_bound(zipf_cdf.begin(), zipf_cdf.end(), target);
        if (it == zipf_cdf.end())  // rounding: the first flow reaching the total
          it = std::lower_bound(zipf_cdf.begin(), zipf_cdf.end(), zipf_cdf.back());
        return uint32_t(it - zipf_cdf.begin());
      }
    }
    return 0;
  }

  uint32_t pick_size() {
    const TrafficSpec::SizeMix& mix = spec.size;
    if (mix.weighted.empty()) return uint32_t(size_rng.range(mix.lo, mix.hi));
    if (mix.weighted.size() == 1) return mix.weighted[0].first;
    uint64_t x = size_rng.below(size_weights);
    for (const auto& [size, weight] : mix.weighted) {
      if (x < weight) return size;
      x -= weight;
    }
    return mix.weighted.back().first;
  }

  // Start of the next frame in ns, exact up to one rounding: computed afresh
  // from the bits sent (or the packet count), never accumulated.
  double start_ns() const {
    if (mpps > 0) return double(count) * 1000.0 / mpps;
    return double(wire_bits) / bits_per_ns;
  }

  Bytes build(Flow& f, uint32_t frame_size) {
    const size_t data_len = frame_size - 4;
    const size_t head = 14 + (f.v6 ? 40 : 20) + (f.tcp ? 20 : 8);
    const size_t payload = data_len - head;  // validate() made sizes big enough
    PacketBuilder b;
    if (f.v6) {
      Ipv6 h;
      h.src = f.src6;
      h.dst = f.dst6;
      h.flow_label = f.flow_label;
      b.ipv6(h);
    } else {
      Ipv4 h;
      h.src = f.src4;
      h.dst = f.dst4;
      h.id = f.ip_id++;
      h.df = true;
      b.ipv4(h);
    }
    if (f.tcp) {
      Tcp t;
      t.sport = f.sport;
      t.dport = f.dport;
      t.seq = f.seq;
      t.ack = f.ack;
      t.flags = payload > 0 ? kTcpAck | kTcpPsh : kTcpAck;
      b.tcp(t);
      f.seq += uint32_t(payload);
    } else {
      Udp u;
      u.sport = f.sport;
      u.dport = f.dport;
      b.udp(u);
    }
    b.payload_size(payload);
    return b.build();
  }
};

TrafficGenerator::TrafficGenerator(const TrafficSpec& spec, const TrafficProfile& profile,
                                   double line_gbps)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  const double gbps = offered_gbps(spec, line_gbps);  // validates
  m.spec = spec;
  if (spec.rate == TrafficSpec::Rate::kMpps)
    m.mpps = spec.rate_value;
  else
    m.bits_per_ns = gbps;
  // Independent streams, so that e.g. the distribution does not change the sizes.
  SplitMix64 master(spec.seed);
  const uint64_t flow_seed = master.next();
  m.pick_rng = SplitMix64(master.next());
  m.size_rng = SplitMix64(master.next());
  for (const auto& [size, weight] : spec.size.weighted) m.size_weights += weight;
  m.flows = make_flows(spec, profile, flow_seed);
  if (spec.dist == TrafficSpec::Dist::kZipf) {
    m.zipf_cdf.resize(spec.flows);
    double sum = 0;
    for (uint64_t k = 0; k < spec.flows; ++k) {
      sum += det_pow_neg(k + 1, spec.zipf_s);
      m.zipf_cdf[k] = sum;
    }
  }
}

TrafficGenerator::~TrafficGenerator() = default;

uint64_t TrafficGenerator::count() const {
  return impl_->count;
}

bool TrafficGenerator::next(Packet& packet, uint32_t* flow) {
  Impl& m = *impl_;
  if (m.spec.packets && m.count >= m.spec.packets) return false;
  const double start = m.start_ns();
  if (m.spec.duration_ns && !(start < double(m.spec.duration_ns))) return false;
  const uint32_t f = m.pick_flow();
  const uint32_t size = m.pick_size();
  packet.data = m.build(m.flows[f], size);
  packet.ts_ns = uint64_t(std::floor(start));
  if (flow) *flow = f;
  m.wire_bits += wire_bytes(packet.data.size()) * 8;
  ++m.count;
  return true;
}

GeneratedTraffic generate_traffic(const TrafficSpec& spec, const TrafficProfile& profile,
                                  double line_gbps) {
  const double gbps = offered_gbps(spec, line_gbps);
  uint64_t expect = spec.packets;
  if (spec.duration_ns) {
    // At most one packet per smallest gap, plus the one at time 0.
    const double gap = spec.rate == TrafficSpec::Rate::kMpps
                           ? 1000.0 / spec.rate_value
                           : double(wire_bytes(spec.size.min() - 4) * 8) / gbps;
    const double most = std::floor(double(spec.duration_ns) / gap) + 1;
    if (most > double(kMaxPackets))
      fail(
          fmt::format("duration={} at this rate is up to {:.0f} packets, more than the {} "
                      "that a generated list holds",
                      describe_duration(spec.duration_ns), most, kMaxPackets));
    expect = uint64_t(most);
  }
  TrafficGenerator gen(spec, profile, line_gbps);
  GeneratedTraffic out;
  // The bound for a duration can be far above the real count (it assumes the
  // smallest frames): reserve only a known count.
  if (spec.packets) {
    out.packets.reserve(expect);
    out.flows.reserve(expect);
  }
  Packet p;
  uint32_t f = 0;
  while (gen.next(p, &f)) {
    out.packets.push_back(std::move(p));
    out.flows.push_back(f);
  }
  return out;
}

std::vector<Packet> generate(const TrafficSpec& spec, const TrafficProfile& profile,
                             double line_gbps) {
  return generate_traffic(spec, profile, line_gbps).packets;
}

}  // namespace traffic
