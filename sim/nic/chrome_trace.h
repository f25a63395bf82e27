// A streaming writer of the Chrome Trace Event Format (the JSON object form,
// {"displayTimeUnit":"ns","traceEvents":[...]}), viewable in Perfetto
// (ui.perfetto.dev) and chrome://tracing.
//
// Events go to the file as they are emitted, one per line, so a run of
// millions of events holds none of them in memory; the file is valid JSON once
// close() returns. Times are given in nanoseconds and written in microseconds,
// the format's unit whatever displayTimeUnit says, as exact decimals
// (1234567 ns -> 1234.567): no rounding, no exponent, no locale.
//
// Ids: Perfetto takes tids to be system-wide, as Linux does, and has mixed up
// tid 0 with others; give each thread its own tid >= 1 even across pids (e.g.
// core * 16 + thread + 1) and use pids >= 1.
//
// Not thread-safe: one writer per simulation thread (SystemC runs in one).
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace npu::nic {

// One "args" entry: a key and a string, integer, floating-point or boolean
// value. It views its key and string value without copying, so build it in
// the call that writes the event (temporaries live until the call returns).
class TraceArg {
 public:
  enum class Kind : uint8_t { kString, kInt, kUint, kDouble, kBool };

  TraceArg(std::string_view key, std::string_view v) : key_(key), kind_(Kind::kString), s_(v) {}
  // Without this, a string literal would convert to bool before string_view.
  TraceArg(std::string_view key, const char* v) : TraceArg(key, std::string_view(v)) {}
  TraceArg(std::string_view key, double v) : key_(key), kind_(Kind::kDouble), d_(v) {}
  TraceArg(std::string_view key, bool v) : key_(key), kind_(Kind::kBool), u_(v) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TraceArg(std::string_view key, T v) : key_(key) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      i_ = v;
    } else {
      kind_ = Kind::kUint;
      u_ = v;
    }
  }

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view str() const { return s_; }
  int64_t i64() const { return i_; }
  uint64_t u64() const { return u_; }
  double f64() const { return d_; }
  bool boolean() const { return u_ != 0; }

 private:
  std::string_view key_;
  Kind kind_ = Kind::kString;
  std::string_view s_;
  int64_t i_ = 0;
  uint64_t u_ = 0;
  double d_ = 0;
};

// The args of one event, as a view: pass {{"len", 64}, {"verdict", "XDP_TX"}}
// (no allocation) or a std::vector<TraceArg>.
class TraceArgs {
 public:
  TraceArgs() = default;
  TraceArgs(std::initializer_list<TraceArg> args) : list_(args) {}
  TraceArgs(const std::vector<TraceArg>& args) : vector_(&args) {}

  const TraceArg* begin() const { return vector_ ? vector_->data() : list_.begin(); }
  const TraceArg* end() const { return begin() + size(); }
  size_t size() const { return vector_ ? vector_->size() : list_.size(); }
  bool empty() const { return size() == 0; }

 private:
  std::initializer_list<TraceArg> list_;
  const std::vector<TraceArg>* vector_ = nullptr;
};

// One series of a counter event; any arithmetic value (integers would not
// brace-convert to double).
struct TraceCounterValue {
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  TraceCounterValue(std::string_view s, T v) : series(s), value(double(v)) {}

  std::string_view series;
  double value;
};

// Links slices on different threads into one chain of arrows ("flow v2": the
// ids ride on the slices themselves, so each arrow binds to exactly the slice
// given, which the s/t/f flow events cannot promise for slices sharing a
// timestamp). For a packet: start() on its RX slice, step() on each slice that
// handles it, end() on its TX slice, all with the packet's id.
struct TraceFlow {
  uint64_t id = 0;
  bool in = false;   // an arrow from the previous slice with this id ends here
  bool out = false;  // an arrow to the next slice with this id starts here

  static TraceFlow start(uint64_t id) { return {id, false, true}; }
  static TraceFlow step(uint64_t id) { return {id, true, true}; }
  static TraceFlow end(uint64_t id) { return {id, true, false}; }
  bool any() const { return in || out; }
};

// Where an instant event is drawn: on its thread, across its process, or
// across the whole trace.
enum class TraceScope : uint8_t { kThread, kProcess, kGlobal };

