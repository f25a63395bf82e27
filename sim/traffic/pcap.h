// Packet capture files: the traffic the simulator and the kernel runs consume.
//
// Files are classic libpcap captures with nanosecond timestamps and Ethernet
// link type (DLT_EN10MB), the only kind an XDP program can be fed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// libpcap's handle types, kept out of this header so users need no pcap.h.
struct pcap;
struct pcap_dumper;

namespace traffic {

// One frame as it appears on the wire: Ethernet header first, no FCS.
struct Packet {
  std::vector<uint8_t> data;
  uint64_t ts_ns = 0;  // capture time, nanoseconds since the epoch (or since the run start)
};

// Every packet of an Ethernet capture (pcap or pcapng, any timestamp
// precision). Throws std::runtime_error "<path>: <reason>" for a missing,
// unreadable, truncated or non-Ethernet file, and for a packet the capture cut
// at its snap length (the program would see other bytes than the wire had).
std::vector<Packet> read_pcap(const std::string& path);

// Writes packets as a nanosecond pcap, snap length 65535, link type Ethernet.
// Throws std::runtime_error "<path>: <reason>" when the file cannot be written
// or a packet is longer than the snap length.
void write_pcap(const std::string& path, const std::vector<Packet>& packets);

// Streams packets into a capture file without holding them all in memory.
// close() reports write errors; the destructor closes quietly.
class PcapWriter {
 public:
  static constexpr uint32_t kSnapLen = 65535;

  explicit PcapWriter(const std::string& path);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  void write(const Packet& packet);
  void write(const uint8_t* data, size_t len, uint64_t ts_ns);
  // Flushes and closes; throws if anything failed to reach the file.
  void close();

  const std::string& path() const { return path_; }
  size_t count() const { return count_; }

 private:
  std::string path_;
  pcap* handle_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  size_t count_ = 0;
};

}  // namespace traffic
