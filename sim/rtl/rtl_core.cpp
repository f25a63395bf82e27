#include "sim/rtl/rtl_core.h"

#include "Vnpu_core.h"
#include "Vnpu_core___024root.h"
#include "firmware/abi.h"
#include "sim/ref/bytes.h"
#include "verilated.h"
#include "verilated_fst_sc.h"

#include <fmt/format.h>

#include <stdexcept>

namespace npu::rtl {
namespace {

// Issue cycles the divider needs (hw/npu_core.sv's DIV_MIN), and the widest
// cycle count the core's timing ports take.
constexpr unsigned kDivMinCycles = 64 / NPU_RTL_DIV_STEP + 2;
constexpr unsigned kMaxPortCycles = 255;
// Debug port selectors (hw/npu_core.sv).
constexpr unsigned kSelCsr = 64;

}  // namespace

unsigned max_threads() {
  return NPU_RTL_THREADS;
}

std::string unsupported_timing(const iss::Timing& t) {
  if (t.swap_cycles == 0) return "swap_cycles 0: the RTL core needs a cycle to fetch for a swap";
  if (t.swap_cycles > kMaxPortCycles || t.branch_taken_cycles > kMaxPortCycles)
    return fmt::format("swap_cycles {}, branch_taken_cycles {}: the RTL core takes at most {}",
                       t.swap_cycles, t.branch_taken_cycles, kMaxPortCycles);
  for (unsigned i = 0; i < kNumOps; ++i) {
    const OpInfo& o = op_info(Op(i));
    if (o.unit == Unit::DIV && t.cycles[i] < kDivMinCycles)
      return fmt::format("{}: {} cycles, the RTL divider needs at least {}", o.mnemonic,
                         t.cycles[i], kDivMinCycles);
  }
  return "";
}

RtlCore::RtlCore(sc_core::sc_module_name name, unsigned id, unsigned ncores, unsigned nthreads,
                 const iss::Timing& timing, iss::MemoryPort& mem, iss::EnginePort& eng,
                 iss::QueuePort& queues)
    : sc_module(name),
      id_(id),
      ncores_n_(ncores),
      nthreads_(nthreads),
      timing_(timing),
      mem_(mem),
      eng_(eng),
      queues_(queues) {
  if (nthreads == 0 || nthreads > max_threads())
    throw std::invalid_argument(
        fmt::format("the RTL core has 1 to {} threads, not {}", max_threads(), nthreads));
  std::string why = unsupported_timing(timing);
  if (!why.empty()) throw std::invalid_argument("timing for the RTL core: " + why);
  Verilated::traceEverOn(true);
  v_ = std::make_unique<Vnpu_core>("core");
  Vnpu_core& v = *v_;
  v.clk(clk);
  v.rst_n(rst_n_);
  v.freeze(freeze_);
  v.now(now_);
  v.core_id(core_id_);
  v.ncores(ncores_);
  v.nthreads(nthreads_s_);
  v.swap_cycles(swap_cycles_);
  v.branch_cycles(branch_cycles_);
  v.tab_we(tab_we_);
  v.tab_op(tab_op_);
  v.tab_cycles(tab_cycles_);
  v.code_we(code_we_);
  v.code_waddr(code_waddr_);
  v.code_wdata(code_wdata_);
  v.code_size(code_size_);
  v.start_valid(start_valid_);
  v.start_thread(start_thread_);
  v.start_pc(start_pc_);
  v.dbg_thread(dbg_thread_);
  v.dbg_sel(dbg_sel_);
  v.dbg_we(dbg_we_);
  v.dbg_wdata(dbg_wdata_);
  v.dbg_rdata(dbg_rdata_);
  v.cfg_error(cfg_error_);
  v.mem_valid(mem_valid_);
  v.mem_ready(mem_ready_);
  v.mem_write(mem_write_);
  v.mem_size(mem_size_);
  v.mem_addr(mem_addr_);
  v.mem_wdata(mem_wdata_);
  v.mem_fault(mem_fault_);
  v.mem_rdata(mem_rdata_);
  v.mem_latency(mem_latency_);
  v.eng_valid(eng_valid_);
  v.eng_ready(eng_ready_);
  v.eng_op(eng_op_);
  v.eng_width(eng_width_);
  v.eng_thread(eng_thread_);
  v.eng_addr(eng_addr_);
  v.eng_b(eng_b_);
  v.eng_c(eng_c_);
  v.eng_d(eng_d_);
  v.eng_e(eng_e_);
  v.eng_fault(eng_fault_);
  v.eng_fault_addr(eng_fault_addr_);
  v.eng_value(eng_value_);
  v.eng_latency(eng_latency_);
  v.qget_valid(qget_valid_);
  v.qget_ready(qget_ready_);
  v.qget_mask(qget_mask_);
  v.qget_ok(qget_ok_);
  v.qget_value(qget_value_);
  v.qget_latency(qget_latency_);
  v.qput_valid(qput_valid_);
  v.qput_ready(qput_ready_);
  v.qput_queue(qput_queue_);
  v.qput_value(qput_value_);
  v.q_nonempty(q_nonempty_);
  v.rt_valid(rt_valid_);
  v.rt_thread(rt_thread_);
  v.rt_cycle(rt_cycle_);
  v.rt_pc(rt_pc_);
  v.rt_word(rt_word_);
  v.rt_wen(rt_wen_);
  v.rt_wreg(rt_wreg_);
  v.rt_wdata(rt_wdata_);
  v.rt_fault(rt_fault_);
  v.idle(idle_);
  v.perf_instret(perf_instret_);
  v.perf_busy(perf_busy_);
  v.perf_issue(perf_issue_);

  // Static configuration; the adapter always accepts a request.
  core_id_.write(id);
  ncores_.write(ncores);
  nthreads_s_.write(nthreads);
  swap_cycles_.write(timing.swap_cycles);
  branch_cycles_.write(timing.branch_taken_cycles);
  mem_ready_.write(true);
  eng_ready_.write(true);
  qget_ready_.write(true);
  qput_ready_.write(true);
  rst_n_.write(true);

  // The first host cycles: reset, then the issue-cycle table.
  host_.push_back([this] { rst_n_.write(false); });
  for (unsigned i = 0; i < kNumOps; ++i)
    host_.push_back([this, i] {
      tab_we_.write(true);
      tab_op_.write(i);
      tab_cycles_.write(timing_.cycles[i]);
    });
}

RtlCore::~RtlCore() {
  close_trace();
}

void RtlCore::settle() {
  for (int i = 0; i < 3; ++i) sc_core::wait(sc_core::SC_ZERO_TIME);
}

void RtlCore::load_code(const std::vector<uint64_t>& words) {
  if (words.size() > NPU_CODE_STORE_SIZE)
    throw std::invalid_argument(fmt::format("{} instructions do not fit the code store of {}",
                                            words.size(), NPU_CODE_STORE_SIZE));
  // The store starts zeroed (Verilated with --x-initial 0), as the copy does.
  if (code_.size() < words.size()) code_.resize(words.size(), 0);
  for (size_t i = 0; i < words.size(); ++i) {
    if (code_[i] == words[i]) continue;
    code_[i] = words[i];
    uint64_t w = words[i];
    host_.push_back([this, i, w] {
      code_we_.write(true);
      code_waddr_.write(uint32_t(i));
      code_wdata_.write(w);
    });
  }
  // The size goes in a host cycle too: execute rechecks its pc against it.
  const uint32_t size = uint32_t(words.size());
  host_.push_back([this, size] { code_size_.write(size); });
}

void RtlCore::start(unsigned thread, uint64_t pc) {
  host_.push_back([this, thread, pc] {
    start_valid_.write(true);
    start_thread_.write(thread);
    start_pc_.write(pc);
  });
}

void RtlCore::set_csr(unsigned thread, Csr n, uint64_t v) {
  // The errors iss::set_csr_of gives.
  if (thread >= nthreads_)
    throw std::out_of_range(fmt::format("core {}: no thread {}", id_, thread));
  const unsigned i = unsigned(n);
  if (i < unsigned(Csr::PKT_LO) || i > unsigned(Csr::SCRATCH3))
    throw std::invalid_argument(
        fmt::format("core {} thread {}: CSR {} is read-only or undefined", id_, thread, i));
  pending_csr_[{thread, i}] = v;
  host_.push_back([this, thread, n, v] {
    dbg_we_.write(true);
    dbg_thread_.write(thread);
    dbg_sel_.write(kSelCsr + unsigned(n));
    dbg_wdata_.write(v);
  });
}

void RtlCore::apply_host() {
  if (host_.empty()) return;
  // Each write is one edge with the pipeline frozen, all at the current time.
  now_.write(cycle_);
  freeze_.write(true);
  for (auto& op : host_) {
    op();
    clk.write(true);
    settle();
    clk.write(false);
    rst_n_.write(true);
    tab_we_.write(false);
    code_we_.write(false);
    start_valid_.write(false);
    dbg_we_.write(false);
    settle();
  }
  host_.clear();
  pending_csr_.clear();
  freeze_.write(false);
  settle();
  if (cfg_error_.read())
    throw std::logic_error(fmt::format("RTL core {}: the core refused its timing table", id_));
}

bool RtlCore::clock(const std::vector<RtlCore*>& cores, uint64_t cycle,
                    const sc_core::sc_time& period) {
  const sc_core::sc_time half = period / 2, quarter = period / 4;
  for (RtlCore* c : cores) c->apply_host();
  for (RtlCore* c : cores) c->begin_cycle(cycle);
  sc_core::wait(half);
  for (RtlCore* c : cores) c->service();
  sc_core::wait(quarter);
  bool idle = true;
  for (RtlCore* c : cores) idle = idle && c->idle();
  for (RtlCore* c : cores) c->end_cycle();
  for (RtlCore* c : cores) c->clk.write(true);
  sc_core::wait(period - half - quarter);
  for (RtlCore* c : cores) {
    c->clk.write(false);
    c->cycle_ = cycle + 1;  // the cycle the core is in now, as peek_csr reads it
  }
  return idle;
}

void RtlCore::begin_cycle(uint64_t c) {
  cycle_ = c;
  now_.write(c);
  q_nonempty_.write(queues_.nonempty());
}

void RtlCore::service() {
  if (mem_valid_.read()) {
    uint64_t addr = mem_addr_.read();
    unsigned size = mem_size_.read();
    bool write = mem_write_.read();
    uint64_t end = addr + size;
    iss::Dmi d;
    bool ok = end >= addr && mem_.dmi(id_, addr, &d) && d.host && addr >= d.lo && end <= d.hi &&
              (!write || d.writable);
    mem_fault_.write(!ok);
    if (ok) {
      uint8_t* p = d.host + (addr - d.lo);
      mem_latency_.write(d.timer ? d.timer->access(id_, addr, size, write, cycle_) : d.latency);
      if (write) {
        ref::store_le(p, mem_wdata_.read(), size);
      } else {
        mem_rdata_.write(ref::load_le(p, size));
      }
    }
  }
  if (eng_valid_.read()) {
    iss::Command cmd{Op(eng_op_.read()),
                     uint8_t(eng_width_.read()),
                     id_,
                     eng_thread_.read(),
                     cycle_,
                     eng_addr_.read(),
                     eng_b_.read(),
                     eng_c_.read(),
                     eng_d_.read(),
                     eng_e_.read()};
    iss::Completion c = eng_.command(cmd);
    eng_fault_.write(c.fault);
    eng_fault_addr_.write(c.fault_addr);
    eng_value_.write(c.value);
    eng_latency_.write(c.latency);
  }
  if (qget_valid_.read()) {
    uint64_t v = 0;
    bool ok = queues_.pop(qget_mask_.read(), &v, cycle_);
    qget_ok_.write(ok);
    qget_value_.write(v);
    qget_latency_.write(timing_.queue);
  }
  if (qput_valid_.read()) queues_.push(qput_queue_.read(), qput_value_.read(), cycle_);
}

void RtlCore::end_cycle() {
  if (!tracer_ || !rt_valid_.read()) return;
  iss::Retired r{id_,
                 rt_thread_.read(),
                 rt_cycle_.read(),
                 rt_pc_.read(),
                 rt_word_.read(),
                 rt_wen_.read() ? int(rt_wreg_.read()) : -1,
                 rt_wdata_.read(),
                 uint8_t(rt_fault_.read())};
  tracer_->retired(r);
}

uint64_t RtlCore::read_debug(unsigned thread, unsigned sel) {
  dbg_thread_.write(thread);
  dbg_sel_.write(sel);
  settle();
  return dbg_rdata_.read();
}

uint64_t RtlCore::peek_csr(unsigned thread, Csr n) const {
  if (thread >= nthreads_)
    throw std::out_of_range(fmt::format("core {}: no thread {}", id_, thread));
  const auto& root = *v_->rootp;  // hw/npu_core.sv's public_flat_rd words
  switch (n) {
    case Csr::TID:
      return thread;
    case Csr::CID:
      return id_;
    case Csr::NTHREADS:
      return nthreads_;
    case Csr::NCORES:
      return ncores_n_;
    case Csr::CYCLE:
      return cycle_;
    case Csr::INSTRET:
      return root.npu_core__DOT__instret_reg[thread];
    default:
      break;
  }
  const unsigned i = unsigned(n);
  if (i < unsigned(Csr::PKT_LO) || i > unsigned(Csr::SCRATCH3))
    throw std::out_of_range(fmt::format("core {}: no CSR {}", id_, i));
  if (auto p = pending_csr_.find({thread, i}); p != pending_csr_.end()) return p->second;
  const unsigned slot = thread * 16 + (i - unsigned(Csr::PKT_LO));
  const bool live = (root.npu_core__DOT__csr_live_reg[slot / 32] >> (slot % 32)) & 1;
  return live ? root.npu_core__DOT__csr_reg[slot] : 0;
}

bool RtlCore::idle() const {
  return idle_.read();
}

unsigned RtlCore::current() const {
  return rt_thread_.read();
}

iss::CoreCounters RtlCore::counters() const {
  iss::CoreCounters c;
  c.instret = perf_instret_.read();
  c.busy = perf_busy_.read();
  return c;
}

uint64_t RtlCore::issue_cycles() const {
  return perf_issue_.read();
}

void RtlCore::trace_to(const std::string& path) {
  close_trace();
  fst_ = std::make_unique<VerilatedFstSc>();
  v_->trace(fst_.get(), 99);
  fst_->open(path.c_str());
  if (!fst_->isOpen()) throw std::runtime_error(path + ": cannot write the waveform");
}

void RtlCore::close_trace() {
  if (fst_) fst_->close();
  fst_.reset();
}

}  // namespace npu::rtl
