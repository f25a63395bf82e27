// Utilities of the NIC simulator: the Chrome trace writer (its files parsed
// back as JSON), the latency histogram (against exact percentiles of sorted
// samples) and the progress bar (silent unless enabled, redraws rate-limited).
#include "sim/nic/chrome_trace.h"
#include "sim/nic/latency.h"
#include "sim/nic/progress.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using npu::nic::ChromeTrace;
using npu::nic::LatencyRecorder;
using npu::nic::Progress;
using npu::nic::TraceArg;
using npu::nic::TraceFlow;
using npu::nic::TraceScope;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// A file in gtest's temporary directory, named after the running test and
// removed at the end of the scope.
struct TempFile {
  std::string path;
  TempFile() {
    const auto* t = testing::UnitTest::GetInstance()->current_test_info();
    path = testing::TempDir() + "nic_util_" + t->test_suite_name() + "_" + t->name() + "_" +
           std::to_string(getpid()) + ".json";
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json> events_with_ph(const json& doc, const std::string& ph) {
  std::vector<json> out;
  for (const json& e : doc.at("traceEvents"))
    if (e.at("ph") == ph) out.push_back(e);
  return out;
}

std::string us(uint64_t ns) {
  std::string s;
  npu::nic::append_trace_us(s, ns);
  return s;
}

// ---------------------------------------------------------------- ChromeTrace

TEST(ChromeTrace, MicrosecondsAreExactDecimals) {
  EXPECT_EQ(us(0), "0");
  EXPECT_EQ(us(1), "0.001");
  EXPECT_EQ(us(10), "0.01");
  EXPECT_EQ(us(999), "0.999");
  EXPECT_EQ(us(1000), "1");
  EXPECT_EQ(us(1500), "1.5");
  EXPECT_EQ(us(1230), "1.23");
  EXPECT_EQ(us(1234567), "1234.567");
  EXPECT_EQ(us(3'600'000'000'000), "3600000000");  // an hour
  EXPECT_EQ(us(kU64Max), "18446744073709551.615");
}

TEST(ChromeTrace, EventsParseWithTheirFields) {
  TempFile tmp;
  ChromeTrace t(tmp.path);
  t.process_name(1, "nic0");
  t.process_sort_index(1, -2);
  t.thread_name(1, 7, "core0.t3");
  t.thread_sort_index(1, 7, 3);
  t.complete(1, 7, "xdp", "npu", 1234567, 2500,
             {{"len", 64},
              {"verdict", "XDP_TX"},
              {"delta", int64_t(-5)},
              {"big", kU64Max},
              {"ratio", 0.25},
              {"drop", false},
              {"owned", std::string("from a temporary")}});
  t.complete(1, 7, "nocat", "", 0, 0);
  t.instant(1, 7, "doorbell", "pcie", 10, TraceScope::kProcess, {{"queue", 2u}});
  t.instant(1, 7, "thread", "", 11);
  t.counter(1, "rx_queue", 2000, {{"depth", 3}, {"drops", 0.5}});
  t.counter(1, "credits", 3000, 7.0);
  t.counter(1, "bad", 3001, std::nan(""));
  t.async_begin(1, "packet", "pkt", 0x2a, 100, {{"port", 1}});
  t.async_end(1, "packet", "pkt", 0x2a, 900);
  std::vector<TraceArg> args{{"k", "v"}};
  t.complete(1, 8, "rx", "pkt", 100, 50, args, TraceFlow::start(0x2a));
  t.complete(1, 9, "xdp", "pkt", 200, 50, {}, TraceFlow::step(0x2a));
  t.complete(1, 10, "tx", "pkt", 300, 50, {}, TraceFlow::end(0x2a));
  EXPECT_EQ(t.events(), 16u);
  t.close();
  EXPECT_EQ(t.events(), 16u);

  std::string text = slurp(tmp.path);
  json doc = json::parse(text);
  EXPECT_EQ(doc.at("displayTimeUnit"), "ns");
  ASSERT_EQ(doc.at("traceEvents").size(), 16u);
  // Numbers as written, not as a double happened to print.
  EXPECT_NE(text.find("\"ts\":1234.567,\"dur\":2.5"), std::string::npos) << text;

  auto meta = events_with_ph(doc, "M");
  ASSERT_EQ(meta.size(), 4u);
  EXPECT_EQ(meta[0],
            json::parse(R"({"ph":"M","pid":1,"name":"process_name","args":{"name":"nic0"}})"));
  EXPECT_EQ(meta[1].at("args").at("sort_index"), -2);
  EXPECT_EQ(meta[2], json::parse(R"({"ph":"M","pid":1,"tid":7,"name":"thread_name",
                                     "args":{"name":"core0.t3"}})"));
  EXPECT_EQ(meta[3].at("args").at("sort_index"), 3);

  auto x = events_with_ph(doc, "X");
  ASSERT_EQ(x.size(), 5u);
  EXPECT_EQ(x[0].at("pid"), 1);
  EXPECT_EQ(x[0].at("tid"), 7);
  EXPECT_EQ(x[0].at("name"), "xdp");
  EXPECT_EQ(x[0].at("cat"), "npu");
  EXPECT_DOUBLE_EQ(x[0].at("ts").get<double>(), 1234.567);
  EXPECT_DOUBLE_EQ(x[0].at("dur").get<double>(), 2.5);
  const json& a = x[0].at("args");
  EXPECT_EQ(a.at("len"), 64);
  EXPECT_EQ(a.at("verdict"), "XDP_TX");
  EXPECT_EQ(a.at("delta"), -5);
  EXPECT_EQ(a.at("big").get<uint64_t>(), kU64Max);
  EXPECT_EQ(a.at("ratio"), 0.25);
  EXPECT_EQ(a.at("drop"), false);
  EXPECT_EQ(a.at("owned"), "from a temporary");
  EXPECT_FALSE(x[1].contains("cat"));
  EXPECT_FALSE(x[1].contains("args"));
  EXPECT_EQ(x[1].at("ts"), 0);
  EXPECT_EQ(x[2].at("args").at("k"), "v");
  EXPECT_EQ(x[2].at("bind_id"), "2a");
  EXPECT_EQ(x[2].at("flow_out"), true);
  EXPECT_FALSE(x[2].contains("flow_in"));
  EXPECT_EQ(x[3].at("flow_in"), true);
  EXPECT_EQ(x[3].at("flow_out"), true);
  EXPECT_EQ(x[4].at("flow_in"), true);
  EXPECT_FALSE(x[4].contains("flow_out"));

  auto i = events_with_ph(doc, "i");
  ASSERT_EQ(i.size(), 2u);
  EXPECT_EQ(i[0].at("s"), "p");
  EXPECT_DOUBLE_EQ(i[0].at("ts").get<double>(), 0.01);
  EXPECT_EQ(i[0].at("args").at("queue"), 2);
  EXPECT_EQ(i[1].at("s"), "t");

  auto c = events_with_ph(doc, "C");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], json::parse(R"({"ph":"C","pid":1,"ts":2,"name":"rx_queue",
                                  "args":{"depth":3,"drops":0.5}})"));
  EXPECT_EQ(c[1].at("args").at("value"), 7);
  EXPECT_TRUE(c[2].at("args").at("value").is_null());

