#include "sim/nic/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace npu::nic {
namespace {

constexpr int kMaxBar = 30;
constexpr int kMinBar = 5;  // narrower than this, the bar says nothing

// 3 significant figures with a k/M/G/T suffix: 12.3, 1.23k, 45.6M.
std::string human(double v) {
  static const char* const kSuffix[] = {"", "k", "M", "G", "T"};
  int s = 0;
  while (v >= 999.5 && s < 4) {
    v /= 1000;
    ++s;
  }
  int decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
  return fmt::format("{:.{}f}{}", v, decimals, kSuffix[s]);
}

std::string clock_time(double seconds) {
  if (!(seconds < 1e9)) return "--:--";  // decades: as good as unknown, and llround-safe
  auto s = uint64_t(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

int terminal_columns(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

Progress::Progress(uint64_t total, std::string label, std::FILE* out)
    : total_(total),
      label_(std::move(label)),
      out_(out),
      enabled_(out && isatty(fileno(out))),
      start_(now()) {}

std::chrono::steady_clock::time_point Progress::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void Progress::set_enabled(bool on) {
  if (!on) clear();
  enabled_ = on && out_;
}

void Progress::set_clock(Clock clock) {
  clock_ = std::move(clock);
  start_ = now();
}

void Progress::update(uint64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  auto t = now();
  if (draws_ > 0 && t - last_draw_ < kInterval) return;
  last_draw_ = t;
  ++draws_;
  // \r and erase-to-end-of-line redraw in place; a line shorter than the
  // terminal never wraps, so \r always reaches its start.
  std::string s = "\r" + line(terminal_columns(out_)) + "\x1b[K";
  std::fwrite(s.data(), 1, s.size(), out_);
  std::fflush(out_);
  drawn_ = true;
}

void Progress::clear() {
  if (enabled_ && drawn_) {
    std::fputs("\r\x1b[K", out_);
    std::fflush(out_);
  }
  drawn_ = false;
}

void Progress::finish() {
  clear();
  finished_ = true;
}

std::string Progress::line(int cols) const {
  double elapsed = std::chrono::duration<double>(now() - start_).count();
  double rate = elapsed > 0 ? double(done_) / elapsed : 0;
  std::string rate_s = elapsed > 0 ? human(rate) + "/s" : "-/s";

  std::string head = label_;
  std::string tail;
  double frac = 0;
  if (total_ > 0) {
    frac = std::min(1.0, double(done_) / double(total_));
    head += fmt::format(" {:3}%", int(frac * 100));
    std::string eta = done_ >= total_ ? "0:00"
                      : rate > 0      ? clock_time(double(total_ - done_) / rate)
                                      : "--:--";
    tail = fmt::format(" {}/{} {} ETA {}", done_, total_, rate_s, eta);
  } else {
    tail = fmt::format(" {} {}", done_, rate_s);
  }

  // Columns left for " [bar]" once the text fits, keeping the last column free.
  int room = cols - 1 - int(head.size() + tail.size()) - 3;
  std::string s = head;
  if (total_ > 0 && room >= kMinBar) {
    int width = std::min(room, kMaxBar);
    int fill = int(frac * width);
    s += " [" + std::string(size_t(fill), '#') + std::string(size_t(width - fill), '-') + "]";
  }
  s += tail;
  if (cols > 1 && s.size() > size_t(cols - 1)) s.resize(size_t(cols - 1));
  return s;
}

}  // namespace npu::nic
