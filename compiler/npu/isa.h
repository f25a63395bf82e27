// The NPU instruction set as C++ tables, expanded from isa.def: instruction
// ids, per-instruction properties, the opcode decode map, and the encoder,
// decoder and formatter every other part (assembler, compiler emitter, ISS)
// goes through. docs/isa.md describes the machine.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace npu {

constexpr unsigned kNumRegs = 32;

enum class Field : uint8_t {
#define NPU_FIELD(name, lo, bits, kind) name,
#include "compiler/npu/isa.def"
  kCount
};

enum class Format : uint8_t {
#define NPU_FORMAT(name, fields) name,
#include "compiler/npu/isa.def"
  kCount
};

enum class Unit : uint8_t {
  CTRL,
  BRANCH,
  CSR,
  QUEUE,
  ALU,
  MUL,
  DIV,
  ATOMIC,
  MEM,
  PKT,
  MAP,
  CSUM,
  HASH,
  RAND,
  TIME,
  kCount
};

// Instruction ids (not opcodes: a sized instruction has one opcode per size).
enum class Op : uint8_t {
#define NPU_INSN(id, mnemonic, opcode, format, syntax, unit, cycles, flags, widths, summary) id,
#include "compiler/npu/isa.def"
  kCount
};
constexpr unsigned kNumOps = unsigned(Op::kCount);

enum class Csr : uint16_t {
#define NPU_CSR(id, name, number, writable, summary) id = number,
#include "compiler/npu/isa.def"
};

enum class Fault : uint8_t {
#define NPU_FAULT(id, number, summary) id = number,
#include "compiler/npu/isa.def"
};

// Instruction flags (isa.def's flags column).
enum : uint8_t { WA = 1, RA = 2, BR = 4, ASYNC = 8, STOP = 16 };

struct FieldInfo {
  const char* name;
  uint8_t lo, bits;
  bool is_signed;  // SIMM
};

struct FormatInfo {
  const char* name;
  uint32_t fields;  // bit i set: uses Field(i)
  uint64_t mask;    // word bits the format defines (opcode included); others must be 0
};

struct OpInfo {
  const char* id;
  const char* mnemonic;
  uint8_t opcode;  // of the first size
  Format format;
  const char* syntax;
  Unit unit;
  uint8_t cycles;
  uint8_t flags;
  uint8_t nwidths;
  std::array<uint8_t, 8> widths;
  const char* summary;
  uint32_t fields;  // bit i set: the syntax shows Field(i) (a subset of the format's)
  uint64_t mask;    // word bits the instruction defines; a word with others set is undefined
};

struct CsrInfo {
  const char* id;
  const char* name;
  uint16_t number;
  bool writable;
  const char* summary;
};

struct FaultInfo {
  const char* id;
  uint8_t number;
  const char* summary;
};

const FieldInfo& field_info(Field f);
const FormatInfo& format_info(Format f);
const OpInfo& op_info(Op op);
const char* unit_name(Unit u);
// Every CSR, ordered by number; nullptr for an undefined number.
const std::vector<CsrInfo>& csrs();
const CsrInfo* csr_info(uint32_t number);
const CsrInfo* csr_by_name(std::string_view name);
const std::vector<FaultInfo>& faults();

struct RegAlias {
  const char* name;
  uint8_t reg;
  const char* summary;
};
const std::vector<RegAlias>& reg_aliases();
// The register an alias names (exact, lower case), or -1.
int reg_alias(std::string_view name);

// One decoded instruction. Fields a format does not use are zero.
struct Insn {
  Op op = Op::NOP;
  uint8_t width = 0;  // bytes, for sized instructions; 0 otherwise
  uint8_t a = 0, b = 0, c = 0, d = 0, e = 0;
  int32_t imm = 0;
  int16_t off = 0;  // 14-bit signed
};

// What opcode byte `o` means: the instruction and its size, or valid == false.
struct OpcodeEntry {
  Op op;
  uint8_t width;
  bool valid;
};
const std::array<OpcodeEntry, 256>& opcode_map();

// The opcode of op at size width (0 for unsized), or -1 when op has no such size.
int opcode_of(Op op, unsigned width);

// Encodes insn; throws std::invalid_argument naming the field that does not fit
// (register > 31, displacement outside 14 bits, size the instruction lacks).
uint64_t encode(const Insn& insn);

// Decodes word; false with a reason in *why for an undefined opcode or bits set
// outside the format's fields.
bool decode(uint64_t word, Insn* out, std::string* why = nullptr);

// The assembler text of insn at address pc (instruction index): "add r1, r2, r3".
// Branch targets are printed as absolute addresses, or through `label` when it
// returns a non-empty name for the address.
using LabelFn = std::string (*)(uint64_t addr, void* ctx);
std::string format_insn(const Insn& insn, uint64_t pc, LabelFn label = nullptr,
                        void* ctx = nullptr);

// An instruction's operands spelled for people: "rA, [rB+disp]" (registers by
// field, imm, target, +disp, csr, queue); messages and docs use it.
std::string operand_usage(const OpInfo& o);

// Mnemonic with its size suffix: "ldpb.6".
std::string full_mnemonic(const Insn& insn);

// Registers an instruction reads and writes, as bit masks over r0..r31.
uint32_t regs_read(const Insn& insn);
uint32_t regs_written(const Insn& insn);

}  // namespace npu
