#include "sim/ref/maps_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace ref {

void load_maps_json(Interpreter& ip, const nlohmann::json& init, const std::string& source) {
  const bpf::Object& obj = ip.object();
  if (!init.is_object() || !init.contains("maps") || !init["maps"].is_object())
    throw bpf::LoadError(source + ": expected an object with a \"maps\" object");
  for (auto& [name, entries] : init["maps"].items()) {
    int mi = obj.find_map(name);
    if (mi < 0)
      throw bpf::LoadError(fmt::format("{}: no map named '{}' in {}", source, name, obj.path));
    if (!entries.is_array())
      throw bpf::LoadError(fmt::format("{}: map '{}': expected a list", source, name));
    Map& m = ip.map(mi);
    const bpf::MapDef& d = m.def();
    size_t i = 0;
    for (const auto& ent : entries) {
      std::string where = fmt::format("{}: map '{}' entry {}", source, name, i++);
      if (!ent.is_object() || !ent.contains("key") || !ent["key"].is_string())
        throw bpf::LoadError(where + ": needs a \"key\" hex string");
      std::vector<uint8_t> key = parse_hex(ent["key"], where);
      if (key.size() != d.key_size)
        throw bpf::LoadError(fmt::format("{}: key has {} bytes, the map's key_size is {}", where,
                                         key.size(), d.key_size));
      std::vector<uint8_t> val;
      if (ent.contains("prog")) {
        if (d.type != BPF_MAP_TYPE_PROG_ARRAY || !ent["prog"].is_string())
          throw bpf::LoadError(where + ": \"prog\" is only for prog arrays");
        int p = obj.find_program(ent["prog"].get<std::string>());
        if (p < 0)
          throw bpf::LoadError(
              fmt::format("{}: no program '{}'", where, ent["prog"].get<std::string>()));
        uint32_t v = uint32_t(p);
        val.assign(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4);
      } else if (ent.contains("values") && m.percpu()) {
        size_t stride = (d.value_size + 7) / 8 * 8;
        val.assign(m.sys_value_size(), 0);
        if (ent["values"].size() != m.ncpus())
          throw bpf::LoadError(
              fmt::format("{}: {} values for {} CPUs", where, ent["values"].size(), m.ncpus()));
        for (size_t c = 0; c < m.ncpus(); ++c) {
          std::vector<uint8_t> one = parse_hex(ent["values"][c].get<std::string>(), where);
          if (one.size() != d.value_size)
            throw bpf::LoadError(fmt::format("{}: value has {} bytes, value_size is {}", where,
                                             one.size(), d.value_size));
          std::copy(one.begin(), one.end(), val.begin() + c * stride);
        }
      } else if (ent.contains("value") && ent["value"].is_string()) {
        std::vector<uint8_t> one = parse_hex(ent["value"], where);
        if (one.size() != d.value_size)
          throw bpf::LoadError(fmt::format("{}: value has {} bytes, the map's value_size is {}",
                                           where, one.size(), d.value_size));
        if (m.percpu()) {
          size_t stride = (d.value_size + 7) / 8 * 8;
          val.assign(m.sys_value_size(), 0);
          for (size_t c = 0; c < m.ncpus(); ++c)
            std::copy(one.begin(), one.end(), val.begin() + c * stride);
        } else {
          val = std::move(one);
        }
      } else {
        throw bpf::LoadError(where + ": needs a \"value\" hex string");
      }
      int rc = m.sys_update(key.data(), val.data(), BPF_ANY);
      if (rc) throw bpf::LoadError(fmt::format("{}: update failed: {}", where, std::strerror(-rc)));
    }
  }
}

void load_maps_file(Interpreter& ip, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw bpf::LoadError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw bpf::LoadError(path + ": not valid JSON");
  load_maps_json(ip, j, path);
}

nlohmann::json dump_maps_json(Interpreter& ip) {
  nlohmann::json maps = nlohmann::json::object();
  for (size_t i = 0; i < ip.map_count(); ++i) {
    Map& m = ip.map(i);
    nlohmann::json list = nlohmann::json::array();
    for (const MapEntry& e : dump(m)) {
      nlohmann::json ent{{"key", to_hex(e.key)}};
      if (m.percpu()) {
        size_t stride = (m.def().value_size + 7) / 8 * 8;
        nlohmann::json vals = nlohmann::json::array();
        for (size_t c = 0; c < m.ncpus(); ++c)
          vals.push_back(to_hex(e.value.data() + c * stride, m.def().value_size));
        ent["values"] = vals;
      } else {
        ent["value"] = to_hex(e.value);
      }
      list.push_back(ent);
    }
    std::sort(list.begin(), list.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      return a["key"].get<std::string>() < b["key"].get<std::string>();
    });
    maps[m.def().name] = list;
  }
  return nlohmann::json{{"maps", maps}};
}

}  // namespace ref
