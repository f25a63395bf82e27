#include "driver/tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace npu::driver {

Tap::Tap(const std::string& name) : name_(name) {
  auto fail = [&](const char* what) {
    std::string why = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    return std::runtime_error(fmt::format("netdev {}: {}: {}", name, what, why));
  };
  fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw fail("cannot open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd_, TUNSETIFF, &ifr) != 0) throw fail("cannot create the TAP interface");
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw fail("socket");
  ifreq up{};
  std::strncpy(up.ifr_name, name.c_str(), IFNAMSIZ - 1);
  bool ok = ioctl(s, SIOCGIFFLAGS, &up) == 0;
  up.ifr_flags |= IFF_UP;
  ok = ok && ioctl(s, SIOCSIFFLAGS, &up) == 0;
  ::close(s);
  if (!ok) throw fail("cannot bring it up");
  ifindex_ = if_nametoindex(name.c_str());
}

Tap::~Tap() {
  if (fd_ >= 0) ::close(fd_);
}

bool Tap::read(std::vector<uint8_t>* frame) {
  frame->resize(65536);
  ssize_t n = ::read(fd_, frame->data(), frame->size());
  if (n <= 0) return false;
  frame->resize(size_t(n));
  return true;
}

bool Tap::write(const uint8_t* p, size_t n) {
  return ::write(fd_, p, n) == ssize_t(n);
}

}  // namespace npu::driver