  auto b = events_with_ph(doc, "b");
  auto e = events_with_ph(doc, "e");
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(b[0].at("id"), "2a");
  EXPECT_EQ(b[0].at("cat"), "pkt");
  EXPECT_EQ(b[0].at("args").at("port"), 1);
  EXPECT_EQ(e[0].at("id"), "2a");
  EXPECT_EQ(e[0].at("ts"), 0.9);
}

TEST(ChromeTrace, IdsAreHexStrings) {
  TempFile tmp;
  {
    ChromeTrace t(tmp.path);
    t.complete(1, 1, "a", "", 0, 1, {}, TraceFlow::start(0));
    t.complete(1, 2, "b", "", 5, 1, {}, TraceFlow::end(kU64Max));
    t.async_begin(1, "p", "", 0xabc, 0);
  }
  json ev = json::parse(slurp(tmp.path)).at("traceEvents");
  EXPECT_EQ(ev[0].at("bind_id"), "0");
  EXPECT_EQ(ev[1].at("bind_id"), "ffffffffffffffff");
  EXPECT_EQ(ev[2].at("id"), "abc");
}

TEST(ChromeTrace, StringsAreEscaped) {
  TempFile tmp;
  const std::string nasty = "q\"b\\s/n\nr\rt\tb\bf\fc\x01\x1f del\x7f";
  const std::string utf8 = "\xc2\xb5s \xe2\x9c\x93 \xf0\x9d\x84\x9e";  // µs ✓ 𝄞
  {
    ChromeTrace t(tmp.path);
    t.thread_name(1, 1, nasty);
    t.complete(1, 1, utf8, nasty, 0, 1, {{nasty, nasty}});
    // Invalid UTF-8: a stray continuation byte, 0xff, a cut sequence, an
    // overlong '/', a surrogate, a code point past U+10FFFF.
    t.instant(1, 1,
              "a\x80"
              "b\xff"
              "c\xe2\x82"
              "d\xc0\xaf"
              "e\xed\xa0\x80"
              "f\xf4\x90\x80\x80",
              "", 0);
    t.close();
  }
  std::string text = slurp(tmp.path);
  EXPECT_NE(text.find("\\u0001"), std::string::npos);
  EXPECT_NE(text.find("\\u001f"), std::string::npos);
  json doc = json::parse(text);
  const json& ev = doc.at("traceEvents");
  EXPECT_EQ(ev[0].at("args").at("name"), nasty);
  EXPECT_EQ(ev[1].at("name"), utf8);
  EXPECT_EQ(ev[1].at("cat"), nasty);
  EXPECT_EQ(ev[1].at("args").at(nasty), nasty);
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(ev[2].at("name"),
            "a" + r + "b" + r + "c" + r + r + "d" + r + r + "e" + r + r + r + "f" + r + r + r + r);
}

