// The NPU as a device the host drives: the firmware booted on the ISS
// machine, a compiled program image loaded through control messages, one
// packet at a time through the firmware's queues, and host map operations.
// Device is to the NPU what kern::KernelObject is to the kernel and
// ref::Interpreter to the reference model: the same calls, so that tests can
// compare the three engines. docs/device.md describes loading and the errors.
#pragma once

#include "compiler/npu/image.h"
#include "driver/cmsg.h"
#include "firmware/abi.h"
#include "sim/iss/backend.h"
#include "sim/iss/machine.h"
#include "sim/iss/timing.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace npu::driver {

// what() is one line naming the image (or "device") and the reason.
class DeviceError : public std::runtime_error {
 public:
  explicit DeviceError(const std::string& what, int err = 0)
      : std::runtime_error(what), err_(err) {}
  // -errno when the firmware answered a control message with one, else 0.
  int err() const { return err_; }

 private:
  int err_;
};

struct DeviceConfig {
  unsigned cores = 1;
  unsigned threads = 1;   // per core
  unsigned map_cpus = 1;  // copies a percpu map keeps (the CPUs of the kernel's view)
  iss::Timing timing;
  uint64_t code_store = NPU_CODE_STORE_SIZE;  // instructions in each core's code store
  // Cycles one packet or control message may take before the device counts
  // as hung: it is rebooted and the call throws.
  uint64_t max_cycles = 50'000'000;
};

// The xdp_md a test run may pass, as kern::XdpContext: the first meta_len
// bytes of the packet are metadata; ingress_ifindex 0 is the loopback (1).
struct XdpContext {
  uint32_t ingress_ifindex = 0;
  uint32_t rx_queue_index = 0;
  uint32_t meta_len = 0;
};

// What kern::XdpResult and ref::XdpResult say, and what the device adds.
struct XdpResult {
  uint32_t verdict = 0;           // XDP action; XDP_ABORTED after a fault or a bad exit value
  std::vector<uint8_t> packet;    // data_meta..data_end after the run: metadata first
  uint32_t meta_len = 0;          // bytes of metadata at the front of packet
  uint32_t redirect_ifindex = 0;  // XDP_REDIRECT: the target the firmware recorded
  int err = 0;  // -errno when the packet was refused and not run (as BPF_PROG_TEST_RUN's)
  // The device's own view.
  uint32_t status = 0;  // the descriptor's verdict word (NPU_VERDICT_*)
  uint32_t fault = 0;   // NPU_FAULT cause when the program faulted, else 0
  uint64_t fault_pc = 0, fault_addr = 0;
  std::string error;    // one line for a fault
  uint64_t insns = 0;   // NPU instructions retired for this packet, firmware included
  uint64_t cycles = 0;  // cycles a thread was busy with it, stalls included
};

struct MapInfo {
  std::string name;
  uint32_t id = 0;  // the device's map id
  uint32_t type = 0;
  uint32_t key_size = 0, value_size = 0, max_entries = 0, flags = 0;
  bool percpu = false;
  size_t sys_value_size = 0;  // bytes the host moves: value_size, or round_up(value_size, 8) * CPUs
};

using Entries = std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>;

class Device {
 public:
  // Boots firmware (an image with _start and the helper_* symbols, code below
  // NPU_PROG_TEXT_BASE) on an ISS machine of cfg's shape. Throws DeviceError.
  explicit Device(const Image& firmware, const DeviceConfig& cfg = {});
  // The same on other hardware (the NIC model): cfg's cores, threads, map_cpus
  // and timing are the hardware's own, and code_store must match its code store.
  Device(const Image& firmware, iss::Backend& hw, const DeviceConfig& cfg = {});
  // The shape of the ISS machine the first constructor makes for cfg (other
  // hardware of the same shape, such as a device of RTL cores, takes it too).
  static iss::MachineConfig machine_config(const DeviceConfig& cfg);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Loads a compiled image, replacing what was loaded: checks it
  // (check_image, then the device's limits, features and helpers), creates
  // its maps with MAP_ALLOC, fills global data with MAP_UPDATE, applies the
  // relocations, writes the code at its addresses from NPU_PROG_TEXT_BASE and
  // program i's entry into program-table slot i. name is the image's name in
  // errors. Throws DeviceError; after a failure nothing is loaded and the
  // device goes on serving.
  void load(const Image& img, const std::string& name = "image");
  // Frees the maps and empties the program table and the program code.
  void unload();
  bool loaded() const { return loaded_; }
  // The loaded image as it runs: relocated code.
  const Image& image() const { return img_; }

