#include "sim/nic/chrome_trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace npu::nic {
namespace {

// Events collect in memory up to this size, then go to stdio in one write.
constexpr size_t kChunk = 1 << 20;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw std::runtime_error(fmt::format("{}: {}", path, reason));
}

// The length of the valid UTF-8 sequence at s[i], or 0 if there is none
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return uint8_t(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (byte(k) & 0xc0) == 0x80; };
  uint8_t b = byte(0);
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (b == 0xe0 && byte(1) < 0xa0) return 0;   // overlong
    if (b == 0xed && byte(1) >= 0xa0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (b == 0xf0 && byte(1) < 0x90) return 0;   // overlong
    if (b == 0xf4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

// fmt::format_int skips format-string parsing: most of an event is numbers.
void append_uint(std::string& out, uint64_t v) {
  fmt::format_int f(v);
  out.append(f.data(), f.size());
}

void append_int(std::string& out, int64_t v) {
  fmt::format_int f(v);
  out.append(f.data(), f.size());
}

// JSON has no NaN or infinity; null is the value viewers skip.
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  // fmt's shortest round-trip form is locale-independent ("1e+20" is valid JSON).
  char tmp[40];
  char* end = fmt::format_to(tmp, "{}", v);
  out.append(tmp, end);
}

// Ids as hex strings without "0x": Perfetto reads a string id as hex (its
// newer parser through std::from_chars, which refuses the prefix), and
// chrome://tracing keeps string ids past 2^53 exact.
void append_id(std::string& out, uint64_t id) {
  char tmp[18];
  char* p = tmp + sizeof tmp;
  *--p = '"';
  do {
    *--p = "0123456789abcdef"[id & 15];
    id >>= 4;
  } while (id);
  *--p = '"';
  out.append(p, tmp + sizeof tmp);
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    // Names are mostly plain ASCII: copy such runs whole.
    size_t run = i;
    while (run < s.size() && uint8_t(s[run]) >= 0x20 && uint8_t(s[run]) < 0x80 && s[run] != '"' &&
           s[run] != '\\')
      ++run;
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    uint8_t c = uint8_t(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_length(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += char(c);
        }
    }
    ++i;
  }
}

void append_trace_us(std::string& out, uint64_t ns) {
  append_uint(out, ns / 1000);
  unsigned frac = unsigned(ns % 1000);
  if (frac == 0) return;
  char digits[4] = {'.', char('0' + frac / 100), char('0' + frac / 10 % 10), char('0' + frac % 10)};
  size_t len = 4;
  while (digits[len - 1] == '0') --len;
  out.append(digits, len);
}

ChromeTrace::ChromeTrace(const std::string& path, uint64_t max_events)
    : path_(path), max_events_(max_events) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) fail(path_, fmt::format("cannot open for writing: {}", std::strerror(errno)));
  buf_.reserve(kChunk + 4096);
  // displayTimeUnit first, so a file cut short by a crash still says it.
  buf_ = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
}

ChromeTrace::~ChromeTrace() {
  try {
    close();
  } catch (...) {
  }
}

bool ChromeTrace::admit(uint32_t pid, uint64_t ts_ns) {
  if (!file_) fail(path_, "event after close");
  if (timeline_ < max_events_) {
    ++timeline_;
    return true;
  }
  if (dropped_++ == 0) dropped_pid_ = pid;
  earliest_dropped_ts_ = std::min(earliest_dropped_ts_, ts_ns);
  return false;
}

void ChromeTrace::begin_event(char ph, uint32_t pid) {
  if (!file_) fail(path_, "event after close");
  if (written_ > 0) buf_ += ",\n";
  buf_ += "{\"ph\":\"";
  buf_ += ph;
  buf_ += "\",\"pid\":";
  append_uint(buf_, pid);
}

void ChromeTrace::end_event() {
  buf_ += '}';
  ++written_;
  if (buf_.size() >= kChunk) flush_buffer();
}

void ChromeTrace::write_raw(std::string_view s) {
  if (errno_ || s.empty()) return;
  errno = 0;
  if (std::fwrite(s.data(), 1, s.size(), file_) != s.size()) errno_ = errno ? errno : EIO;
}

void ChromeTrace::flush_buffer() {
  write_raw(buf_);
  buf_.clear();
}

namespace {

void append_args(std::string& out, TraceArgs args) {
  if (args.empty()) return;
  out += ",\"args\":{";
  bool first = true;
  for (const TraceArg& a : args) {
    if (!first) out += ',';
    first = false;
    append_string(out, a.key());
    out += ':';
    switch (a.kind()) {
      case TraceArg::Kind::kString:
        append_string(out, a.str());
        break;
      case TraceArg::Kind::kInt:
        append_int(out, a.i64());
        break;
      case TraceArg::Kind::kUint:
        append_uint(out, a.u64());
        break;
      case TraceArg::Kind::kDouble:
        append_double(out, a.f64());
        break;
      case TraceArg::Kind::kBool:
        out += a.boolean() ? "true" : "false";
        break;
    }
  }
  out += '}';
}

void append_name_cat(std::string& out, std::string_view name, std::string_view category) {
  out += ",\"name\":";
  append_string(out, name);
  if (!category.empty()) {
    out += ",\"cat\":";
    append_string(out, category);
  }
}

}  // namespace

void ChromeTrace::process_name(uint32_t pid, std::string_view name) {
  begin_event('M', pid);
  buf_ += ",\"name\":\"process_name\",\"args\":{\"name\":";
  append_string(buf_, name);
  buf_ += '}';
  end_event();
}

