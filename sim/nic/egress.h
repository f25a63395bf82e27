// The egress stage: takes each thread's verdict, puts packets back in their
// flow's order, and sends them where the verdict says: the transmit MAC
// (XDP_TX), the host over PCIe DMA (XDP_PASS), the redirect port
// (XDP_REDIRECT), or nowhere (drops, aborts, faults). Order is kept per
// ordering domain: the dispatcher numbered each domain's packets on arrival,
// and a packet whose predecessor has no verdict yet waits here (a reorder
// buffer per domain, as the NFP's packet reorder). The frame is freed when its
// last byte has left the card.
#pragma once

#include "sim/nic/config.h"
#include "sim/nic/dispatcher.h"
#include "sim/nic/link.h"
#include "sim/nic/memory.h"
#include "sim/nic/packet_log.h"

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace npu::nic {

struct EgressStats {
  uint64_t reordered = 0;  // packets that waited for an earlier one of their flow
  uint64_t max_held = 0;   // most packets waiting at once
};

class Egress {
 public:
  Egress(const NicConfig& cfg, PacketLog& log, Dispatcher& dispatcher, SharedMemory& pkt);

  // A thread's verdict on packet index, whose descriptor is at frame.
  void verdict(uint64_t index, uint64_t frame, uint64_t cycle);

  // Each packet that leaves (or is dropped), in the order it leaves: its
  // index and, for packets that leave, the bytes from data to data_end.
  std::function<void(uint64_t index, Fate fate, const uint8_t* data, size_t len)> on_output;

  const Link& tx() const { return tx_; }
  const Link& redirect() const { return redirect_; }
  const Link& pcie() const { return pcie_; }
  const EgressStats& stats() const { return stats_; }
  void reset_stats();

 private:
  void release(uint64_t index, uint64_t frame, uint64_t cycle);

  const NicConfig& cfg_;
  PacketLog& log_;
  Dispatcher& dispatcher_;
  SharedMemory& pkt_;
  uint64_t period_ps_;
  Link tx_, redirect_, pcie_;
  std::vector<uint64_t> next_seq_;  // per domain
  struct Held {
    uint64_t index, frame, cycle;
  };
  std::vector<std::map<uint64_t, Held>> held_;  // per domain, by seq
  uint64_t held_count_ = 0;
  EgressStats stats_;
};

}  // namespace npu::nic
