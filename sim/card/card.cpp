#include "sim/card/card.h"

#include "compiler/npu/image.h"
#include "driver/bar.h"
#include "driver/cmsg.h"
#include "driver/dev_socket.h"
#include "driver/device.h"
#include "sim/card/wire.h"
#include "sim/nic/nic.h"
#include "sim/nic/session.h"
#include "sim/ref/maps.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace npu::card {
using driver::Bar;
using driver::Device;
using driver::DeviceError;
using nic::Fate;

namespace {

std::vector<uint8_t> text_payload(const std::string& s) {
  std::vector<uint8_t> p(s.begin(), s.end());
  p.push_back(0);
  return p;
}

}  // namespace

class Card::Impl {
 public:
  Impl(const CardOptions& o, WireIo& wire)
      : o_(o),
        bar_(Bar::open(o.bar)),
        kick_dev_(dup(o.kick_dev)),
        kick_host_(dup(o.kick_host)),
        wire_(wire),
        fw_(read_image(o.firmware)),
        nic_("card", o.nic),
        dev_(fw_, nic_, nic::device_config(o.nic)) {
    nic_.on_output = [this](uint64_t i, Fate f, const uint8_t* p, size_t n) { output(i, f, p, n); };
  }

  void ready() {
    bar_.init_rings();
    bar_.set_reg32(NPU_REG_VERSION, NPU_BAR_VERSION);
    bar_.set_reg32(NPU_REG_DEV_PID, uint32_t(getpid()));
    bar_.set_reg32(NPU_REG_STATUS, NPU_STATUS_READY);
    bar_.set_reg32(NPU_REG_MAGIC, NPU_BAR_MAGIC);
    kick_host_.kick();
  }

  int run() {
    ready();
    pollfd fds[2] = {{wire_.fd(), POLLIN, 0}, {kick_dev_.fd(), POLLIN, 0}};
    while (!(bar_.reg32(NPU_REG_STATUS) & NPU_STATUS_STOPPING)) {
      // Frames already waiting are served without sleeping.
      if (bar_.pending(NPU_RING_FROMHOST) == 0 && !ctrl_pending()) poll(fds, 2, 200);
      kick_dev_.drain();
      // Without its host the card has nobody to serve.
      const uint32_t host = bar_.reg32(NPU_REG_HOST_PID);
      if (host && !driver::process_alive(int(host))) {
        std::fprintf(stderr, "%s: the host shim (pid %u) is gone\n", o_.name.c_str(), host);
        return 1;
      }
      step();
    }
    return 0;
  }

  bool ctrl_pending() const {
    return bar_.reg32(NPU_REG_CTRL_REQ) != bar_.reg32(NPU_REG_CTRL_DONE);
  }

  void step() {
    const uint32_t ifindex = bar_.reg32(NPU_REG_IFINDEX);
    nic_.ingress_ifindex = ifindex ? ifindex : 1;
    std::vector<uint8_t> f;
    while (bar_.pop(NPU_RING_FROMHOST, &f)) {
      bar_.add_stat(NPU_STAT_FROMHOST, 1);
      wire_send(f.data(), f.size());
    }
    uint64_t refused = 0;
    std::vector<std::vector<uint8_t>> frames = wire_.receive(o_.max_batch, &refused);
    bar_.add_stat(NPU_STAT_BAD_FRAME, refused);
    bar_.add_stat(NPU_STAT_WIRE_OVERRUN, wire_.overruns());
    bar_.add_stat(NPU_STAT_WIRE_RX, frames.size() + refused);
    to_host_ = false;
    if (!frames.empty() && !dev_.loaded()) {
      // No program: the card hands every frame to the host, as a NIC does.
      for (const auto& fr : frames) to_host(fr.data(), fr.size(), NPU_VERDICT_PASS, 0);
      frames.clear();
    }
    const bool ctrl = ctrl_pending();
    if (!frames.empty()) {
      finished_ = 0;
      expected_ = frames.size();
      nic_.offer(std::move(frames), std::vector<uint64_t>(expected_, 0));
    }
    // Map operations run while the frames are in flight; program loads
    // wait for them to leave.
    if (ctrl) serve_ctrl();
    if (expected_) finish_batch();
    bar_.set_reg64(NPU_REG_CYCLE, nic_.cycle());
    if (to_host_ || ctrl) kick_host_.kick();
  }

