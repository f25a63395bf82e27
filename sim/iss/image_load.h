// Loading an NPU image (compiler/npu/image.h) into the ISS machine.
#pragma once

#include "compiler/npu/image.h"
#include "sim/iss/machine.h"

#include <string>

namespace npu::iss {

// Code sections into every core's code store (gaps between them hold an
// undefined word, so running into one faults), data sections into device
// memory. Throws std::runtime_error for a section that does not fit.
void load_image(Machine& m, const Image& img);

// The value of a symbol of img; throws std::runtime_error naming it when absent.
uint64_t symbol_value(const Image& img, const std::string& name);

}  // namespace npu::iss
