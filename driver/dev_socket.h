// The shim's control socket: where `npu dev` commands reach a card's host
// shim. Messages are JSON, each after a u32 length; one request, one reply.
// Cards live under NPU_RUN_DIR (/run/npu by default; tests may set the
// environment variable NPU_RUN_DIR to keep their cards apart).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace npu::driver {

std::string run_root();                         // /run/npu, or $NPU_RUN_DIR
std::string card_dir(const std::string& name);  // run_root()/name
std::vector<std::string> card_names();          // cards with a run directory

// Writes/reads one message; false on a closed or broken connection.
bool send_msg(int fd, const nlohmann::json& j);
bool recv_msg(int fd, nlohmann::json* j, size_t max_bytes = 256u << 20);

// Sends req to the card's shim and returns the reply. Throws
// std::runtime_error with one line: no such card, refused, or no answer.
nlohmann::json dev_call(const std::string& name, const nlohmann::json& req);

// True while pid runs: not gone and not a zombie (the card's processes are
// nobody's children once `npu dev start` returns, and init may be slow to reap).
bool process_alive(int pid);

// A name the kernel takes for a netdev and we take for a directory.
bool valid_card_name(const std::string& name);

}  // namespace npu::driver
