// The device process of `npu dev`: the NIC model (sim/nic) with the firmware
// booted on it, its wire port on a Linux interface, and the BAR it shares
// with the host shim (driver/bar.h). It serves, in one loop:
//   wire -> MAC -> program -> XDP_TX back to the wire, XDP_PASS to the host
//   ring, drops counted;
//   host ring -> wire (what the host stack sends out of the card's netdev);
//   control messages in the BAR: map operations through the firmware,
//   program load and unload, map dumps and device information.
// Map operations run in the same simulated time as the frames in flight, so
// host updates race the program's own as they would on a card. SystemC
// allows one simulation per process: run_card once. docs/card.md.
#pragma once

#include "sim/nic/config.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace npu::card {

struct CardOptions {
  std::string name;      // the card's name, for messages
  nic::NicConfig nic;    // the card
  std::string firmware;  // firmware image path
  std::string bar;       // the BAR file, made by the parent
  std::string wire;      // the wire port's interface
  int kick_dev = -1;     // doorbell fds (eventfds inherited from the parent)
  int kick_host = -1;
  size_t max_batch = 256;  // frames offered to the model at once
  // Cycles without a finished frame before the card counts as hung.
  uint64_t hang_cycles = 50'000'000;
};

// What the card's MAC is plugged into: a Linux interface (WirePort), or a
// test's queue of frames.
class WireIo {
 public:
  virtual ~WireIo() = default;
  virtual int fd() const = 0;  // readable when frames wait; -1 = never
  // Up to max frames waiting now, never blocking; refused ones counted.
  virtual std::vector<std::vector<uint8_t>> receive(size_t max, uint64_t* refused) = 0;
  virtual bool send(const uint8_t* frame, size_t len) = 0;
  virtual uint64_t overruns() = 0;  // frames lost before the card read them
};

// The card on a BAR the caller made, set up and ready (NPU_REG_MAGIC set).
// step() is one turn of the device loop: host frames to the wire, a batch of
// wire frames offered, one control request answered while they are in
// flight, the batch run until every frame has left. Throws on a hung card.
class Card {
 public:
  Card(const CardOptions& opt, WireIo& wire);
  ~Card();
  Card(const Card&) = delete;
  Card& operator=(const Card&) = delete;
  void step();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs until the host sets NPU_STATUS_STOPPING (returns 0) or the card fails
// (NPU_STATUS_FAILED, one line on stderr, returns 1).
int run_card(const CardOptions& opt);

}  // namespace npu::card
