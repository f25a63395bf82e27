// The dispatcher: owns the packet buffer's frames and the queues between the
// MAC, the threads, the egress and the host. A received frame gets a sequence
// number in its flow's ordering domain and waits in the RX queue until a free
// thread takes it (threads pull with qget, as the firmware's packet loop does;
// a sleeping core is woken for it). In atomic mode a flow's next packet is
// held back until its previous one has a verdict. Control messages from the
// host ride the CTRL queue; replies come back on REPLY.
#pragma once

#include "sim/iss/ports.h"
#include "sim/nic/config.h"
#include "sim/nic/packet_log.h"

#include <systemc>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <vector>

namespace npu::nic {

class CoreModule;

struct DispatchStats {
  uint64_t max_rx_queue = 0;  // frames waiting for a thread
  uint64_t held = 0;          // atomic mode: frames held behind their flow
  uint64_t max_frames_used = 0;
};

class Dispatcher : public sc_core::sc_module {
 public:
  Dispatcher(sc_core::sc_module_name name, const NicConfig& cfg, PacketLog& log);
  ~Dispatcher() override;
  SC_HAS_PROCESS(Dispatcher);

  void attach(std::vector<CoreModule*> cores) { cores_ = std::move(cores); }
  // The queue port core `core` uses.
  iss::QueuePort& port(unsigned core);
  // Called with (packet index, descriptor address, cycle) when a thread gives a verdict.
  std::function<void(uint64_t, uint64_t, uint64_t)> on_verdict;

  // Packet buffer frames. alloc at time at_ps, or false when none is free.
  bool alloc(uint64_t at_ps, uint64_t index, uint64_t* frame_addr);
  // The frame is free again from at_ps on (when its last byte has left).
  void release(uint64_t frame_addr, uint64_t at_ps);
  uint64_t frames_in_use() const { return cfg_.buffer_frames - free_.size(); }

  // A received frame's descriptor is written; threads may take it from ready_ps on.
  void enqueue(uint64_t frame_addr, uint64_t index, uint32_t domain, uint64_t ready_ps);
  // A packet of domain had its verdict at at_ps (atomic mode releases the
  // next one of the domain then, not earlier).
  void finished(uint32_t domain, uint64_t at_ps);

  // The host's end: pushes CTRL, and RX for a frame it wrote itself (as
  // Device::run_xdp does); pops REPLY, and TX for those frames.
  void host_push(uint32_t queue, uint64_t value);
  bool host_pop(uint32_t mask, uint64_t* value);

  const DispatchStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

 private:
  class Port;
  struct Pending {
    uint64_t ready_ps, frame, index;
    uint32_t domain;
    bool cleared = false;  // atomic mode: its turn in the domain has come
    // Ties in arrival order: a flow's packets must not pass each other.
    bool operator>(const Pending& o) const {
      return ready_ps != o.ready_ps ? ready_ps > o.ready_ps : index > o.index;
    }
  };
  bool pop(unsigned core, uint32_t mask, uint64_t* value, uint64_t cycle);
  bool ready(uint32_t mask) const;
  void push(unsigned core, uint32_t queue, uint64_t value, uint64_t cycle);
  void admit();          // moves pending frames whose time has come into the RX queue
  void deliver_ctrl();   // control messages that have crossed PCIe into the CTRL queue
  void deliver_reply();  // replies that have crossed back into the host's queue
  void to_rx(const Pending& p);
  void wake_one();

  const NicConfig& cfg_;
  PacketLog& log_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<CoreModule*> cores_;
  std::vector<uint64_t> free_;  // frame addresses
  std::priority_queue<std::pair<uint64_t, uint64_t>, std::vector<std::pair<uint64_t, uint64_t>>,
                      std::greater<>>
      releasing_;               // (at_ps, frame)
  std::vector<int64_t> owner_;  // packet index per frame slot, -1 = host's
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  sc_core::sc_event_queue admit_ev_;
  sc_core::sc_event_queue ctrl_ev_;
  std::deque<std::pair<uint64_t, uint64_t>> ctrl_pending_;  // (ready_ps, entry)
  sc_core::sc_event_queue reply_ev_;
  std::deque<std::pair<uint64_t, uint64_t>> reply_pending_;  // (ready_ps, entry)
  std::deque<uint64_t> rx_, ctrl_, reply_, tx_host_;
  // Atomic mode: frames in flight per domain and those held behind them.
  std::vector<uint32_t> busy_;
  std::vector<std::deque<Pending>> held_;
  unsigned next_wake_ = 0;
  DispatchStats stats_;
};

}  // namespace npu::nic
