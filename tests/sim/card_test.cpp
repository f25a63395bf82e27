// The card of `npu dev` (sim/card/card.h) without a Linux wire: a BAR in a
// temporary file, a queue of frames for a wire, and the host's side played by
// the test through the BAR's registers, rings and control buffer, as the shim
// plays it. Each case runs in a child process (SystemC allows one simulation
// per process).
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/image.h"
#include "driver/bar.h"
#include "driver/cmsg.h"
#include "sim/card/card.h"
#include "sim/nic/config.h"
#include "tests/sim/nic_child.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <deque>
#include <filesystem>

namespace {

using namespace npu;
using driver::Bar;
using driver::CmsgReply;
using nlohmann::json;
using Bytes = std::vector<uint8_t>;

class QueueWire : public card::WireIo {
 public:
  int fd() const override { return -1; }
  std::vector<Bytes> receive(size_t max, uint64_t*) override {
    std::vector<Bytes> out;
    while (!in.empty() && out.size() < max) {
      out.push_back(std::move(in.front()));
      in.pop_front();
    }
    return out;
  }
  bool send(const uint8_t* p, size_t n) override {
    out.emplace_back(p, p + n);
    return true;
  }
  uint64_t overruns() override { return 0; }
  std::deque<Bytes> in;
  std::vector<Bytes> out;
};

// A 60-byte UDP frame from 10.9.a.b to 10.9.0.2, port 7000.
Bytes udp_from(uint8_t a, uint8_t b) {
  Bytes f = {0x02, 0,    0,    0,    0, 2,  0x02, 0, 0,  0,  0, 1, 0x08, 0x00,  // Ethernet
             0x45, 0,    0,    46,   0, 0,  0x40, 0, 64, 17, 0, 0, 10,   9,
             a,    b,    10,   9,    0, 2,             // IPv4
             0x30, 0x39, 0x1b, 0x58, 0, 26, 0,    0};  // UDP
  f.resize(60, 0x55);
  return f;
}

Bytes le32(uint32_t v) {
  return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}
Bytes be_addr(uint8_t a, uint8_t b) {
  return {10, 9, a, b};
}
Bytes stats16(uint64_t packets, uint64_t bytes) {
  Bytes v(16);
  std::memcpy(v.data(), &packets, 8);
  std::memcpy(v.data() + 8, &bytes, 8);
  return v;
}
uint64_t packets_of(const Bytes& v) {
  uint64_t p = 0;
  std::memcpy(&p, v.data(), 8);
  return p;
}

// The host's side of one card in a child process.
class Rig {
 public:
  // The default card (48 cores x 8 threads) unless told: it keeps up with
  // the line, so the control queue gets a thread while frames still arrive
  // (the receive queue has priority over it).
  explicit Rig(const std::string& yaml = "{}")
      : path_(std::filesystem::temp_directory_path() / fmt::format("npu_card_test_{}", getpid())),
        dev_bar_(make(path_)),
        host_(Bar::open(path_)) {
    card::CardOptions o;
    o.name = "test";
    o.nic = nic::NicConfig::from_yaml_text(yaml, "test");
    o.firmware = NPU_FIRMWARE;
    o.bar = path_;
    o.kick_dev = kick_dev_.fd();
    o.kick_host = kick_host_.fd();
    card_ = std::make_unique<card::Card>(o, wire);
  }
  ~Rig() { std::filesystem::remove(path_); }

