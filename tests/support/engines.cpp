#include "tests/support/engines.h"

#include "compiler/backend/compile.h"
#include "driver/device.h"

#include "compiler/bpf/hex.h"
#include "sim/kernel/oracle.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace progen {
namespace {

class KernelEngine : public Engine {
 public:
  KernelEngine(const bpf::Object& obj, const nlohmann::json& init)
      : k_(kern::KernelObject::load(obj)), prog_(obj.programs.at(0).name) {
    k_.load_maps_json(init, "initial maps");
  }
  std::string name() const override { return "kernel"; }
  Run run_xdp(const std::vector<uint8_t>& packet) override {
    kern::XdpResult r = k_.run_xdp(prog_, packet);
    Run out;
    if (r.err != 0) {
      out.error = fmt::format("BPF_PROG_TEST_RUN refused the packet: {}", std::strerror(-r.err));
      return out;
    }
    out.verdict = r.verdict;
    out.packet = std::move(r.packet);
    out.meta_len = r.meta_len;
    return out;
  }
  nlohmann::json dump_maps_json() override { return k_.dump_maps_json(); }

 private:
  kern::KernelObject k_;
  std::string prog_;
};

class RefEngine : public Engine {
 public:
  RefEngine(const bpf::Object& obj, const nlohmann::json& init) : obj_(obj), ip_(obj_, config()) {
    ref::load_maps_json(ip_, init, "initial maps");
  }
  std::string name() const override { return "ref"; }
  Run run_xdp(const std::vector<uint8_t>& packet) override {
    ref::XdpResult r = ip_.run_xdp(0, packet);
    Run out;
    if (!r.error.empty()) {
      out.error = r.error;
      return out;
    }
    out.verdict = r.verdict;
    out.packet = std::move(r.meta);
    out.packet.insert(out.packet.end(), r.packet.begin(), r.packet.end());
    out.meta_len = uint32_t(out.packet.size() - r.packet.size());
    return out;
  }
  nlohmann::json dump_maps_json() override { return ref::dump_maps_json(ip_); }

