// A one-line terminal progress bar for long runs:
//   sim  42% [############----------------] 420/1000 1.23k/s ETA 0:05
// redrawn in place at most every 100 ms, whatever the update rate. It stays
// silent (writes nothing at all) unless its stream is a terminal or it was
// enabled explicitly, so logs and pipes never see control characters.
//
// Not thread-safe: update it from the thread that runs the simulation.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace npu::nic {

class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::milliseconds kInterval{100};

  // total 0 means unknown: the line then shows the count and rate only.
  // Enabled when out is a terminal (isatty), disabled for nullptr.
  Progress(uint64_t total, std::string label, std::FILE* out = stderr);
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Overrides the terminal check (e.g. --progress / --no-progress). Disabling
  // clears a line already drawn.
  void set_enabled(bool on);
  bool enabled() const { return enabled_; }
  // Replaces std::chrono::steady_clock (tests); the rate counts from its now().
  void set_clock(Clock clock);

  // Records done units of work and redraws if kInterval has passed since the
  // last draw (the first update always draws).
  void update(uint64_t done);
  void advance(uint64_t n = 1) { update(done_ + n); }
  // Clears the line if anything was drawn; later updates draw nothing.
  void finish();

  uint64_t done() const { return done_; }
  uint64_t total() const { return total_; }
  uint64_t draws() const { return draws_; }
  // The text of the bar as update() would draw it now in a terminal of cols
  // columns (no escape codes, at most cols - 1 characters so it never wraps).
  std::string line(int cols = 80) const;

 private:
  std::chrono::steady_clock::time_point now() const;
  void clear();

  uint64_t total_;
  std::string label_;
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;  // a line is on screen
  bool finished_ = false;
  Clock clock_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  uint64_t done_ = 0;
  uint64_t draws_ = 0;
};

}  // namespace npu::nic
