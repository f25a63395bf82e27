#include "driver/bar.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace npu::driver {
namespace {

std::runtime_error sys_error(const std::string& path, const char* what) {
  return std::runtime_error(fmt::format("{}: {}: {}", path, what, std::strerror(errno)));
}

uint8_t* map_file(int fd, const std::string& path) {
  void* p = mmap(nullptr, NPU_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw sys_error(path, "cannot map");
  return static_cast<uint8_t*>(p);
}

}  // namespace

Bar Bar::create(const std::string& path, mode_t mode, gid_t gid) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw sys_error(path, "cannot create");
  // The umask must not widen or narrow what the caller asked for.
  if (fchmod(fd, mode) != 0 || (gid != gid_t(-1) && fchown(fd, 0, gid) != 0) ||
      ftruncate(fd, NPU_BAR_SIZE) != 0) {
    std::runtime_error e = sys_error(path, "cannot set up");
    ::close(fd);
    throw e;
  }
  Bar b;
  b.base_ = map_file(fd, path);
  ::close(fd);
  return b;
}

Bar Bar::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw sys_error(path, "cannot open");
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size != NPU_BAR_SIZE) {
    ::close(fd);
    throw std::runtime_error(path + ": not a card's BAR (wrong size)");
  }
  Bar b;
  b.base_ = map_file(fd, path);
  ::close(fd);
  return b;
}

Bar::Bar(Bar&& o) noexcept : base_(o.base_) {
  o.base_ = nullptr;
}

Bar& Bar::operator=(Bar&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, NPU_BAR_SIZE);
    base_ = o.base_;
    o.base_ = nullptr;
  }
  return *this;
}

Bar::~Bar() {
  if (base_) munmap(base_, NPU_BAR_SIZE);
}

uint32_t Bar::reg32(uint32_t off) const {
  return __atomic_load_n(reinterpret_cast<uint32_t*>(base_ + off), __ATOMIC_ACQUIRE);
}
void Bar::set_reg32(uint32_t off, uint32_t v) {
  __atomic_store_n(reinterpret_cast<uint32_t*>(base_ + off), v, __ATOMIC_RELEASE);
}
uint64_t Bar::reg64(uint32_t off) const {
  return __atomic_load_n(reinterpret_cast<uint64_t*>(base_ + off), __ATOMIC_ACQUIRE);
}
void Bar::set_reg64(uint32_t off, uint64_t v) {
  __atomic_store_n(reinterpret_cast<uint64_t*>(base_ + off), v, __ATOMIC_RELEASE);
}
void Bar::or_reg32(uint32_t off, uint32_t bits) {
  __atomic_fetch_or(reinterpret_cast<uint32_t*>(base_ + off), bits, __ATOMIC_ACQ_REL);
}
void Bar::add_stat(unsigned s, uint64_t n) {
  __atomic_fetch_add(reinterpret_cast<uint64_t*>(base_ + NPU_REG_STATS + 8 * s), n,
                     __ATOMIC_RELAXED);
}

npu_ring_regs* Bar::ring(unsigned r) const {
  return reinterpret_cast<npu_ring_regs*>(base_ + NPU_REG_RINGS + r * NPU_RING_REGS_SIZE);
}

void Bar::init_rings() {
  for (unsigned r = 0; r < NPU_NUM_RINGS; ++r) {
    npu_ring_regs* q = ring(r);
    q->offset = NPU_BAR_RINGS + r * NPU_RING_SLOTS * NPU_RING_SLOT_SIZE;
    q->slots = NPU_RING_SLOTS;
    q->slot_size = NPU_RING_SLOT_SIZE;
    q->head = q->tail = 0;
  }
}

// Where ring r's slots are comes from the ABI's constants, never from the
// shared registers: the other side (or anyone who can write the file) must
// not be able to point a root process's copies outside the BAR.
uint8_t* Bar::slot(unsigned r, uint32_t index) const {
  return base_ + NPU_BAR_RINGS +
         (size_t(r) * NPU_RING_SLOTS + index % NPU_RING_SLOTS) * NPU_RING_SLOT_SIZE;
}

uint32_t Bar::pending(unsigned r) const {
  npu_ring_regs* q = ring(r);
  const uint32_t n =
      __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
  return std::min<uint32_t>(n, NPU_RING_SLOTS);
}

bool Bar::push(unsigned r, const uint8_t* frame, size_t len, uint32_t status, uint64_t cycles) {
  if (r >= NPU_NUM_RINGS || len > NPU_RING_MAX_FRAME) return false;
  npu_ring_regs* q = ring(r);
  const uint32_t head = __atomic_load_n(&q->head, __ATOMIC_RELAXED);  // ours: no other writer
  if (head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) >= NPU_RING_SLOTS) return false;
  uint8_t* s = slot(r, head);
  npu_ring_desc d{uint32_t(len), status, cycles};
  std::memcpy(s, &d, sizeof d);
  std::memcpy(s + NPU_RING_DESC_SIZE, frame, len);
  __atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
  return true;
}

bool Bar::pop(unsigned r, std::vector<uint8_t>* frame, npu_ring_desc* desc) {
  if (r >= NPU_NUM_RINGS) return false;
  npu_ring_regs* q = ring(r);
  const uint32_t tail = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);  // ours: no other writer
  if (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == tail) return false;
  const uint8_t* s = slot(r, tail);
  npu_ring_desc d;
  std::memcpy(&d, s, sizeof d);
  // The other side is trusted no more than a device: a bad length is clipped.
  const size_t len = std::min<size_t>(d.len, NPU_RING_MAX_FRAME);
  frame->assign(s + NPU_RING_DESC_SIZE, s + NPU_RING_DESC_SIZE + len);
  if (desc) *desc = d;
  __atomic_store_n(&q->tail, tail + 1, __ATOMIC_RELEASE);
  return true;
}

Doorbell::Doorbell() : fd_(eventfd(0, EFD_NONBLOCK)) {
  if (fd_ < 0) throw std::runtime_error(fmt::format("eventfd: {}", std::strerror(errno)));
}

Doorbell::~Doorbell() {
  if (fd_ >= 0) ::close(fd_);
}

void Doorbell::kick() const {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

void Doorbell::drain() const {
  uint64_t v;
  while (::read(fd_, &v, sizeof v) == ssize_t(sizeof v)) {
  }
}

}  // namespace npu::driver