 private:
  static ref::Config config() {
    ref::Config cfg;
    cfg.ncpus = unsigned(kern::possible_cpus());
    return cfg;
  }
  bpf::Object obj_;  // the interpreter keeps a reference to it
  ref::Interpreter ip_;
};

std::string hex_prefix(const std::vector<uint8_t>& v, size_t max = 64) {
  std::string h = bpf::to_hex(v.data(), std::min(v.size(), max));
  return v.size() > max ? h + " ..." : h;
}

// The first byte where a and b differ, or the shorter length.
size_t first_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

std::string describe_run(const Run& r) {
  if (!r.error.empty()) return "error: " + r.error;
  return fmt::format("verdict {}, {} bytes (meta {})", r.verdict, r.packet.size(), r.meta_len);
}

// Entry by entry, the maps where a and b differ.
std::string map_differences(const nlohmann::json& a, const nlohmann::json& b, const std::string& an,
                            const std::string& bn) {
  std::string out;
  std::map<std::string, std::pair<nlohmann::json, nlohmann::json>> maps;
  for (auto& [name, list] : a["maps"].items()) maps[name].first = list;
  for (auto& [name, list] : b["maps"].items()) maps[name].second = list;
  for (auto& [name, lists] : maps) {
    if (lists.first == lists.second) continue;
    std::map<std::string, std::pair<std::string, std::string>> by_key;
    auto add = [&](const nlohmann::json& list, bool first) {
      if (!list.is_array()) return;
      for (const auto& e : list) {
        nlohmann::json v = e;
        v.erase("key");
        (first ? by_key[e["key"].get<std::string>()].first
               : by_key[e["key"].get<std::string>()].second) = v.dump();
      }
    };
    add(lists.first, true);
    add(lists.second, false);
    out += fmt::format("  map '{}':\n", name);
    size_t shown = 0;
    for (auto& [key, vals] : by_key) {
      if (vals.first == vals.second) continue;
      if (shown++ == 8) {
        out += "    ...\n";
        break;
      }
      out += fmt::format("    key {}: {} {} | {} {}\n", key, an,
                         vals.first.empty() ? "(absent)" : vals.first, bn,
                         vals.second.empty() ? "(absent)" : vals.second);
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<Engine> kernel_engine(const bpf::Object& obj, const nlohmann::json& init) {
  return std::make_unique<KernelEngine>(obj, init);
}

std::unique_ptr<Engine> ref_engine(const bpf::Object& obj, const nlohmann::json& init) {
  return std::make_unique<RefEngine>(obj, init);
}

namespace {

class NpuEngine : public Engine {
 public:
  NpuEngine(const bpf::Object& obj, const nlohmann::json& init, const npu::Image& fw,
            const std::set<std::string>& disabled)
      : prog_(obj.programs.at(0).name), dev_(fw, config()) {
    npucc::CompileOptions co;
    co.disabled = disabled;
    dev_.load(npucc::compile(obj, co).image, obj.path);
    if (!init.is_null()) dev_.load_maps_json(init, "initial maps");
  }
  std::string name() const override { return "npu"; }
  Run run_xdp(const std::vector<uint8_t>& packet) override {
    npu::driver::XdpResult r = dev_.run_xdp(prog_, packet);
    Run out;
    if (r.err)
      out.error = fmt::format("refused ({})", r.err);
    else if (r.fault)
      out.error = "fault: " + r.error;
    out.verdict = r.verdict;
    out.packet = r.packet;
    out.meta_len = r.meta_len;
    return out;
  }
  nlohmann::json dump_maps_json() override { return dev_.dump_maps_json(); }

 private:
  static npu::driver::DeviceConfig config() {
    npu::driver::DeviceConfig c;
    c.map_cpus = unsigned(kern::possible_cpus());
    return c;
  }
  std::string prog_;
  npu::driver::Device dev_;
};

}  // namespace

std::unique_ptr<Engine> npu_engine(const bpf::Object& obj, const nlohmann::json& init,
                                   const std::string& firmware_path,
                                   const std::set<std::string>& disabled) {
  static std::map<std::string, npu::Image> firmware;
  auto it = firmware.find(firmware_path);
  if (it == firmware.end())
    it = firmware.emplace(firmware_path, npu::read_image(firmware_path)).first;
  return std::make_unique<NpuEngine>(obj, init, it->second, disabled);
}

Comparison compare(const std::vector<Engine*>& engines,
                   const std::vector<std::vector<uint8_t>>& packets) {
  Comparison c;
  if (engines.size() < 2) return c;
  Engine& first = *engines[0];
  for (size_t i = 0; i < packets.size(); ++i) {
    const std::vector<uint8_t>& pkt = packets[i];
    Run want = first.run_xdp(pkt);
    nlohmann::json want_maps = first.dump_maps_json();
    for (size_t e = 1; e < engines.size(); ++e) {
      Engine& other = *engines[e];
      Run got = other.run_xdp(pkt);
      std::string why;
      if (want.error.empty() != got.error.empty() || want.verdict != got.verdict ||
          want.meta_len != got.meta_len) {
        why = fmt::format("{}: {}; {}: {}", first.name(), describe_run(want), other.name(),
                          describe_run(got));
      } else if (want.packet != got.packet) {
        size_t at = first_diff(want.packet, got.packet);
        why = fmt::format(
            "output packets differ at byte {} ({} bytes | {} bytes)\n  {}: {}\n  {}: {}", at,
            want.packet.size(), got.packet.size(), first.name(), hex_prefix(want.packet, 96),
            other.name(), hex_prefix(got.packet, 96));
      } else if (nlohmann::json got_maps = other.dump_maps_json(); got_maps != want_maps) {
        why = "maps differ after the run:\n" +
              map_differences(want_maps, got_maps, first.name(), other.name());
      }
      if (!why.empty()) {
        c.first_difference =
            fmt::format("packet {} ({} bytes: {}):\n  {}", i, pkt.size(), hex_prefix(pkt), why);
        return c;
      }
    }
    ++c.packets;
    if (want.error.empty()) ++c.verdicts[want.verdict];
  }
  return c;
}

}  // namespace progen
