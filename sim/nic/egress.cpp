#include "sim/nic/egress.h"

#include "firmware/abi.h"
#include "sim/traffic/traffic_spec.h"

#include <algorithm>
#include <cstring>

namespace npu::nic {

Egress::Egress(const NicConfig& cfg, PacketLog& log, Dispatcher& dispatcher, SharedMemory& pkt)
    : cfg_(cfg),
      log_(log),
      dispatcher_(dispatcher),
      pkt_(pkt),
      period_ps_(cfg.period_ps()),
      tx_(cfg.line_gbps, cfg.tx_fifo_frames),
      redirect_(cfg.line_gbps, cfg.redirect_fifo_frames),
      pcie_(cfg.pcie_gbps, cfg.host_queue_frames),
      next_seq_(cfg.order_domains, 0),
      held_(cfg.order_domains) {}

void Egress::reset_stats() {
  stats_ = {};
  tx_.reset_stats();
  redirect_.reset_stats();
  pcie_.reset_stats();
}

void Egress::verdict(uint64_t index, uint64_t frame, uint64_t cycle) {
  PacketRecord& r = log_[index];
  // The flow's state is settled once its packet has a verdict: atomic mode
  // may start the next one.
  dispatcher_.finished(r.domain, cycle * period_ps_);
  uint64_t& next = next_seq_[r.domain];
  if (r.seq != next) {
    held_[r.domain][r.seq] = {index, frame, cycle};
    stats_.reordered++;
    held_count_++;
    stats_.max_held = std::max(stats_.max_held, held_count_);
    return;
  }
  release(index, frame, cycle);
  ++next;
  auto& h = held_[r.domain];
  // The ones that waited for it leave now, no earlier than their own verdicts.
  while (!h.empty() && h.begin()->first == next) {
    Held x = h.begin()->second;
    h.erase(h.begin());
    held_count_--;
    release(x.index, x.frame, std::max(x.cycle, cycle));
    ++next;
  }
}

void Egress::release(uint64_t index, uint64_t frame, uint64_t cycle) {
  PacketRecord& r = log_[index];
  npu_pkt_desc d;
  std::memcpy(&d, pkt_.data() + (frame - pkt_.base()), sizeof d);
  r.status = d.prog;
  r.target = d.target;
  const uint64_t ready_cycle = cycle + cfg_.egress_cycles;
  uint64_t ready_ps = ready_cycle * period_ps_;
  const uint8_t* data = nullptr;
  size_t len = 0;
  // The firmware keeps data within the frame; check anyway, a bad descriptor must not read afar.
  const uint64_t lo = frame + NPU_DESC_SIZE, hi = frame + NPU_FRAME_SIZE - NPU_TAILROOM;
  bool sane =
      lo <= d.data_meta && d.data_meta <= d.data && d.data <= d.data_end && d.data_end <= hi;
  if (sane) {
    data = pkt_.data() + (d.data - pkt_.base());
    len = size_t(d.data_end - d.data);
  }
  Link* link = nullptr;
  Fate fate = Fate::kDropped, full = Fate::kDropped;
  uint64_t bytes = 0;
  if (sane && d.prog == NPU_VERDICT_TX) {
    link = &tx_, fate = Fate::kTx, full = Fate::kTxFull, bytes = traffic::wire_bytes(len);
  } else if (sane && d.prog == NPU_VERDICT_REDIRECT) {
    link = &redirect_, fate = Fate::kRedirect, full = Fate::kRedirectFull,
    bytes = traffic::wire_bytes(len);
  } else if (sane && d.prog == NPU_VERDICT_PASS) {
    link = &pcie_, fate = Fate::kHost, full = Fate::kHostFull,
    bytes = len + cfg_.dma_overhead_bytes;
  }
  uint64_t done = ready_ps, freed = ready_ps;
  if (link) {
    // The frame is read out of the packet buffer on its way to the link.
    ready_ps = (ready_cycle + pkt_.transfer(d.data, len, ready_cycle)) * period_ps_;
    if (link->send(ready_ps, bytes, &done)) {
      // Its last byte has left the card; the host sees it after the DMA latency.
      freed = done;
      if (link == &pcie_) done += uint64_t(cfg_.dma_latency_ns) * 1000;
    } else {
      fate = full;
      done = freed = ready_ps;
    }
  }
  r.fate = fate;
  r.done_ps = done;
  dispatcher_.release(frame, freed);
  if (on_output) on_output(index, fate, data, nic_drop(fate) ? 0 : len);
}

}  // namespace npu::nic
