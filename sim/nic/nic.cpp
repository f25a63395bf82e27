#include "sim/nic/nic.h"

#include "firmware/abi.h"
#include "sim/nic/clock.h"
#include "sim/nic/flow.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace npu::nic {
namespace {

constexpr size_t kEthHlen = 14;  // shorter frames are no Ethernet frames: runts

}  // namespace

Nic::Nic(sc_core::sc_module_name name, const NicConfig& cfg)
    : sc_module(name),
      dma("dma"),
      cfg_(cfg),
      period_(sc_core::sc_time(cfg.period_ps(), sc_core::SC_PS)),
      seq_(cfg.order_domains, 0) {
  if (uint64_t(cfg.buffer_frames) * NPU_FRAME_SIZE > NPU_CLS_BASE - NPU_PKT_BASE)
    throw std::invalid_argument(
        fmt::format("nic: {} frames do not fit the packet buffer's window", cfg.buffer_frames));
  const auto& lat = cfg_.timing.mem_latency;
  using iss::Region;
  bus_ = std::make_unique<Bus>("bus");
  pkt_ = std::make_unique<SharedMemory>("pkt", Region::PKT, NPU_PKT_BASE,
                                        uint64_t(cfg.buffer_frames) * NPU_FRAME_SIZE, cfg_.pkt,
                                        lat[size_t(Region::PKT)], period_);
  cls_ = std::make_unique<SharedMemory>("cls", Region::CLS, NPU_CLS_BASE, cfg.cls_bytes, cfg_.cls,
                                        lat[size_t(Region::CLS)], period_);
  emem_ = std::make_unique<SharedMemory>("emem", Region::EMEM, NPU_EMEM_BASE, cfg.emem_bytes,
                                         cfg_.emem, lat[size_t(Region::EMEM)], period_);
  engines_ = std::make_unique<EngineBlock>("engines", cfg_, *this);
  dispatcher_ = std::make_unique<Dispatcher>("dispatcher", cfg_, log_);
  for (unsigned c = 0; c < cfg.cores; ++c)
    cores_.push_back(std::make_unique<CoreModule>(fmt::format("core{}", c).c_str(), c, cfg_,
                                                  dispatcher_->port(c)));
  egress_ = std::make_unique<Egress>(cfg_, log_, *dispatcher_, *pkt_);
  mac_ = std::make_unique<MacRx>("mac_rx", cfg.line_gbps);

  // The netlist.
  std::vector<CoreModule*> cores;
  for (auto& c : cores_) {
    c->mem.bind(bus_->in);
    c->eng.bind(engines_->socket);
    cores.push_back(c.get());
  }
  dma.bind(bus_->in);
  bus_->out.bind(pkt_->socket);
  bus_->map(pkt_->base(), pkt_->base() + pkt_->size(), 0);
  bus_->out.bind(cls_->socket);
  bus_->map(cls_->base(), cls_->base() + cls_->size(), 1);
  bus_->out.bind(emem_->socket);
  bus_->map(emem_->base(), emem_->base() + emem_->size(), 2);
  bus_->out.bind(engines_->map_socket);
  bus_->map(NPU_MAP_BASE, UINT64_MAX, 3);
  dispatcher_->attach(cores);

  dispatcher_->on_verdict = [this](uint64_t index, uint64_t frame, uint64_t cycle) {
    egress_->verdict(index, frame, cycle);
  };
  egress_->on_output = [this](uint64_t index, Fate f, const uint8_t* p, size_t n) {
    if (on_output) on_output(index, f, p, n);
  };
  mac_->on_frame = [this](uint64_t index, uint64_t in_ps) { receive(index, in_ps); };
}

Nic::~Nic() = default;

uint64_t Nic::cycle() const {
  return uint64_t(sc_core::sc_time_stamp() / period_);
}

const SharedMemory& Nic::memory(iss::Region r) const {
  return r == iss::Region::PKT ? *pkt_ : r == iss::Region::CLS ? *cls_ : *emem_;
}