TEST(ChromeTrace, EventLimitDropsAndSaysSo) {
  TempFile tmp;
  ChromeTrace t(tmp.path, 10);
  t.process_name(1, "nic0");
  for (uint64_t k = 0; k < 25; ++k) t.complete(1, 1, "s", "", 1000 * (30 - k), 10);
  t.counter(1, "c", 7, 1.0);
  t.thread_name(1, 1, "metadata is never dropped");
  EXPECT_EQ(t.events(), 12u);
  EXPECT_EQ(t.dropped(), 16u);
  t.close();

  json doc = json::parse(slurp(tmp.path));
  EXPECT_EQ(events_with_ph(doc, "X").size(), 10u);
  EXPECT_EQ(events_with_ph(doc, "C").size(), 0u);
  auto meta = events_with_ph(doc, "M");
  ASSERT_EQ(meta.size(), 3u);
  EXPECT_EQ(meta[1].at("args").at("name"), "metadata is never dropped");
  EXPECT_EQ(meta[2].at("name"), "trace_dropped_events");
  EXPECT_EQ(meta[2].at("pid"), 1);  // a process of the trace, not a phantom one
  EXPECT_EQ(meta[2].at("args").at("dropped"), 16);
  EXPECT_EQ(meta[2].at("args").at("max_events"), 10);
  // The marker sits at the earliest dropped time (the counter's 7 ns).
  auto marker = events_with_ph(doc, "i");
  ASSERT_EQ(marker.size(), 1u);
  EXPECT_EQ(marker[0].at("s"), "g");
  EXPECT_DOUBLE_EQ(marker[0].at("ts").get<double>(), 0.007);
  EXPECT_NE(marker[0].at("name").get<std::string>().find("16 events dropped"), std::string::npos);
}