 private:
  void finish_batch() {
    const uint64_t start_ps = nic_.window_start_ps();
    uint64_t idle = 0, last = finished_;
    const uint64_t slice = 200'000;
    while (nic_.run(slice) == iss::Backend::Stop::kLimit) {
      if (finished_ != last) {
        last = finished_;
        idle = 0;
      } else if ((idle += slice) >= o_.hang_cycles) {
        throw std::runtime_error(fmt::format("{}: the card finished no frame in {} cycles: hung",
                                             o_.name, o_.hang_cycles));
      }
    }
    bar_.add_stat(NPU_STAT_BATCHES, 1);
    bar_.add_stat(NPU_STAT_SIM_PS, uint64_t(nic_.cycle()) * o_.nic.period_ps() - start_ps);
    expected_ = 0;
  }

  void wire_send(const uint8_t* p, size_t n) {
    bar_.add_stat(wire_.send(p, n) ? NPU_STAT_WIRE_TX : NPU_STAT_WIRE_TX_ERR, 1);
  }

  void to_host(const uint8_t* p, size_t n, uint32_t status, uint64_t cycles) {
    if (bar_.push(NPU_RING_TOHOST, p, n, status, cycles)) {
      bar_.add_stat(NPU_STAT_TOHOST, 1);
      to_host_ = true;
    } else {
      bar_.add_stat(NPU_STAT_RING_FULL, 1);
    }
  }

  void output(uint64_t i, Fate f, const uint8_t* p, size_t n) {
    ++finished_;
    const nic::PacketRecord& r = nic_.log()[i];
    const uint64_t cycles = r.end_cycle - std::min(r.end_cycle, r.start_cycle);
    if (!nic::nic_drop(f)) bar_.add_stat(NPU_STAT_PKT_CYCLES, cycles);
    switch (f) {
      case Fate::kTx:
        wire_send(p, n);
        break;
      case Fate::kHost:
        to_host(p, n, r.status, cycles);
        break;
      case Fate::kRedirect:
        // The card has one port: a redirect to its own netdev leaves on the wire.
        bar_.add_stat(NPU_STAT_REDIRECT, 1);
        if (r.target == nic_.ingress_ifindex)
          wire_send(p, n);
        else
          bar_.add_stat(NPU_STAT_DROP, 1);
        break;
      case Fate::kDropped:
        bar_.add_stat(NPU_STAT_DROP, 1);
        break;
      default:
        bar_.add_stat(NPU_STAT_NIC_DROP, 1);
        break;
    }
  }

  void serve_ctrl() {
    const uint32_t seq = bar_.reg32(NPU_REG_CTRL_REQ);
    npu_cmsg_hdr h{};
    std::memcpy(&h, bar_.ctrl(), sizeof h);
    std::vector<uint8_t> reply;
    if (h.len < NPU_CMSG_HDR_SIZE || h.len > NPU_BAR_CTRL_SIZE) {
      reply = driver::cmsg_reply(h.type, h.seq, -EINVAL, 0, text_payload("bad length"));
    } else {
      std::vector<uint8_t> msg(bar_.ctrl(), bar_.ctrl() + h.len);
      reply = answer(h, msg);
    }
    if (reply.size() > NPU_BAR_CTRL_SIZE)
      reply = driver::cmsg_reply(h.type, h.seq, -E2BIG, 0, text_payload("reply too large"));
    std::memcpy(bar_.ctrl(), reply.data(), reply.size());
    bar_.set_reg32(NPU_REG_CTRL_LEN, uint32_t(reply.size()));
    bar_.set_reg32(NPU_REG_CTRL_DONE, seq);
  }