  // One control request answered in one turn of the card, frames waiting
  // on the wire offered in the same turn.
  CmsgReply call(Bytes msg) {
    const uint16_t seq = uint16_t(++seq_);
    std::memcpy(msg.data() + NPU_CMSG_SEQ, &seq, 2);
    std::memcpy(host_.ctrl(), msg.data(), msg.size());
    host_.set_reg32(NPU_REG_CTRL_REQ, seq_);
    card_->step();
    if (host_.reg32(NPU_REG_CTRL_DONE) != seq_) throw std::runtime_error("no reply");
    CmsgReply r;
    std::string why;
    if (!driver::parse_reply(host_.ctrl(), host_.reg32(NPU_REG_CTRL_LEN), msg[NPU_CMSG_TYPE], seq,
                             &r, &why))
      throw std::runtime_error("bad reply: " + why);
    return r;
  }
  void step() { card_->step(); }
  uint64_t stat(unsigned s) const { return host_.stat(s); }
  std::vector<Bytes> to_host() {
    std::vector<Bytes> out;
    Bytes f;
    while (host_.pop(NPU_RING_TOHOST, &f)) out.push_back(f);
    return out;
  }

  CmsgReply load(const std::string& example, const std::string& dir = NPU_EXAMPLES_DIR) {
    npucc::CompileResult cr = npucc::compile(bpf::load_object(dir + "/" + example + ".o"));
    return load_image(image_bytes(cr.image), example);
  }
  CmsgReply load_image(const Bytes& img, const std::string& name) {
    Bytes body(16, 0);
    uint32_t n = uint32_t(name.size());
    std::memcpy(body.data() + 4, &n, 4);
    body.insert(body.end(), name.begin(), name.end());
    body.resize((body.size() + 7) & ~size_t(7), 0);
    body.insert(body.end(), img.begin(), img.end());
    return call(driver::cmsg_dev_request(NPU_CMSG_PROG_LOAD, 0, body));
  }
  // Map ids by name from a PROG_LOAD reply.
  static std::map<std::string, npu_dev_map> maps_of(const CmsgReply& r) {
    std::map<std::string, npu_dev_map> out;
    for (uint32_t i = 0; i < r.result; ++i) {
      npu_dev_map d;
      std::memcpy(&d, r.payload.data() + i * sizeof d, sizeof d);
      out[d.name] = d;
    }
    return out;
  }
  // Every element, through MAP_DUMP.
  std::map<Bytes, Bytes> dump(const npu_dev_map& m) {
    CmsgReply r = call(driver::cmsg_map_op(NPU_CMSG_MAP_DUMP, 0, m.id, 0));
    if (r.err) throw std::runtime_error("dump failed");
    std::map<Bytes, Bytes> out;
    const size_t k8 = (m.key_size + 7) & ~7u, v8 = (m.sys_value_size + 7) & ~7u;
    for (uint32_t i = 0; i < r.result; ++i) {
      const uint8_t* p = r.payload.data() + i * (k8 + v8);
      out[Bytes(p, p + m.key_size)] = Bytes(p + k8, p + k8 + m.sys_value_size);
    }
    return out;
  }

  QueueWire wire;

