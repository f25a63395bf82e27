#include "sim/iss/image_load.h"

#include <fmt/format.h>

#include <stdexcept>

namespace npu::iss {

namespace {
constexpr uint64_t kUndefinedWord = 0xff;  // opcode 0xff is undefined: executing it faults
constexpr uint64_t kMaxCode = 1 << 20;     // instructions: far more than any code store
}  // namespace

void load_image(Machine& m, const Image& img) {
  std::vector<uint64_t> code;
  std::vector<DataSection> data;
  for (const Object::Section& s : img.sections) {
    if (!s.code) {
      data.push_back({s.base, s.bytes});
      continue;
    }
    if (s.words.empty()) continue;
    if (s.end() > kMaxCode || s.end() < s.base)
      throw std::runtime_error(fmt::format("code section {} ends at instruction {}, beyond {}",
                                           s.name, s.end(), kMaxCode));
    if (code.size() < s.end()) code.resize(s.end(), kUndefinedWord);
    std::copy(s.words.begin(), s.words.end(), code.begin() + int64_t(s.base));
  }
  m.load(code, data);
}

uint64_t symbol_value(const Image& img, const std::string& name) {
  const Object::Symbol* s = img.find_symbol(name);
  if (!s) throw std::runtime_error(fmt::format("image has no symbol '{}'", name));
  return s->value;
}

}  // namespace npu::iss