void ChromeTrace::process_sort_index(uint32_t pid, int64_t index) {
  begin_event('M', pid);
  buf_ += ",\"name\":\"process_sort_index\",\"args\":{\"sort_index\":";
  append_int(buf_, index);
  buf_ += '}';
  end_event();
}

void ChromeTrace::thread_name(uint32_t pid, uint32_t tid, std::string_view name) {
  begin_event('M', pid);
  buf_ += ",\"tid\":";
  append_uint(buf_, tid);
  buf_ += ",\"name\":\"thread_name\",\"args\":{\"name\":";
  append_string(buf_, name);
  buf_ += '}';
  end_event();
}

void ChromeTrace::thread_sort_index(uint32_t pid, uint32_t tid, int64_t index) {
  begin_event('M', pid);
  buf_ += ",\"tid\":";
  append_uint(buf_, tid);
  buf_ += ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":";
  append_int(buf_, index);
  buf_ += '}';
  end_event();
}

void ChromeTrace::complete(uint32_t pid, uint32_t tid, std::string_view name,
                           std::string_view category, uint64_t ts_ns, uint64_t dur_ns,
                           TraceArgs args, TraceFlow flow) {
  if (!admit(pid, ts_ns)) return;
  begin_event('X', pid);
  buf_ += ",\"tid\":";
  append_uint(buf_, tid);
  buf_ += ",\"ts\":";
  append_trace_us(buf_, ts_ns);
  buf_ += ",\"dur\":";
  append_trace_us(buf_, dur_ns);
  append_name_cat(buf_, name, category);
  if (flow.any()) {
    buf_ += ",\"bind_id\":";
    append_id(buf_, flow.id);
    if (flow.in) buf_ += ",\"flow_in\":true";
    if (flow.out) buf_ += ",\"flow_out\":true";
  }
  append_args(buf_, args);
  end_event();
}

void ChromeTrace::instant(uint32_t pid, uint32_t tid, std::string_view name,
                          std::string_view category, uint64_t ts_ns, TraceScope scope,
                          TraceArgs args) {
  if (!admit(pid, ts_ns)) return;
  begin_event('i', pid);
  buf_ += ",\"tid\":";
  append_uint(buf_, tid);
  buf_ += ",\"ts\":";
  append_trace_us(buf_, ts_ns);
  append_name_cat(buf_, name, category);
  buf_ += scope == TraceScope::kGlobal    ? ",\"s\":\"g\""
          : scope == TraceScope::kProcess ? ",\"s\":\"p\""
                                          : ",\"s\":\"t\"";
  append_args(buf_, args);
  end_event();
}

void ChromeTrace::counter(uint32_t pid, std::string_view name, uint64_t ts_ns,
                          std::initializer_list<TraceCounterValue> values) {
  if (!admit(pid, ts_ns)) return;
  begin_event('C', pid);
  buf_ += ",\"ts\":";
  append_trace_us(buf_, ts_ns);
  buf_ += ",\"name\":";
  append_string(buf_, name);
  buf_ += ",\"args\":{";
  bool first = true;
  for (const TraceCounterValue& v : values) {
    if (!first) buf_ += ',';
    first = false;
    append_string(buf_, v.series);
    buf_ += ':';
    append_double(buf_, v.value);
  }
  buf_ += '}';
  end_event();
}

void ChromeTrace::async_begin(uint32_t pid, std::string_view name, std::string_view category,
                              uint64_t id, uint64_t ts_ns, TraceArgs args) {
  async_event('b', pid, name, category, id, ts_ns, args);
}

void ChromeTrace::async_end(uint32_t pid, std::string_view name, std::string_view category,
                            uint64_t id, uint64_t ts_ns, TraceArgs args) {
  async_event('e', pid, name, category, id, ts_ns, args);
}

void ChromeTrace::async_event(char ph, uint32_t pid, std::string_view name,
                              std::string_view category, uint64_t id, uint64_t ts_ns,
                              TraceArgs args) {
  if (!admit(pid, ts_ns)) return;
  begin_event(ph, pid);
  buf_ += ",\"ts\":";
  append_trace_us(buf_, ts_ns);
  append_name_cat(buf_, name, category);
  buf_ += ",\"id\":";
  append_id(buf_, id);
  append_args(buf_, args);
  end_event();
}

void ChromeTrace::close() {
  if (!file_) return;
  if (dropped_ > 0) {
    begin_event('M', dropped_pid_);
    buf_ += ",\"name\":\"trace_dropped_events\",\"args\":{\"dropped\":";
    append_uint(buf_, dropped_);
    buf_ += ",\"max_events\":";
    append_uint(buf_, max_events_);
    buf_ += "}";
    end_event();
    // Visible in the timeline: from here on events may be missing.
    begin_event('i', dropped_pid_);
    buf_ += ",\"ts\":";
    append_trace_us(buf_, earliest_dropped_ts_);
    buf_ += fmt::format(",\"name\":\"trace truncated: {} events dropped\",\"s\":\"g\"", dropped_);
    end_event();
  }
  buf_ += "\n]}\n";
  flush_buffer();
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fflush(f) != 0 && !errno_) errno_ = errno ? errno : EIO;
  if (std::ferror(f) && !errno_) errno_ = EIO;
  if (std::fclose(f) != 0 && !errno_) errno_ = errno ? errno : EIO;
  if (errno_) fail(path_, fmt::format("write failed: {}", std::strerror(errno_)));
}

}  // namespace npu::nic
