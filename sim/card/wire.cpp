#include "sim/card/wire.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace npu::card {
namespace {

// linux/virtio_net.h's header, which C++ cannot include (a member named
// `class`): what PACKET_VNET_HDR puts before every frame.
struct virtio_net_hdr {
  uint8_t flags, gso_type;
  uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10, "virtio_net_hdr layout");
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;

constexpr size_t kMaxFrame = 65536 + sizeof(virtio_net_hdr);
constexpr unsigned kBurst = 32;

}  // namespace

bool complete_checksum(std::vector<uint8_t>& f, size_t start, size_t offset) {
  if (start >= f.size() || start + offset + 2 > f.size()) return false;
  uint32_t sum = 0;
  for (size_t i = start; i + 1 < f.size(); i += 2) sum += uint32_t(f[i]) << 8 | f[i + 1];
  if ((f.size() - start) % 2) sum += uint32_t(f.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = uint16_t(~sum);
  if (c == 0) c = 0xffff;  // the same value in ones' complement; UDP reserves 0 for "none"
  f[start + offset] = uint8_t(c >> 8);
  f[start + offset + 1] = uint8_t(c);
  return true;
}

WirePort::WirePort(const std::string& ifname) : name_(ifname) {
  ifindex_ = if_nametoindex(ifname.c_str());
  if (!ifindex_) throw std::runtime_error(fmt::format("wire {}: no such interface", ifname));
  // Protocol 0: nothing is queued until the options are set and the socket
  // is bound to the wire (bind names the protocol).
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error(
        fmt::format("wire {}: packet socket: {}", ifname, std::strerror(errno)));
  int one = 1;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = int(ifindex_);
  packet_mreq mr{};
  mr.mr_ifindex = int(ifindex_);
  mr.mr_type = PACKET_MR_PROMISC;
  // Our own transmissions must not come back as received frames.
  if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
      setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0 ||
      bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0 ||
      setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error(fmt::format("wire {}: {}", ifname, why));
  }
  // A burst on the wire waits here while the model runs the previous one;
  // root may go past the default limit.
  int bytes = 16 << 20;
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

uint64_t WirePort::overruns() {
  tpacket_stats st{};
  socklen_t len = sizeof st;
  // Reading the statistics resets them.
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) return 0;
  return st.tp_drops;
}

WirePort::~WirePort() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<std::vector<uint8_t>> WirePort::receive(size_t max, uint64_t* refused) {
  std::vector<std::vector<uint8_t>> out;
  if (bufs_.empty()) bufs_.resize(kBurst * kMaxFrame);
  mmsghdr msgs[kBurst];
  iovec iovs[kBurst];
  // Up to kBurst frames a system call.
  while (out.size() < max) {
    const unsigned want = unsigned(std::min<size_t>(kBurst, max - out.size()));
    for (unsigned i = 0; i < want; ++i) {
      iovs[i] = {bufs_.data() + size_t(i) * kMaxFrame, kMaxFrame};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = recvmmsg(fd_, msgs, want, MSG_DONTWAIT, nullptr);
    if (got <= 0) break;
    for (int i = 0; i < got; ++i) {
      const uint8_t* b = bufs_.data() + size_t(i) * kMaxFrame;
      const size_t n = msgs[i].msg_len;
      virtio_net_hdr vh{};
      if (n < sizeof vh || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        ++*refused;
        continue;
      }
      std::memcpy(&vh, b, sizeof vh);
      std::vector<uint8_t> f(b + sizeof vh, b + n);
      if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
          ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
           !complete_checksum(f, vh.csum_start, vh.csum_offset))) {
        ++*refused;
        continue;
      }
      out.push_back(std::move(f));
    }
    if (unsigned(got) < want) break;
  }
  return out;
}

bool WirePort::send(const uint8_t* frame, size_t len) {
  virtio_net_hdr vh{};
  iovec iov[2] = {{&vh, sizeof vh}, {const_cast<uint8_t*>(frame), len}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  return sendmsg(fd_, &m, MSG_DONTWAIT) == ssize_t(sizeof vh + len);
}

}  // namespace npu::card