 private:
  static Bar make(const std::string& p) {
    std::filesystem::remove(p);
    return Bar::create(p, 0600, gid_t(-1));
  }
  std::string path_;
  Bar dev_bar_, host_;
  driver::Doorbell kick_dev_, kick_host_;
  std::unique_ptr<card::Card> card_;
  uint32_t seq_ = 0;
};

TEST(Card, WithoutAProgramFramesGoToTheHost) {
  json r = json::parse(test::run_in_child([] {
    Rig rig("cores: {count: 2, threads: 4}\n");
    for (int i = 0; i < 5; ++i) rig.wire.in.push_back(udp_from(0, 1));
    rig.step();
    std::vector<Bytes> h = rig.to_host();
    return json{{"host", h.size()},
                {"same", !h.empty() && h[0] == udp_from(0, 1)},
                {"wire_rx", rig.stat(NPU_STAT_WIRE_RX)},
                {"to_host", rig.stat(NPU_STAT_TOHOST)}}
        .dump();
  }));
  EXPECT_EQ(r["host"], 5);
  EXPECT_TRUE(r["same"].get<bool>());
  EXPECT_EQ(r["wire_rx"], 5);
  EXPECT_EQ(r["to_host"], 5);
}

// The firewall loaded through PROG_LOAD; a host update reaches the program
// by the next frame; a bad image is refused with a line and the program that
// ran goes on running.
TEST(Card, LoadUpdateDumpAndRefusal) {
  json r = json::parse(test::run_in_child([] {
    Rig rig("cores: {count: 2, threads: 4}\n");
    CmsgReply lr = rig.load("firewall");
    auto maps = Rig::maps_of(lr);
    json out = {{"load_err", lr.err}, {"maps", maps.size()}};
    const npu_dev_map sb = maps.at("src_block");
    rig.wire.in.push_back(udp_from(0, 1));
    rig.step();
    out["passed_before"] = rig.to_host().size();
    CmsgReply u =
        rig.call(driver::cmsg_map_update(0, sb.id, BPF_ANY, be_addr(0, 1), stats16(0, 0)));
    out["update_err"] = u.err;
    rig.wire.in.push_back(udp_from(0, 1));
    rig.step();
    out["passed_after"] = rig.to_host().size();
    out["dropped"] = rig.stat(NPU_STAT_DROP);
    out["counter"] = packets_of(rig.dump(sb).at(be_addr(0, 1)));
    CmsgReply bad = rig.load_image(Bytes(64, 0x7f), "junk.npu");
    out["bad_err"] = bad.err;
    out["bad_text"] =
        std::string(bad.payload.begin(), std::find(bad.payload.begin(), bad.payload.end(), 0));
    rig.wire.in.push_back(udp_from(0, 1));
    rig.step();
    out["dropped_after_bad_load"] = rig.stat(NPU_STAT_DROP);
    CmsgReply alloc = rig.call(driver::cmsg_map_alloc(0, {BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0}));
    out["alloc_err"] = alloc.err;
    return out.dump();
  }));
  EXPECT_EQ(r["load_err"], 0);
  EXPECT_EQ(r["maps"], 3);
  EXPECT_EQ(r["passed_before"], 1);
  EXPECT_EQ(r["update_err"], 0);
  EXPECT_EQ(r["passed_after"], 0);
  EXPECT_EQ(r["dropped"], 1);
  EXPECT_EQ(r["counter"], 1);
  EXPECT_EQ(r["bad_err"], -EINVAL);
  EXPECT_NE(r["bad_text"].get<std::string>().find("junk.npu"), std::string::npos) << r["bad_text"];
  EXPECT_EQ(r["dropped_after_bad_load"], 2);
  EXPECT_EQ(r["alloc_err"], -EPERM);
}

// Host updates land while the program updates the same map from frames in
// flight (each turn offers frames, then serves the host's message in the
// same simulated time): none of the host's writes is lost, and none of the
// program's atomic increments.
TEST(Card, HostUpdatesRaceTheProgramAndNoneIsLost) {
  json r = json::parse(test::run_in_child([] {
    Rig rig;
    auto maps = Rig::maps_of(rig.load("firewall"));
    const npu_dev_map sb = maps.at("src_block");
    for (uint8_t b : {1, 3})
      rig.call(driver::cmsg_map_update(0, sb.id, BPF_ANY, be_addr(0, b), stats16(0, 0)));
    uint64_t from1 = 0, from3 = 0, from3_after = 0;
    const uint64_t big = 1000000;
    uint64_t racing = 0;  // frames from 10.9.0.3 in flight with the host's write of it
    for (int turn = 0; turn < 60; ++turn) {
      const int frames = turn == 30 ? 256 : 16;  // one batch: all in flight with the write
      for (int i = 0; i < frames; ++i) {
        const bool three = i % 2;
        if (three && turn == 30) ++racing;
        rig.wire.in.push_back(udp_from(0, three ? 3 : 1));
        (three ? from3 : from1)++;
        if (three && turn > 30) ++from3_after;
      }
      // Another key of the same map every turn; once, the key the program
      // is counting in.
      Bytes msg = turn == 30
                      ? driver::cmsg_map_update(0, sb.id, BPF_ANY, be_addr(0, 3), stats16(big, 0))
                      : driver::cmsg_map_update(0, sb.id, BPF_ANY, be_addr(1, uint8_t(turn)),
                                                stats16(turn, 7));
      if (rig.call(msg).err) throw std::runtime_error("update refused");
    }
    std::map<Bytes, Bytes> d = rig.dump(sb);
    int host_keys = 0;
    for (int turn = 0; turn < 60; ++turn)
      if (turn != 30 && d.count(be_addr(1, uint8_t(turn))) &&
          d[be_addr(1, uint8_t(turn))] == stats16(turn, 7))
        ++host_keys;
    return json{{"host_keys", host_keys}, {"count1", packets_of(d.at(be_addr(0, 1)))},
                {"from1", from1},         {"count3", packets_of(d.at(be_addr(0, 3)))},
                {"from3", from3},         {"from3_after", from3_after},
                {"racing", racing},       {"big", big}}
        .dump();
  }));
  EXPECT_EQ(r["host_keys"], 59);
  EXPECT_EQ(r["count1"], r["from1"]);  // every increment of the program
  // The host's write of 10.9.0.3 was not undone by the program's increments
  // racing it: the count restarted from it, took the racing frames the
  // program ran after it (some ran before it, some after: they did race), and
  // went on with the frames of later turns.
  const uint64_t c3 = r["count3"], big = r["big"], after = r["from3_after"], racing = r["racing"];
  EXPECT_GT(c3, big + after);
  EXPECT_LT(c3, big + after + racing);
  RecordProperty("result", r.dump());
}

// A dump larger than the control buffer comes in pages: each reply says
// whether more follows, the next request goes on after the last key.
TEST(Card, DumpsComeInPages) {
  json r = json::parse(test::run_in_child([] {
    Rig rig;
    const npu_dev_map big = Rig::maps_of(rig.load("big_percpu", CARD_DATA_DIR)).at("big");
    rig.wire.in.push_back(udp_from(0, 1));
    rig.step();
    json pages = json::array();
    std::vector<uint32_t> keys;
    uint64_t total7 = 0;
    Bytes after;
    for (int page = 0; page < 10; ++page) {
      Bytes msg = driver::cmsg_map_op(NPU_CMSG_MAP_DUMP, 0, big.id,
                                      after.empty() ? 0 : NPU_DUMP_F_AFTER, after);
      CmsgReply d = rig.call(msg);
      if (d.err) throw std::runtime_error("dump failed");
      const uint32_t n = d.result & ~NPU_DUMP_MORE;
      pages.push_back(n);
      const size_t entry = 8 + big.sys_value_size;
      for (uint32_t i = 0; i < n; ++i) {
        const uint8_t* p = d.payload.data() + i * entry;
        uint32_t k;
        std::memcpy(&k, p, 4);
        keys.push_back(k);
        if (k == 7)
          for (uint32_t c = 0; c < big.sys_value_size / 8; ++c) {
            uint64_t v;
            std::memcpy(&v, p + 8 + 8 * c, 8);
            total7 += v;
          }
      }
      if (!(d.result & NPU_DUMP_MORE)) break;
      after = le32(keys.back());
    }
    bool in_order = true;
    for (size_t i = 0; i < keys.size(); ++i) in_order = in_order && keys[i] == i;
    return json{{"pages", pages},
                {"keys", keys.size()},
                {"in_order", in_order},
                {"total7", total7},
                {"value", big.sys_value_size}}
        .dump();
  }));
  EXPECT_EQ(r["value"], 384 * 8);  // one copy per hardware thread
  EXPECT_GE(r["pages"].size(), 2u) << r.dump();
  EXPECT_EQ(r["keys"], 8192);
  EXPECT_TRUE(r["in_order"].get<bool>());
  EXPECT_EQ(r["total7"], 1);  // the frame's count, on one thread's copy
}

}  // namespace