TEST(ChromeTrace, StreamsToTheFileBeforeClose) {
  TempFile tmp;
  ChromeTrace t(tmp.path);
  for (uint64_t k = 0; k < 30'000; ++k)
    t.complete(3, uint32_t(k % 16), "insn", "npu", k * 7, 5, {{"pc", k}});
  struct stat st {};
  ASSERT_EQ(stat(tmp.path.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1 << 20);  // the writer kept at most its chunk
  t.close();
  json doc = json::parse(slurp(tmp.path));
  ASSERT_EQ(doc.at("traceEvents").size(), 30'000u);
  EXPECT_DOUBLE_EQ(doc.at("traceEvents").back().at("ts").get<double>(), 29'999 * 7 / 1000.0);
}

TEST(ChromeTrace, DestructorClosesAnEmptyTrace) {
  TempFile tmp;
  { ChromeTrace t(tmp.path); }
  json doc = json::parse(slurp(tmp.path));
  EXPECT_TRUE(doc.at("traceEvents").empty());
}

TEST(ChromeTrace, OpenFailureNamesThePath) {
  const std::string path = "/nonexistent-dir/trace.json";
  try {
    ChromeTrace t(path);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(ChromeTrace, WriteErrorsReachClose) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full to make writes fail";
  ChromeTrace t("/dev/full");
  for (int k = 0; k < 1000; ++k) t.instant(1, 1, "e", "", uint64_t(k));
  try {
    t.close();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/dev/full: write failed", 0), 0u) << e.what();
  }
  t.close();  // closed already: nothing more to say
  EXPECT_THROW(t.instant(1, 1, "late", "", 0), std::runtime_error);
}

// ------------------------------------------------------------ LatencyRecorder

// Nearest rank of p = pm / 1000 percent among n samples, in integers.
uint64_t nearest_rank(uint64_t pm, uint64_t n) {
  uint64_t rank = (pm * n + 100'000 - 1) / 100'000;
  return std::clamp<uint64_t>(rank, 1, n);
}

// x <= r < x * (1 + 1/128), the header's bound.
void expect_within_bound(uint64_t exact, uint64_t got, const std::string& what) {
  EXPECT_GE(got, exact) << what;
  if (got > exact) {
    EXPECT_LT((long double)(got - exact) * 128, (long double)exact) << what;
  }
}

const uint64_t kPerMille[] = {0,      1,      1000,   10'000, 25'000, 50'000,
                              75'000, 90'000, 99'000, 99'900, 99'990, 100'000};

void check_against_sorted(const LatencyRecorder& r, std::vector<uint64_t> samples) {
  std::sort(samples.begin(), samples.end());
  ASSERT_EQ(r.count(), samples.size());
  EXPECT_EQ(r.min(), samples.front());
  EXPECT_EQ(r.max(), samples.back());
  long double sum = 0;
  for (uint64_t v : samples) sum += v;
  EXPECT_NEAR(r.mean(), double(sum / samples.size()), r.mean() * 1e-12);
  for (uint64_t pm : kPerMille) {
    uint64_t exact = samples[nearest_rank(pm, samples.size()) - 1];
    expect_within_bound(exact, r.percentile(double(pm) / 1000), "p" + std::to_string(pm) + "/1000");
  }
}

TEST(Latency, Empty) {
  LatencyRecorder r;
  EXPECT_EQ(r.count(), 0u);
  EXPECT_EQ(r.min(), 0u);
  EXPECT_EQ(r.max(), 0u);
  EXPECT_EQ(r.mean(), 0.0);
  EXPECT_EQ(r.percentile(0), 0u);
  EXPECT_EQ(r.percentile(50), 0u);
  EXPECT_EQ(r.percentile(100), 0u);
}

TEST(Latency, OneSample) {
  LatencyRecorder r;
  r.record(123'456'789);
  EXPECT_EQ(r.count(), 1u);
  EXPECT_EQ(r.min(), 123'456'789u);
  EXPECT_EQ(r.max(), 123'456'789u);
  EXPECT_EQ(r.mean(), 123'456'789.0);
  for (double p : {0.0, 50.0, 99.9, 100.0}) EXPECT_EQ(r.percentile(p), 123'456'789u) << p;
}

TEST(Latency, AllEqualIsExact) {
  LatencyRecorder r;
  for (int k = 0; k < 1000; ++k) r.record(777'777);
  for (double p : {0.0, 0.1, 50.0, 99.0, 99.9, 100.0}) EXPECT_EQ(r.percentile(p), 777'777u) << p;
  EXPECT_EQ(r.mean(), 777'777.0);
}

TEST(Latency, SmallValuesAreExact) {
  std::mt19937_64 rng(1);
  std::vector<uint64_t> v;
  LatencyRecorder r;
  for (int k = 0; k < 10'000; ++k) {
    v.push_back(rng() % 256);
    r.record(v.back());
  }
  std::sort(v.begin(), v.end());
  for (uint64_t pm : kPerMille)
    EXPECT_EQ(r.percentile(double(pm) / 1000), v[nearest_rank(pm, v.size()) - 1]) << pm;
}

TEST(Latency, NearestRankAtExactBoundaries) {
  // 1..200, all exact: p/100 * 200 lands on an integer, which plain
  // floating-point arithmetic overshoots for 3.5, 7, 14, 27.5 and 55.
  LatencyRecorder r;
  for (uint64_t k = 1; k <= 200; ++k) r.record(k);
  EXPECT_EQ(r.percentile(0.5), 1u);
  EXPECT_EQ(r.percentile(0.6), 2u);
  EXPECT_EQ(r.percentile(3.5), 7u);
  EXPECT_EQ(r.percentile(7), 14u);
  EXPECT_EQ(r.percentile(14), 28u);
  EXPECT_EQ(r.percentile(27.5), 55u);
  EXPECT_EQ(r.percentile(55), 110u);
  EXPECT_EQ(r.percentile(57.3), 115u);
  EXPECT_EQ(r.percentile(99.5), 199u);
  EXPECT_EQ(r.percentile(99.75), 200u);
}

TEST(Latency, RandomSamplesWithinTheBound) {
  std::mt19937_64 rng(42);
  // Log-uniform from 1 ns to about 2.7 hours, then a tight cluster with a tail.
  std::uniform_real_distribution<double> exp10(0, 13);
  std::lognormal_distribution<double> cluster(std::log(2000.0), 0.3);
  for (int dist = 0; dist < 2; ++dist) {
    LatencyRecorder r;
    std::vector<uint64_t> v;
    for (int k = 0; k < 200'000; ++k) {
      double x = dist == 0 ? std::pow(10.0, exp10(rng)) : cluster(rng);
      v.push_back(uint64_t(x));
      r.record(v.back());
    }
    SCOPED_TRACE(dist);
    check_against_sorted(r, v);
  }
}

TEST(Latency, EveryBucketEdgeWithinTheBound) {
  // Around each power of two and each bucket edge of the next groups: a small
  // and a huge sample pin the median rank on v itself.
  for (int e = 0; e < 64; ++e) {
    for (uint64_t m = 0; m < 4; ++m) {
      uint64_t base = uint64_t(1) << e;
      uint64_t step = e > 7 ? uint64_t(1) << (e - 7) : 1;
      for (uint64_t v : {base + m * step - 1, base + m * step, base + m * step + 1}) {
        LatencyRecorder r;
        r.record(0);
        r.record(v);
        r.record(kU64Max);
        expect_within_bound(v, r.percentile(50), std::to_string(v));
      }
    }
  }
}

TEST(Latency, HugeValues) {
  LatencyRecorder r;
  for (int k = 0; k < 4; ++k) r.record(kU64Max);
  r.record(uint64_t(1) << 63);
  EXPECT_EQ(r.max(), kU64Max);
  EXPECT_EQ(r.min(), uint64_t(1) << 63);
  EXPECT_EQ(r.percentile(100), kU64Max);
  EXPECT_EQ(r.percentile(0), uint64_t(1) << 63);
  EXPECT_EQ(r.percentile(50), kU64Max);
  // The sum, 4.5 * 2^64, overflows 64 bits; the mean must not.
  EXPECT_DOUBLE_EQ(r.mean(), (4.0 * 18446744073709551615.0 + 9223372036854775808.0) / 5);
  // An hour is no trouble either.
  LatencyRecorder h;
  h.record(3'600'000'000'000);
  h.record(1);
  EXPECT_EQ(h.percentile(100), 3'600'000'000'000u);
  EXPECT_EQ(h.percentile(50), 1u);
}

TEST(Latency, MergeEqualsRecordingEverything) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exp10(0, 12);
  LatencyRecorder a, b, all;
  std::vector<uint64_t> v;
  for (int k = 0; k < 50'000; ++k) {
    uint64_t x = uint64_t(std::pow(10.0, exp10(rng)));
    // Different ranges in each half, so merge must grow the buckets.
    if (k % 3 == 0) x /= 1000;
    (k % 3 == 0 ? a : b).record(x);
    all.record(x);
    v.push_back(x);
  }
  LatencyRecorder m = a;
  m.merge(b);
  EXPECT_EQ(m.count(), all.count());
  EXPECT_EQ(m.min(), all.min());
  EXPECT_EQ(m.max(), all.max());
  EXPECT_DOUBLE_EQ(m.mean(), all.mean());
  for (uint64_t pm : kPerMille) EXPECT_EQ(m.percentile(pm / 1000.0), all.percentile(pm / 1000.0));
  check_against_sorted(m, v);

  LatencyRecorder empty;
  m.merge(empty);
  EXPECT_EQ(m.count(), all.count());
  empty.merge(all);
  EXPECT_EQ(empty.percentile(99), all.percentile(99));
  EXPECT_EQ(empty.min(), all.min());

  // Merging into itself doubles every count, the carry of the sum included.
  LatencyRecorder big;
  big.record(kU64Max);
  big.record(kU64Max);
  big.merge(big);
  EXPECT_EQ(big.count(), 4u);
  EXPECT_DOUBLE_EQ(big.mean(), 18446744073709551615.0);
}

TEST(Latency, BadPercentileThrows) {
  LatencyRecorder r;
  r.record(1);
  EXPECT_THROW(r.percentile(-0.1), std::invalid_argument);
  EXPECT_THROW(r.percentile(100.01), std::invalid_argument);
  EXPECT_THROW(r.percentile(std::nan("")), std::invalid_argument);
}

TEST(Latency, ResetAndSummary) {
  LatencyRecorder r;
  for (uint64_t k = 1; k <= 200; ++k) r.record(k);
  EXPECT_EQ(r.summary(), "count 200, min 1, mean 100.5, p50 100, p99 198, p99.9 200, max 200 (ns)");
  r.reset();
  EXPECT_EQ(r.count(), 0u);
  EXPECT_EQ(r.percentile(50), 0u);
  r.record(5);
  EXPECT_EQ(r.min(), 5u);
}

// ------------------------------------------------------------------ Progress

long file_size(std::FILE* f) {
  std::fflush(f);
  struct stat st {};
  return fstat(fileno(f), &st) == 0 ? long(st.st_size) : -1;
}

std::string file_text(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point t{};
  void at_ms(int64_t ms) {
    t = std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms));
  }
  Progress::Clock fn() {
    return [this] { return t; };
  }
};

TEST(Progress, SilentWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(1000, "sim", f);
    EXPECT_FALSE(p.enabled());
    for (uint64_t k = 0; k <= 1000; ++k) p.update(k);
    p.advance(5);
    EXPECT_EQ(p.done(), 1005u);
    EXPECT_EQ(p.draws(), 0u);
    p.finish();
  }
  EXPECT_EQ(file_size(f), 0);
  std::fclose(f);
}

TEST(Progress, SilentWhenDisabledOrWithoutStream) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(10, "sim", f);
    p.set_enabled(true);
    p.set_enabled(false);
    for (uint64_t k = 0; k <= 10; ++k) p.update(k);
  }
  EXPECT_EQ(file_size(f), 0);
  std::fclose(f);

  Progress none(10, "sim", nullptr);
  none.set_enabled(true);
  EXPECT_FALSE(none.enabled());
  none.update(3);
  none.finish();
}

TEST(Progress, EnabledOnATerminalUnlessDisabled) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    if (master >= 0) ::close(master);
    GTEST_SKIP() << "no pseudo-terminal (posix_openpt refused) to stand in for a terminal";
  }
  std::FILE* tty = std::fopen(ptsname(master), "w");
  ASSERT_NE(tty, nullptr);
  {
    Progress p(10, "sim", tty);
    EXPECT_TRUE(p.enabled());
    p.set_enabled(false);
    for (uint64_t k = 0; k <= 10; ++k) p.update(k);
  }
  std::fflush(tty);
  fcntl(master, F_SETFL, O_NONBLOCK);
  char c;
  errno = 0;
  EXPECT_EQ(read(master, &c, 1), -1);  // nothing was written
  EXPECT_EQ(errno, EAGAIN);
  std::fclose(tty);
  ::close(master);
}

TEST(Progress, RedrawsAtMostEvery100ms) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  FakeClock clock;
  Progress p(1000, "sim", f);
  p.set_clock(clock.fn());  // the run starts at 0
  p.set_enabled(true);

  p.update(0);  // the first update draws
  EXPECT_EQ(p.draws(), 1u);
  for (int ms = 1; ms < 100; ++ms) {
    clock.at_ms(ms);
    p.update(uint64_t(ms));
  }
  EXPECT_EQ(p.draws(), 1u);
  clock.at_ms(100);
  p.update(100);
  EXPECT_EQ(p.draws(), 2u);
  clock.at_ms(150);
  p.update(150);
  EXPECT_EQ(p.draws(), 2u);
  clock.at_ms(2000);
  p.update(100);  // 100 in 2 s: 50/s, 900 to go in 18 s
  EXPECT_EQ(p.draws(), 3u);

  std::string text = file_text(f);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 3);
  std::string last = text.substr(text.rfind('\r') + 1);
  EXPECT_EQ(last, "sim  10% [###---------------------------] 100/1000 50.0/s ETA 0:18\x1b[K");

  p.finish();
  clock.at_ms(5000);
  p.update(500);  // finished: no more drawing
  EXPECT_EQ(p.draws(), 3u);
  text = file_text(f);
  EXPECT_EQ(text.substr(text.size() - 4), "\r\x1b[K");  // the line cleared
  std::fclose(f);
}

