#include "sim/nic/dispatcher.h"

#include "firmware/abi.h"
#include "sim/nic/clock.h"
#include "sim/nic/core_module.h"

#include <algorithm>

namespace npu::nic {

class Dispatcher::Port : public iss::QueuePort {
 public:
  Port(Dispatcher& d, unsigned core) : d_(d), core_(core) {}
  bool pop(uint32_t mask, uint64_t* value, uint64_t cycle) override {
    return d_.pop(core_, mask, value, cycle);
  }
  bool ready(uint32_t mask) const override { return d_.ready(mask); }
  void push(uint32_t queue, uint64_t value, uint64_t cycle) override {
    d_.push(core_, queue, value, cycle);
  }

 private:
  Dispatcher& d_;
  unsigned core_;
};

namespace {

constexpr uint64_t kEntryPkt = uint64_t(NPU_QE_PKT) << NPU_QE_KIND_SHIFT;
constexpr uint64_t kEntryCtrl = uint64_t(NPU_QE_CTRL) << NPU_QE_KIND_SHIFT;

}  // namespace

Dispatcher::Dispatcher(sc_core::sc_module_name name, const NicConfig& cfg, PacketLog& log)
    : sc_module(name),
      cfg_(cfg),
      log_(log),
      owner_(cfg.buffer_frames, -1),
      admit_ev_("admit_ev"),
      ctrl_ev_("ctrl_ev"),
      reply_ev_("reply_ev"),
      busy_(cfg.order_domains, 0),
      held_(cfg.dispatch == DispatchMode::kAtomic ? cfg.order_domains : 0) {
  for (unsigned c = 0; c < cfg.cores; ++c) ports_.push_back(std::make_unique<Port>(*this, c));
  // Lowest addresses first: the host's own single frame (slot 0) is taken last.
  for (uint32_t i = cfg.buffer_frames; i-- > 0;)
    free_.push_back(NPU_PKT_BASE + uint64_t(i) * NPU_FRAME_SIZE);
  SC_METHOD(admit);
  sensitive << admit_ev_;
  dont_initialize();
  SC_METHOD(deliver_ctrl);
  sensitive << ctrl_ev_;
  dont_initialize();
  SC_METHOD(deliver_reply);
  sensitive << reply_ev_;
  dont_initialize();
}

Dispatcher::~Dispatcher() = default;

iss::QueuePort& Dispatcher::port(unsigned core) {
  return *ports_.at(core);
}

bool Dispatcher::alloc(uint64_t at_ps, uint64_t index, uint64_t* frame) {
  while (!releasing_.empty() && releasing_.top().first <= at_ps) {
    free_.push_back(releasing_.top().second);
    releasing_.pop();
  }
  if (free_.empty()) return false;
  *frame = free_.back();
  free_.pop_back();
  owner_[(*frame - NPU_PKT_BASE) / NPU_FRAME_SIZE] = int64_t(index);
  stats_.max_frames_used = std::max<uint64_t>(stats_.max_frames_used, frames_in_use());
  return true;
}

void Dispatcher::release(uint64_t frame, uint64_t at_ps) {
  owner_[(frame - NPU_PKT_BASE) / NPU_FRAME_SIZE] = -1;
  releasing_.push({at_ps, frame});
}

void Dispatcher::enqueue(uint64_t frame, uint64_t index, uint32_t domain, uint64_t ready_ps) {
  pending_.push({ready_ps, frame, index, domain});
  admit_ev_.notify(ps_until(ready_ps));
}

void Dispatcher::admit() {
  const uint64_t now = now_ps();
  while (!pending_.empty() && pending_.top().ready_ps <= now) {
    Pending p = pending_.top();
    pending_.pop();
    if (cfg_.dispatch == DispatchMode::kAtomic && !p.cleared &&
        (busy_[p.domain] || !held_[p.domain].empty())) {
      held_[p.domain].push_back(p);
      stats_.held++;
      continue;
    }
    to_rx(p);
  }
}

void Dispatcher::to_rx(const Pending& p) {
  // A cleared packet inherits its predecessor's place in the domain's count.
  if (!p.cleared) busy_[p.domain]++;
  rx_.push_back(kEntryPkt | p.frame);
  stats_.max_rx_queue = std::max<uint64_t>(stats_.max_rx_queue, rx_.size());
  wake_one();
}

void Dispatcher::finished(uint32_t domain, uint64_t at_ps) {
  if (cfg_.dispatch == DispatchMode::kAtomic && !held_[domain].empty()) {
    // The next packet of the flow may start once this verdict is given, on
    // the clock of the core that gave it (up to a quantum ahead of ours).
    Pending p = held_[domain].front();
    held_[domain].pop_front();
    p.cleared = true;
    p.ready_ps = std::max(p.ready_ps, at_ps);
    pending_.push(p);
    admit_ev_.notify(ps_until(p.ready_ps));
    return;
  }
  if (busy_[domain]) busy_[domain]--;
}

void Dispatcher::wake_one() {
  // Round robin over idle cores first, then over cores whose other threads
  // wait for results; running cores find the entry at their next quantum.
  const unsigned n = unsigned(cores_.size());
  for (bool idle : {true, false})
    for (unsigned k = 0; k < n; ++k) {
      unsigned c = (next_wake_ + k) % n;
      if (cores_[c]->sleeping() && (!idle || cores_[c]->idle())) {
        cores_[c]->wake();
        next_wake_ = c + 1;
        return;
      }
    }
}

bool Dispatcher::ready(uint32_t mask) const {
  return ((mask >> NPU_Q_RX) & 1 && !rx_.empty()) || ((mask >> NPU_Q_CTRL) & 1 && !ctrl_.empty());
}

bool Dispatcher::pop(unsigned core, uint32_t mask, uint64_t* value, uint64_t cycle) {
  std::deque<uint64_t>* q = nullptr;
  if ((mask >> NPU_Q_RX) & 1 && !rx_.empty())
    q = &rx_;
  else if ((mask >> NPU_Q_CTRL) & 1 && !ctrl_.empty())
    q = &ctrl_;
  if (!q) return false;
  *value = q->front();
  q->pop_front();
  if (q == &rx_) {
    uint64_t frame = *value & NPU_QE_ADDR_MASK;
    uint64_t slot = (frame - NPU_PKT_BASE) / NPU_FRAME_SIZE;
    int64_t owner = frame >= NPU_PKT_BASE && slot < owner_.size() ? owner_[slot] : -1;
    if (owner >= 0) {
      PacketRecord& r = log_[size_t(owner)];
      r.core = core;
      r.thread = cores_[core]->current();
      r.start_cycle = cycle;
    }
  }
  return true;
}

void Dispatcher::push(unsigned core, uint32_t queue, uint64_t value, uint64_t cycle) {
  if (queue == NPU_Q_REPLY) {
    // Back across PCIe: the other half of the control round trip.
    const uint64_t at = cycle * cfg_.period_ps() + uint64_t(cfg_.ctrl_latency_ns) * 500;
    reply_pending_.push_back({at, value});
    reply_ev_.notify(ps_until(at));
    return;
  }
  if (queue != NPU_Q_TX) return;  // no other queue leaves a thread
  uint64_t frame = value & NPU_QE_ADDR_MASK;
  uint64_t slot = (frame - NPU_PKT_BASE) / NPU_FRAME_SIZE;
  if (frame < NPU_PKT_BASE || slot >= owner_.size() || owner_[slot] < 0) {
    tx_host_.push_back(value);  // the host's own frame
    return;
  }
  uint64_t index = uint64_t(owner_[slot]);
  log_[index].end_cycle = cycle;
  if (on_verdict) on_verdict(index, frame, cycle);
}

void Dispatcher::host_push(uint32_t queue, uint64_t value) {
  if (queue == NPU_Q_CTRL) {
    // A control message crosses PCIe first: half of the round trip.
    const uint64_t delay = uint64_t(cfg_.ctrl_latency_ns) * 500;
    ctrl_pending_.push_back({now_ps() + delay, value});
    ctrl_ev_.notify(sc_core::sc_time(double(delay), sc_core::SC_PS));
  } else if (queue == NPU_Q_RX) {
    rx_.push_back(value);
    wake_one();
  }
}

void Dispatcher::deliver_reply() {
  const uint64_t now = now_ps();
  while (!reply_pending_.empty() && reply_pending_.front().first <= now) {
    reply_.push_back(reply_pending_.front().second);
    reply_pending_.pop_front();
  }
}

void Dispatcher::deliver_ctrl() {
  const uint64_t now = now_ps();
  while (!ctrl_pending_.empty() && ctrl_pending_.front().first <= now) {
    ctrl_.push_back(ctrl_pending_.front().second);
    ctrl_pending_.pop_front();
    wake_one();
  }
}

bool Dispatcher::host_pop(uint32_t mask, uint64_t* value) {
  for (std::deque<uint64_t>* q :
       {(mask >> NPU_Q_RX) & 1 ? &rx_ : nullptr, (mask >> NPU_Q_CTRL) & 1 ? &ctrl_ : nullptr,
        (mask >> NPU_Q_TX) & 1 ? &tx_host_ : nullptr,
        (mask >> NPU_Q_REPLY) & 1 ? &reply_ : nullptr})
    if (q && !q->empty()) {
      *value = q->front();
      q->pop_front();
      return true;
    }
  return false;
}

}  // namespace npu::nic
