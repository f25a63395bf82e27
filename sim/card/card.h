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

#include <cstdint>
#include <string>

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

// Runs until the host sets NPU_STATUS_STOPPING (returns 0) or the card fails
// (NPU_STATUS_FAILED, one line on stderr, returns 1).
int run_card(const CardOptions& opt);

}  // namespace npu::card