  std::vector<uint8_t> answer(const npu_cmsg_hdr& h, const std::vector<uint8_t>& msg) {
    try {
      switch (h.type) {
        case NPU_CMSG_PROG_LOAD:
          return load(h, msg);
        case NPU_CMSG_PROG_UNLOAD:
          if (expected_) finish_batch();
          dev_.unload();
          return driver::cmsg_reply(h.type, h.seq, 0, 0);
        case NPU_CMSG_MAP_DUMP:
          return dump(h, msg);
        case NPU_CMSG_DEV_INFO:
          return info(h);
        default:
          return dev_.control(msg);
      }
    } catch (const DeviceError& e) {
      return driver::cmsg_reply(h.type, h.seq, e.err() ? e.err() : -EINVAL, 0,
                                text_payload(e.what()));
    } catch (const std::exception& e) {
      return driver::cmsg_reply(h.type, h.seq, -EINVAL, 0, text_payload(e.what()));
    }
  }

  // Body: u32 program index, u32 name bytes, u64 flags, the name padded to
  // 8 bytes, then the image.
  std::vector<uint8_t> load(const npu_cmsg_hdr& h, const std::vector<uint8_t>& msg) {
    uint32_t prog = 0, name_len = 0;
    if (msg.size() < NPU_CMSG_KEY) throw std::runtime_error("PROG_LOAD: short message");
    std::memcpy(&prog, msg.data() + NPU_CMSG_MAP_ID, 4);
    std::memcpy(&name_len, msg.data() + NPU_CMSG_MAP_ID + 4, 4);
    const size_t img_off = NPU_CMSG_KEY + ((size_t(name_len) + 7) & ~size_t(7));
    if (name_len > 4096 || img_off > msg.size())
      throw std::runtime_error("PROG_LOAD: bad name length");
    std::string name(msg.begin() + NPU_CMSG_KEY, msg.begin() + NPU_CMSG_KEY + name_len);
    Image img = parse_image(std::vector<uint8_t>(msg.begin() + img_off, msg.end()), name);
    if (prog >= img.programs.size())
      throw std::runtime_error(fmt::format("{}: no program {}", name, prog));
    if (expected_) finish_batch();
    dev_.load(img, name);
    nic_.prog_slot = prog;
    std::vector<uint8_t> payload;
    for (const std::string& m : dev_.map_names()) {
      driver::MapInfo mi = dev_.map_info(m);
      npu_dev_map d{};
      d.id = mi.id;
      d.type = mi.type;
      d.key_size = mi.key_size;
      d.value_size = mi.value_size;
      d.max_entries = mi.max_entries;
      d.flags = mi.flags;
      d.sys_value_size = uint32_t(mi.sys_value_size);
      std::strncpy(d.name, mi.name.c_str(), sizeof d.name - 1);
      const uint8_t* p = reinterpret_cast<const uint8_t*>(&d);
      payload.insert(payload.end(), p, p + sizeof d);
    }
    return driver::cmsg_reply(h.type, h.seq, 0, uint32_t(dev_.map_names().size()), payload);
  }