class ChromeTrace {
 public:
  static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

  // Creates (truncates) path and writes the header. Throws std::runtime_error
  // "<path>: <reason>" when it cannot be opened. Beyond max_events timeline
  // events (everything but the metadata of names and sort order), events are
  // counted but not written, so a long run cannot fill the disk.
  explicit ChromeTrace(const std::string& path, uint64_t max_events = kUnlimited);
  // Closes quietly; call close() to hear about write errors.
  ~ChromeTrace();
  ChromeTrace(const ChromeTrace&) = delete;
  ChromeTrace& operator=(const ChromeTrace&) = delete;

  // Metadata ("M"): names and display order of processes and threads. Perfetto
  // reads the names only; chrome://tracing also honours the sort indexes.
  void process_name(uint32_t pid, std::string_view name);
  void process_sort_index(uint32_t pid, int64_t index);
  void thread_name(uint32_t pid, uint32_t tid, std::string_view name);
  void thread_sort_index(uint32_t pid, uint32_t tid, int64_t index);

  // A slice ("X") from ts_ns lasting dur_ns on thread tid of process pid. An
  // empty category is left out.
  void complete(uint32_t pid, uint32_t tid, std::string_view name, std::string_view category,
                uint64_t ts_ns, uint64_t dur_ns, TraceArgs args = {}, TraceFlow flow = {});
  // A point in time ("i").
  void instant(uint32_t pid, uint32_t tid, std::string_view name, std::string_view category,
               uint64_t ts_ns, TraceScope scope = TraceScope::kThread, TraceArgs args = {});
  // Counter samples ("C"): one track per series, named "<name> <series>" in
  // Perfetto, stacked in chrome://tracing. Non-finite values are written as
  // null, which the viewers skip.
  void counter(uint32_t pid, std::string_view name, uint64_t ts_ns,
               std::initializer_list<TraceCounterValue> values);
  void counter(uint32_t pid, std::string_view name, uint64_t ts_ns, double value) {
    counter(pid, name, ts_ns, {{"value", value}});
  }
  // An async slice ("b"/"e") on its own track of process pid, e.g. a packet's
  // life from RX to TX; begin and end match by category, name and id.
  void async_begin(uint32_t pid, std::string_view name, std::string_view category, uint64_t id,
                   uint64_t ts_ns, TraceArgs args = {});
  void async_end(uint32_t pid, std::string_view name, std::string_view category, uint64_t id,
                 uint64_t ts_ns, TraceArgs args = {});

  // Ends the event array and closes the file; when events were dropped it
  // first notes how many in a "trace_dropped_events" metadata event and marks
  // the earliest dropped time with a global instant. Throws std::runtime_error
  // "<path>: <reason>" when anything failed to reach the file. Idempotent.
  void close();

  const std::string& path() const { return path_; }
  // Events written so far, metadata included.
  uint64_t events() const { return written_; }
  // Timeline events not written because of max_events.
  uint64_t dropped() const { return dropped_; }

 private:
  bool admit(uint32_t pid, uint64_t ts_ns);  // counts against max_events
  // "b" or "e": the two ends of an async slice.
  void async_event(char ph, uint32_t pid, std::string_view name, std::string_view category,
                   uint64_t id, uint64_t ts_ns, TraceArgs args);
  void begin_event(char ph, uint32_t pid);
  void end_event();
  void flush_buffer();
  void write_raw(std::string_view s);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buf_;  // events not yet handed to stdio, written in large chunks
  uint64_t max_events_;
  uint64_t timeline_ = 0;  // timeline events written
  uint64_t written_ = 0;
  uint64_t dropped_ = 0;
  uint64_t earliest_dropped_ts_ = std::numeric_limits<uint64_t>::max();
  uint32_t dropped_pid_ = 0;  // where the drop notes go: a process the trace has
  int errno_ = 0;             // the first write error, reported by close()
};

// Appends s to out as the inside of a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 bytes replaced by U+FFFD (a JSON
// parser rejects them).
void append_json_escaped(std::string& out, std::string_view s);
// Appends ns nanoseconds as exact decimal microseconds: 1234567 -> "1234.567",
// 1500 -> "1.5", 2000 -> "2".
void append_trace_us(std::string& out, uint64_t ns);

}  // namespace npu::nic
