// The card's netdev in the kernel: a TAP interface. What the card passes to
// the host is written into it (the kernel's stack receives it); what the
// stack sends out of it is read here and goes to the card's host ring.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace npu::driver {

class Tap {
 public:
  // Creates (or attaches to) TAP `name`, up. Throws std::runtime_error naming it.
  explicit Tap(const std::string& name);
  ~Tap();  // the interface goes away with the last fd, wherever it was moved
  Tap(const Tap&) = delete;
  Tap& operator=(const Tap&) = delete;

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  // The interface's index now (moving it to another namespace may change it).
  uint32_t ifindex() const { return ifindex_; }
  // One frame the stack sent, or false when none waits.
  bool read(std::vector<uint8_t>* frame);
  bool write(const uint8_t* p, size_t n);

 private:
  std::string name_;
  int fd_ = -1;
  uint32_t ifindex_ = 0;
};

}  // namespace npu::driver