  std::vector<uint8_t> dump(const npu_cmsg_hdr& h, const std::vector<uint8_t>& msg) {
    uint32_t id = 0;
    if (msg.size() < NPU_CMSG_KEY) throw std::runtime_error("MAP_DUMP: short message");
    std::memcpy(&id, msg.data() + NPU_CMSG_MAP_ID, 4);
    std::string name;
    if (dev_.loaded())
      for (const std::string& m : dev_.map_names())
        if (dev_.map_info(m).id == id) name = m;
    if (name.empty()) return driver::cmsg_reply(h.type, h.seq, -ENOENT, 0);
    // A bulk read of the map unit's memory, as a DMA engine would make it:
    // between frames, in no simulated time, not through the firmware (whose
    // one message per element would make a mirror refresh cost a batch).
    ref::Map* map = nic_.engines().map(id);
    if (!map) return driver::cmsg_reply(h.type, h.seq, -ENOENT, 0);
    const driver::MapInfo mi = dev_.map_info(name);
    std::vector<uint8_t> key(mi.key_size), next(mi.key_size), value(mi.sys_value_size);
    uint64_t flags = 0;
    std::memcpy(&flags, msg.data() + NPU_CMSG_FLAGS, 8);
    const bool after = flags & NPU_DUMP_F_AFTER;
    if ((flags & ~uint64_t(NPU_DUMP_F_AFTER)) || (after && msg.size() < NPU_CMSG_KEY + mi.key_size))
      return driver::cmsg_reply(h.type, h.seq, -EINVAL, 0);
    if (after) std::memcpy(key.data(), msg.data() + NPU_CMSG_KEY, mi.key_size);
    // A page: as many elements as the control buffer holds.
    const size_t entry = ((mi.key_size + 7) & ~size_t(7)) + ((mi.sys_value_size + 7) & ~size_t(7));
    const size_t room = NPU_BAR_CTRL_SIZE - NPU_CMSG_PAYLOAD;
    if (entry > room) return driver::cmsg_reply(h.type, h.seq, -E2BIG, 0);
    std::vector<uint8_t> payload;
    uint32_t n = 0;
    bool more = false;
    for (int err = map->get_next_key(after ? key.data() : nullptr, next.data());
         err == 0 && n <= mi.max_entries; err = map->get_next_key(key.data(), next.data())) {
      if (payload.size() + entry > room) {
        more = true;
        break;
      }
      key = next;
      const int lerr = map->sys_lookup(key.data(), value.data());
      if (lerr == -EPERM) return driver::cmsg_reply(h.type, h.seq, lerr, 0);  // BPF_F_WRONLY
      if (lerr) continue;  // slots that cannot be looked up, e.g. empty prog array slots
      payload.insert(payload.end(), key.begin(), key.end());
      payload.resize((payload.size() + 7) & ~size_t(7), 0);
      payload.insert(payload.end(), value.begin(), value.end());
      payload.resize((payload.size() + 7) & ~size_t(7), 0);
      ++n;
    }
    return driver::cmsg_reply(h.type, h.seq, 0, more ? n | NPU_DUMP_MORE : n, payload);
  }

  std::vector<uint8_t> info(const npu_cmsg_hdr& h) {
    npu_dev_info d{};
    const driver::DeviceConfig& c = dev_.config();
    d.cores = c.cores;
    d.threads = c.threads;
    d.map_cpus = c.map_cpus;
    d.clock_mhz = uint32_t(o_.nic.timing.clock_mhz);
    d.code_store = c.code_store;
    d.loaded = dev_.loaded();
    if (dev_.loaded()) {
      d.nprogs = uint32_t(dev_.image().programs.size());
      for (const auto& p : dev_.image().programs) d.prog_insns += p.npu_insns;
    }
    for (unsigned i = 0; i < NPU_NUM_COUNTERS; ++i) d.counters[i] = dev_.counter(i);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(&d);
    return driver::cmsg_reply(h.type, h.seq, 0, 0, std::vector<uint8_t>(p, p + sizeof d));
  }

  CardOptions o_;
  Bar bar_;
  driver::Doorbell kick_dev_, kick_host_;
  WireIo& wire_;
  Image fw_;
  nic::Nic nic_;
  Device dev_;
  uint64_t finished_ = 0, expected_ = 0;
  bool to_host_ = false;
};

Card::Card(const CardOptions& opt, WireIo& wire) : impl_(std::make_unique<Impl>(opt, wire)) {
  impl_->ready();
}
Card::~Card() = default;
void Card::step() {
  impl_->step();
}

int run_card(const CardOptions& opt) {
  try {
    WirePort wire(opt.wire);
    Card::Impl card(opt, wire);
    return card.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    try {
      Bar b = Bar::open(opt.bar);
      b.or_reg32(NPU_REG_STATUS, NPU_STATUS_FAILED);
      driver::Doorbell(dup(opt.kick_host)).kick();
    } catch (const std::exception&) {
    }
    return 1;
  }
}

}  // namespace npu::card
