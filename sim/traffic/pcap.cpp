#include "sim/traffic/pcap.h"

#include <fmt/format.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace traffic {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000ull;

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

// libpcap messages are one line already; make sure of it so errors stay one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw std::runtime_error(fmt::format("{}: {}", path, one_line(reason)));
}

}  // namespace

std::vector<Packet> read_pcap(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> p(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err));
  if (!p) fail(path, err[0] ? err : "cannot open capture");
  int link = pcap_datalink(p.get());
  if (link != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(link);
    fail(path, fmt::format("link type {} ({}) is not Ethernet", link, name ? name : "unknown"));
  }
  std::vector<Packet> out;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p.get(), &h, &d)) == 1) {
    // A packet cut by the snap length would reach the program shorter than it
    // was on the wire, so its verdict would mean nothing.
    if (h->caplen != h->len)
      fail(path, fmt::format("packet {} was captured cut to {} of its {} bytes", out.size(),
                             h->caplen, h->len));
    Packet pkt;
    pkt.data.assign(d, d + h->caplen);
    // Nanosecond precision was asked for, so tv_usec carries nanoseconds.
    pkt.ts_ns = uint64_t(h->ts.tv_sec) * kNsPerSec + uint64_t(h->ts.tv_usec);
    out.push_back(std::move(pkt));
  }
  // Offline captures end with PCAP_ERROR_BREAK; anything else is a bad file.
  if (rc != PCAP_ERROR_BREAK) fail(path, pcap_geterr(p.get()));
  return out;
}

void write_pcap(const std::string& path, const std::vector<Packet>& packets) {
  PcapWriter w(path);
  for (const Packet& pkt : packets) w.write(pkt);
  w.close();
}

PcapWriter::PcapWriter(const std::string& path) : path_(path) {
  handle_ =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, int(kSnapLen), PCAP_TSTAMP_PRECISION_NANO);
  if (!handle_) fail(path_, "libpcap could not create a capture handle");
  dumper_ = pcap_dump_open(handle_, path_.c_str());
  if (!dumper_) {
    std::string reason = pcap_geterr(handle_);
    pcap_close(handle_);
    handle_ = nullptr;
    fail(path_, reason);
  }
}

PcapWriter::~PcapWriter() {
  if (dumper_) pcap_dump_close(dumper_);
  if (handle_) pcap_close(handle_);
}

void PcapWriter::write(const Packet& packet) {
  write(packet.data.data(), packet.data.size(), packet.ts_ns);
}

void PcapWriter::write(const uint8_t* data, size_t len, uint64_t ts_ns) {
  if (!dumper_) fail(path_, "write after close");
  if (len > kSnapLen)
    fail(path_,
         fmt::format("packet {} is {} bytes, more than the snap length {}", count_, len, kSnapLen));
  // The file stores 32-bit seconds.
  if (ts_ns / kNsPerSec > 0xffffffffull)
    fail(path_, fmt::format("packet {} has a timestamp past the year 2106", count_));
  pcap_pkthdr h{};
  h.ts.tv_sec = time_t(ts_ns / kNsPerSec);
  h.ts.tv_usec = suseconds_t(ts_ns % kNsPerSec);  // nanoseconds, as the file's magic says
  h.caplen = h.len = uint32_t(len);
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, data);
  ++count_;
}

void PcapWriter::close() {
  if (!dumper_) return;
  bool bad = pcap_dump_flush(dumper_) != 0 || ferror(pcap_dump_file(dumper_));
  pcap_dump_close(dumper_);
  dumper_ = nullptr;
  pcap_close(handle_);
  handle_ = nullptr;
  if (bad) fail(path_, "write failed (disk full or I/O error)");
}

}  // namespace traffic