bool Nic::dmi(unsigned core, uint64_t addr, iss::Dmi* out) {
  // What core `core` sees: its local memory, the rest through the bus.
  return core < cores_.size() && cores_[core]->dmi(core, addr, out);
}

void Nic::load(const std::vector<uint64_t>& code, const std::vector<iss::DataSection>& data) {
  if (code.size() > cfg_.code_store)
    throw std::runtime_error(
        fmt::format("{} instructions do not fit a code store of {}", code.size(), cfg_.code_store));
  for (auto& c : cores_) c->load_code(code);
  for (const iss::DataSection& d : data) {
    if (d.bytes.empty()) continue;
    iss::Dmi m;
    if (!dmi(0, d.addr, &m) || d.addr + d.bytes.size() > m.hi)
      throw std::runtime_error(fmt::format("section at 0x{:x} ({} bytes) is outside device memory",
                                           d.addr, d.bytes.size()));
    if (m.region == iss::Region::LM) {
      for (unsigned c = 0; c < cores_.size(); ++c) write(d.addr, d.bytes.data(), d.bytes.size(), c);
    } else {
      write(d.addr, d.bytes.data(), d.bytes.size());
    }
  }
}

void Nic::boot(uint64_t pc) {
  for (auto& c : cores_) {
    for (unsigned t = 0; t < cfg_.threads; ++t) c->start(t, pc);
    c->wake();
  }
}

Nic::Stop Nic::run(uint64_t max_cycles) {
  const sc_core::sc_time end = sc_core::sc_time_stamp() + period_ * double(max_cycles);
  // sc_start with SC_EXIT_ON_STARVATION does not move time when the next
  // event lies beyond the limit: step to it (or to the limit) explicitly.
  while (sc_core::sc_pending_activity() && sc_core::sc_time_stamp() < end) {
    const sc_core::sc_time left = end - sc_core::sc_time_stamp();
    if (sc_core::sc_time_to_pending_activity() >= left) {
      sc_core::sc_start(left, sc_core::SC_RUN_TO_TIME);
      break;
    }
    sc_core::sc_start(left, sc_core::SC_EXIT_ON_STARVATION);
  }
  return sc_core::sc_pending_activity() ? Stop::kLimit : Stop::kIdle;
}

void Nic::host_push(uint32_t queue, uint64_t value) {
  dispatcher_->host_push(queue, value);
}

bool Nic::host_pop(uint32_t mask, uint64_t* value) {
  return dispatcher_->host_pop(mask, value);
}

iss::CoreCounters Nic::counters(unsigned core) {
  if (rtl::RtlCore* r = cores_.at(core)->rtl_core()) return r->counters();
  return iss::counters_of(this->core(core));
}

uint64_t Nic::csr(unsigned core, unsigned thread, Csr n) {
  if (rtl::RtlCore* r = cores_.at(core)->rtl_core()) return r->peek_csr(thread, n);
  return iss::csr_of(this->core(core), thread, n);
}

void Nic::set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) {
  if (rtl::RtlCore* r = cores_.at(core)->rtl_core()) {
    r->set_csr(thread, n, v);  // applied before the core's next cycle
    return;
  }
  iss::set_csr_of(this->core(core), thread, n, v);
}

CoreSnapshot Nic::now_counters(unsigned c) {
  CoreSnapshot s;
  if (rtl::RtlCore* r = cores_.at(c)->rtl_core()) {
    // The RTL core counts retired instructions and issue cycles; it does not
    // tell stalls apart by unit.
    s.busy = r->issue_cycles();
    s.instret = r->counters().instret;
    return s;
  }
  iss::Core& core = cores_.at(c)->core();
  s.busy = core.stats().busy;
  s.idle = core.stats().idle;
  s.swap_cycles = core.stats().swap_cycles;
  s.instret = core.instret();
  for (unsigned t = 0; t < core.nthreads(); ++t)
    for (size_t u = 0; u < s.stall_on.size(); ++u)
      s.stall_on[u] += core.thread(t).stats.stall_on[u];
  return s;
}

