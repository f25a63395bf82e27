#include "driver/dev_socket.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace npu::driver {
namespace {

bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n) {
    ssize_t w = ::send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= size_t(w);
  }
  return true;
}

bool read_all(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n) {
    ssize_t r = ::recv(fd, c, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= size_t(r);
  }
  return true;
}

}  // namespace

std::string run_root() {
  const char* e = std::getenv("NPU_RUN_DIR");
  return e && *e ? e : "/run/npu";
}

std::string card_dir(const std::string& name) {
  return run_root() + "/" + name;
}

std::vector<std::string> card_names() {
  std::vector<std::string> out;
  std::error_code ec;
  // A card directory we may not look into is listed: talking to it says why.
  for (const auto& e : std::filesystem::directory_iterator(run_root(), ec)) {
    std::error_code ec2;
    if (e.is_directory(ec2) && (std::filesystem::exists(e.path() / "ctl.sock", ec2) ||
                                ec2 == std::errc::permission_denied))
      out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool process_alive(int pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

bool valid_card_name(const std::string& n) {
  if (n.empty() || n.size() > 12) return false;  // room for the wire's suffix in IFNAMSIZ
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool send_msg(int fd, const nlohmann::json& j) {
  // Names and messages come from ELF files and may not be UTF-8.
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  uint32_t n = uint32_t(s.size());
  return write_all(fd, &n, sizeof n) && write_all(fd, s.data(), s.size());
}

bool recv_msg(int fd, nlohmann::json* j, size_t max_bytes) {
  uint32_t n = 0;
  if (!read_all(fd, &n, sizeof n) || n > max_bytes) return false;
  std::string s(n, '\0');
  if (!read_all(fd, s.data(), n)) return false;
  *j = nlohmann::json::parse(s, nullptr, false);
  return !j->is_discarded();
}

nlohmann::json dev_call(const std::string& name, const nlohmann::json& req) {
  const std::string path = card_dir(name) + "/ctl.sock";
  std::error_code ec;
  if (valid_card_name(name) && !std::filesystem::exists(path, ec) &&
      ec == std::errc::permission_denied)
    throw std::runtime_error(fmt::format(
        "{}: permission denied: the card belongs to root (and the group it was started with)",
        name));
  if (!valid_card_name(name) || !std::filesystem::exists(path, ec))
    throw std::runtime_error(
        fmt::format("{}: no such npu card (npu dev list shows the cards)", name));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    if (err == EACCES)
      throw std::runtime_error(fmt::format(
          "{}: permission denied: the card belongs to root (and the group it was started with)",
          name));
    throw std::runtime_error(
        fmt::format("{}: cannot reach the card's shim: {}", name, std::strerror(err)));
  }
  nlohmann::json reply;
  bool ok = send_msg(fd, req) && recv_msg(fd, &reply);
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("{}: the card's shim did not answer", name));
  return reply;
}

}  // namespace npu::driver
