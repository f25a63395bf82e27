// Which flow a frame belongs to, for ordering and atomic dispatch: a hash of
// the fields FlowKey names, read from Ethernet (with up to two VLAN tags),
// IPv4 (ports only for first fragments) and IPv6 (ports after the fixed header
// when it carries TCP, UDP or SCTP). Frames without an IP header hash by their
// MAC addresses and ethertype, so that they are ordered too.
#pragma once

#include "sim/nic/config.h"

#include <cstddef>
#include <cstdint>

namespace npu::nic {

uint32_t flow_hash(const uint8_t* frame, size_t len, FlowKey key);

}  // namespace npu::nic
