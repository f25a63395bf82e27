// The card's wire port: the Ethernet link the MAC sits on, here a Linux
// interface (one end of a veth pair, or a TAP) opened as a packet socket.
// Frames from the peer arrive as they would on a cable: a checksum the peer's
// stack left to offload is completed here, and offload super-frames (GSO),
// which no cable carries, are refused and counted.
#pragma once

#include "sim/card/card.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace npu::card {

class WirePort : public WireIo {
 public:
  // Opens ifname; throws std::runtime_error naming it on failure.
  explicit WirePort(const std::string& ifname);
  ~WirePort() override;
  WirePort(const WirePort&) = delete;
  WirePort& operator=(const WirePort&) = delete;

  int fd() const override { return fd_; }
  uint32_t ifindex() const { return ifindex_; }
  const std::string& name() const { return name_; }
  // Up to max frames waiting now (never blocks); refused frames are counted
  // in *refused.
  std::vector<std::vector<uint8_t>> receive(size_t max, uint64_t* refused) override;
  // Frames the kernel dropped since the last call because the card did not
  // read them in time (the socket's receive buffer was full).
  uint64_t overruns() override;
  // False when the kernel did not take the frame.
  bool send(const uint8_t* frame, size_t len) override;

 private:
  std::string name_;
  std::vector<uint8_t> bufs_;  // receive buffers, one frame each
  int fd_ = -1;
  uint32_t ifindex_ = 0;
};

// Completes a partial checksum as virtio's NEEDS_CSUM asks: the ones'
// complement sum of frame[start..] stored at start + offset. False when the
// offsets lie outside the frame.
bool complete_checksum(std::vector<uint8_t>& frame, size_t start, size_t offset);

}  // namespace npu::card