TEST(Progress, LineLayouts) {
  FakeClock clock;
  Progress p(0, "replay", nullptr);  // total unknown
  p.set_clock(clock.fn());
  p.update(1'234'567);
  EXPECT_EQ(p.line(), "replay 1234567 -/s");  // no time has passed: no rate
  clock.at_ms(1000);
  EXPECT_EQ(p.line(), "replay 1234567 1.23M/s");

  Progress q(3'600'000, "sim", nullptr);
  q.set_clock(clock.fn());  // starts at 1 s
  q.update(1000);
  clock.at_ms(2000);
  EXPECT_EQ(q.line(), "sim   0% [------------------------------] 1000/3600000 1.00k/s ETA 59:59");
  // Narrow terminals lose the bar, then the end of the line, never wrapping.
  EXPECT_EQ(q.line(40), "sim   0% 1000/3600000 1.00k/s ETA 59:59");
  EXPECT_EQ(q.line(30), "sim   0% 1000/3600000 1.00k/s");
  q.update(500);  // 500/s: two hours to go
  EXPECT_NE(q.line().find(" 500/s "), std::string::npos) << q.line();
  EXPECT_NE(q.line().find("ETA 1:59:59"), std::string::npos) << q.line();
  EXPECT_LE(q.line(60).size(), 59u);
  q.update(3'600'000);
  EXPECT_EQ(q.line(), "sim 100% [##############################] 3600000/3600000 3.60M/s ETA 0:00");
  q.update(5'000'000);  // past the total: capped at 100%
  EXPECT_NE(q.line().find("100% [###"), std::string::npos);
}

}  // namespace