void Nic::offer(std::vector<std::vector<uint8_t>> packets, const std::vector<uint64_t>& start_ps) {
  packets_ = std::move(packets);
  log_.assign(packets_.size(), PacketRecord{});
  std::vector<Offered> frames(packets_.size());
  for (size_t i = 0; i < packets_.size(); ++i) {
    frames[i] = {i < start_ps.size() ? start_ps[i] : 0, uint32_t(packets_[i].size())};
    log_[i].len = uint32_t(packets_[i].size());
  }
  // Counters measure the traffic alone, not the boot and the loading before it.
  window_ps_ = now_ps();
  snap_.clear();
  for (unsigned c = 0; c < cores_.size(); ++c) snap_.push_back(now_counters(c));
  engines_->reset_stats();
  pkt_->reset_stats();
  cls_->reset_stats();
  emem_->reset_stats();
  egress_->reset_stats();
  dispatcher_->reset_stats();
  mac_->start(std::move(frames));
}

void Nic::receive(uint64_t index, uint64_t in_ps) {
  PacketRecord& r = log_[index];
  const std::vector<uint8_t>& p = packets_[index];
  r.arrive_ps = in_ps;
  uint64_t frame;
  const size_t max_len = NPU_FRAME_SIZE - NPU_HEADROOM - NPU_TAILROOM;
  const bool runt = p.size()<kEthHlen, too_long = p.size()> max_len;
  if (runt || too_long || !dispatcher_->alloc(in_ps, index, &frame)) {
    r.fate = runt ? Fate::kRunt : too_long ? Fate::kTooLong : Fate::kNoBuffer;
    r.done_ps = in_ps;
    if (on_output) on_output(index, r.fate, nullptr, 0);
    return;
  }
  npu_pkt_desc d{};
  d.data = frame + NPU_HEADROOM;
  d.data_meta = d.data;
  d.data_end = d.data + p.size();
  d.ifindex = ingress_ifindex;
  d.prog = prog_slot;
  // Head- and tailroom start zeroed, as the kernel's test run gives them.
  uint8_t* f = pkt_->data() + (frame - pkt_->base());
  std::memset(f, 0, NPU_HEADROOM);
  std::memset(f + NPU_HEADROOM + p.size(), 0, NPU_FRAME_SIZE - NPU_HEADROOM - p.size());
  // The MAC's DMA writes the frame and its descriptor through the bus.
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  tlm::tlm_generic_payload t;
  auto put = [&](uint64_t addr, const void* src, size_t n) {
    t.set_command(tlm::TLM_WRITE_COMMAND);
    t.set_address(addr);
    t.set_data_ptr(const_cast<uint8_t*>(static_cast<const uint8_t*>(src)));
    t.set_data_length(unsigned(n));
    t.set_streaming_width(unsigned(n));
    t.set_byte_enable_ptr(nullptr);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    dma->b_transport(t, delay);
  };
  put(d.data, p.data(), p.size());
  put(frame, &d, sizeof d);
  r.domain = flow_hash(p.data(), p.size(), cfg_.flow_key) % cfg_.order_domains;
  r.seq = seq_[r.domain]++;
  uint64_t ready = in_ps + to_ps(delay) + uint64_t(cfg_.dispatch_cycles) * cfg_.period_ps();
  // The DMA engine completes frames in the order they came: a frame whose
  // write waited for a busy bank holds back the ones behind it.
  ready = std::max(ready, last_ready_ps_);
  last_ready_ps_ = ready;
  dispatcher_->enqueue(frame, index, r.domain, ready);
}

}  // namespace npu::nic

// libsystemc's own main() calls sc_main; our programs have their own main and
// drive sc_start themselves, but the shared library still needs the symbol
// (weak: sim/rtl defines it too).
extern "C" __attribute__((weak)) int sc_main(int, char**) {
  return 1;
}
