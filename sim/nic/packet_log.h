// What happened to each packet the card received, by its index in the
// offered traffic: when it arrived, which thread ran it and when, its verdict
// and where it went. The report and the trace are made from it.
#pragma once

#include <cstdint>
#include <vector>

namespace npu::nic {

enum class Fate : uint8_t {
  kPending,       // still on the card
  kTx,            // transmitted on the line (XDP_TX)
  kHost,          // DMAed to the host (XDP_PASS)
  kRedirect,      // left through the redirect port (XDP_REDIRECT)
  kDropped,       // the program's verdict: XDP_DROP, XDP_ABORTED, a fault, no program
  kNoBuffer,      // dropped on receive: no free frame in the packet buffer
  kTooLong,       // dropped on receive: longer than a frame's data room (jumbo)
  kRunt,          // dropped on receive: shorter than an Ethernet header (14 bytes)
  kTxFull,        // dropped: the transmit FIFO was full
  kHostFull,      // dropped: the host DMA queue was full
  kRedirectFull,  // dropped: the redirect FIFO was full
  kCount
};
const char* fate_name(Fate f);
// Dropped by the card, not by the program: the program never gave a verdict.
inline bool nic_drop(Fate f) {
  return f == Fate::kNoBuffer || f == Fate::kTooLong || f == Fate::kRunt || f == Fate::kTxFull ||
         f == Fate::kHostFull || f == Fate::kRedirectFull;
}
// Dropped for lack of capacity (a buffer or queue was full): the card did not keep up.
inline bool capacity_drop(Fate f) {
  return f == Fate::kNoBuffer || f == Fate::kTxFull || f == Fate::kHostFull ||
         f == Fate::kRedirectFull;
}

struct PacketRecord {
  uint64_t arrive_ps = 0;                   // last bit received by the MAC
  uint64_t start_cycle = 0, end_cycle = 0;  // a thread took it / gave its verdict
  uint64_t done_ps = 0;                     // last bit sent, DMA complete, or the verdict (drops)
  uint32_t core = 0, thread = 0;
  uint32_t domain = 0;  // ordering domain (flow hash)
  uint64_t seq = 0;     // place in its domain, in arrival order
  uint32_t status = 0;  // the descriptor's verdict word (NPU_VERDICT_*)
  uint32_t target = 0;  // redirect target
  uint32_t len = 0;     // frame bytes without FCS
  Fate fate = Fate::kPending;
};

using PacketLog = std::vector<PacketRecord>;

}  // namespace npu::nic