  // Function names in the image's order; slot i of the program table runs program i.
  std::vector<std::string> prog_names() const;
  // By function or section name; "" = the first. Throws DeviceError.
  uint32_t prog_slot(const std::string& prog) const;
  std::vector<std::string> map_names() const;
  MapInfo map_info(const std::string& map) const;

  // One packet through program prog, as BPF_PROG_TEST_RUN runs it: a frame of
  // NPU_FRAME_SIZE with NPU_HEADROOM before the data, queued on RX; the result
  // is read back when the firmware puts the frame on TX. Packets the kernel's
  // test run refuses, and those over the frame's linear size (the kernel
  // would use fragments), give err = -EINVAL without a run.
  XdpResult run_xdp(const std::string& prog, const std::vector<uint8_t>& packet,
                    const XdpContext& ctx = {});

  // Host map operations through control messages. Percpu maps take one
  // CPU's value (copied to every CPU) or the full per-CPU buffer, and give
  // the full buffer. Errors throw DeviceError with err() = -errno.
  void map_update(const std::string& map, const std::vector<uint8_t>& key,
                  const std::vector<uint8_t>& value, uint64_t flags = 0);
  // PROG_ARRAY: key -> the program's slot.
  void map_update_prog(const std::string& map, const std::vector<uint8_t>& key,
                       const std::string& prog);
  // nullopt when the key is absent; prog arrays read back the slot.
  std::optional<std::vector<uint8_t>> map_lookup(const std::string& map,
                                                 const std::vector<uint8_t>& key);
  // false when the key was absent.
  bool map_delete(const std::string& map, const std::vector<uint8_t>& key);
  // Every element, through MAP_GETFIRST/GETNEXT and MAP_LOOKUP (slots that
  // cannot be looked up, such as empty prog array slots, are left out).
  Entries map_dump(const std::string& map);

  // A host control message as the card's BAR carries it (MAP_LOOKUP,
  // UPDATE, DELETE, GETFIRST, GETNEXT in the host layout), sent through the
  // firmware; returns the reply bytes with the host's sequence number. Maps
  // are the loader's to allocate and free: MAP_ALLOC, MAP_FREE and ids of
  // maps the loaded image does not own are refused with -EPERM and -ENOENT
  // replies, malformed messages with -EINVAL; the firmware is not bothered.
  std::vector<uint8_t> control(const std::vector<uint8_t>& msg);

  // The maps' JSON format of sim/ref/maps_json.h and kern::KernelObject.
  void load_maps_json(const std::string& path);
  void load_maps_json(const nlohmann::json& init, const std::string& source);
  nlohmann::json dump_maps_json();

  // The firmware's counter NPU_CNT_*.
  uint64_t counter(unsigned i);
  iss::Backend& backend() { return *m_; }
  const DeviceConfig& config() const { return cfg_; }

 private:
  // Sends a control message through the firmware and returns its reply;
  // throws DeviceError("<what>: ...") when none comes or it is malformed.
  CmsgReply ctrl(const std::vector<uint8_t>& msg, const std::string& what);
  // Runs until the firmware waits for the host; a device that does not is
  // rebooted and `what` thrown.
  void settle(const std::string& what);
  void reboot();
  // Loads the firmware into m_ and boots it (both constructors).
  void boot_firmware();
  const MapInfo& find_map(const std::string& map) const;
  // The program's index by function or section name ("" = the first), or -1.
  int find_prog(const std::string& prog) const;
  // MAP_UPDATE; errors throw "<where>: ...".
  void update(const MapInfo& m, const std::vector<uint8_t>& key, const std::vector<uint8_t>& value,
              uint64_t flags, const std::string& where);
  // A host value for m from one CPU's value or the full per-CPU buffer.
  std::vector<uint8_t> host_value(const MapInfo& m, const std::vector<uint8_t>& value,
                                  const std::string& where) const;
  std::string prefix() const;
  void write_code(const std::vector<uint64_t>& program, uint64_t base);
  void clear_prog_table();

  DeviceConfig cfg_;
  Image firmware_;
  uint64_t start_ = 0;                 // the firmware's _start
  std::vector<uint64_t> fw_code_;      // the firmware's code store contents
  std::unique_ptr<iss::Machine> own_;  // the ISS machine, when no backend was given
  iss::Backend* m_ = nullptr;
  uint16_t seq_ = 0;
  bool loaded_ = false;
  std::string name_;
  Image img_;
  std::vector<MapInfo> maps_;  // by image map index
};

}  // namespace npu::driver
