// The host shim of `npu dev`: the host side of a simulated card, as a
// kernel driver would be. It owns the card's netdev (a TAP) and moves frames
// between it and the BAR's rings; it answers `npu dev` commands on a control
// socket that only root (and a named group) may use; it loads programs (the
// kernel verifies them too and gives them their id and tag; npucc compiles
// them; the card's loader takes the image) and keeps the card's maps
// mirrored in kernel maps pinned under bpffs. docs/shim.md.
#pragma once

#include <sys/types.h>

#include <string>

namespace npu::driver {

struct ShimOptions {
  std::string name;          // the card
  std::string run_dir;       // card_dir(name): ctl.sock, the BAR, logs
  std::string bar;           // the BAR file
  std::string netdev;        // the TAP's name
  std::string wire;          // the wire port's interface (shown by list)
  bool own_wire = false;     // the shim made the wire's veth pair and removes it
  std::string pin_dir;       // where map mirrors are pinned: /sys/fs/bpf/npu/<name>
  gid_t group = gid_t(-1);   // a group allowed besides root; -1 = root only
  unsigned mirror_ms = 100;  // the mirrors are refreshed at least this often
  int kick_dev = -1, kick_host = -1;
  int dev_pid = 0;    // the device process
  int ready_fd = -1;  // written once ("ok" or an error line) when serving
};

// Serves until `npu dev stop` or the device's failure; cleans up what it made.
int run_shim(const ShimOptions& opt);

}  // namespace npu::driver
