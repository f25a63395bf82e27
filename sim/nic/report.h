// The run's figures, from the packet log and the blocks' counters: offered
// and achieved rates, latency percentiles, per-core utilisation and stall
// causes, engine and memory utilisation and queueing, drops by cause, and the
// bottleneck by name when line rate is not reached. stats.json is this JSON;
// the terminal report is made from it.
#pragma once

#include "sim/nic/nic.h"

#include <nlohmann/json.hpp>

#include <string>

namespace npu::nic {

// After Nic::run has drained the offered traffic.
nlohmann::json make_stats(Nic& nic, const std::string& program);
// A short human report of make_stats' JSON.
std::string format_report(const nlohmann::json& stats);

}  // namespace npu::nic
