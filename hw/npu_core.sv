// One NPU core: NTHREADS hardware threads sharing an in-order pipeline.
//
//   fetch (the code store, a synchronous RAM addressed by the next pc)
//   -> execute (decode, scoreboard, ALU/branch/CSR, requests to memory,
//      engines and queues, all answered within the cycle)
//   -> write-back (register file; forwarded to the next instruction).
//
// A thread issues until it needs a register still in flight (a load, an
// engine result, a queue entry), runs `wait`, `yield` or `halt`, or sleeps on
// empty queues; then the core swaps to the next ready thread, round robin.
// Timing is the ISS's (sim/iss/core.cpp) cycle for cycle: an instruction
// holds execute for its issue cycles (a table loaded by the host), a taken
// branch, jump or trap refetches for branch_cycles more, and a swap costs
// swap_cycles. Decoding comes from npu_isa_pkg, generated from isa.def.
// docs/npu_core.md has the ports and the pipeline.
`default_nettype none

module npu_core #(
    parameter int unsigned NTHREADS   = 8,      // hardware threads, 1 to 64
    parameter int unsigned CODE_WORDS = 65536,  // code store depth in instructions (a power of two)
    parameter int unsigned DIV_STEP   = 8       // quotient bits the divider resolves per cycle
) (
    input  wire         clk,
    input  wire         rst_n,          // synchronous, active low
    input  wire         freeze,         // a host access cycle: the pipeline holds, host ports act
    input  wire  [63:0] now,            // device cycle: csr cycle and the scoreboard's time base
    input  wire  [15:0] core_id,        // csr cid
    input  wire  [15:0] ncores,         // csr ncores
    input  wire  [ 6:0] nthreads,       // csr nthreads: threads in use (at most NTHREADS)
    input  wire  [ 7:0] swap_cycles,    // from a thread swap to the new thread's issue, at least 1
    input  wire  [ 7:0] branch_cycles,  // extra cycles of a taken branch, jump or trap
    // Host ports (while freeze is high).
    input  wire         tab_we,         // issue cycles of instruction id tab_op (0: isa.def's)
    input  wire  [ 7:0] tab_op,
    input  wire  [ 7:0] tab_cycles,
    input  wire         code_we,        // code store word
    input  wire  [31:0] code_waddr,
    input  wire  [63:0] code_wdata,
    input  wire  [31:0] code_size,      // words loaded; a pc at or above it is illegal
    input  wire         start_valid,    // thread start_thread starts at start_pc, its state cleared
    input  wire  [ 5:0] start_thread,
    input  wire  [63:0] start_pc,
    input  wire  [ 5:0] dbg_thread,     // debug access to a thread's state
    input  wire  [ 7:0] dbg_sel,        // 0-31 register, 32 pc, 33 state, 64 + n csr n
    input  wire         dbg_we,         // write dbg_wdata there (registers, pc, rw csrs)
    input  wire  [63:0] dbg_wdata,
    output logic [63:0] dbg_rdata,
    output logic        cfg_error,      // the cycle table gives div/mod fewer cycles than the divider needs
    // Memory: loads and stores; the adapter finds the region and its latency.
    output logic        mem_valid,
    input  wire         mem_ready,
    output logic        mem_write,
    output logic [ 3:0] mem_size,
    output logic [63:0] mem_addr,
    output logic [63:0] mem_wdata,      // little-endian bytes
    input  wire         mem_fault,      // no region, or a store to read-only memory
    input  wire  [63:0] mem_rdata,      // little-endian bytes
    input  wire  [31:0] mem_latency,    // cycles from issue until the value is usable
    // Engines: map, atomic, checksum, hash, random, time.
    output logic        eng_valid,
    input  wire         eng_ready,
    output logic [ 7:0] eng_op,         // instruction id
    output logic [ 3:0] eng_width,
    output logic [ 5:0] eng_thread,
    output logic [63:0] eng_addr,       // b + imm
    output logic [63:0] eng_b,
    output logic [63:0] eng_c,
    output logic [63:0] eng_d,
    output logic [63:0] eng_e,
    input  wire         eng_fault,
    input  wire  [63:0] eng_fault_addr,
    input  wire  [63:0] eng_value,
    input  wire  [31:0] eng_latency,
    // Queues.
    output logic        qget_valid,
    input  wire         qget_ready,
    output logic [31:0] qget_mask,
    input  wire         qget_ok,        // an entry was taken
    input  wire  [63:0] qget_value,
    input  wire  [31:0] qget_latency,
    output logic        qput_valid,
    input  wire         qput_ready,
    output logic [31:0] qput_queue,
    output logic [63:0] qput_value,
    input  wire  [31:0] q_nonempty,     // queues holding an entry, by number
    // Retired (or faulted) instruction, for traces and lockstep.
    output logic        rt_valid,
    output logic [ 5:0] rt_thread,
    output logic [63:0] rt_cycle,       // issue cycle
    output logic [63:0] rt_pc,
    output logic [63:0] rt_word,
    output logic        rt_wen,
    output logic [ 4:0] rt_wreg,
    output logic [63:0] rt_wdata,
    output logic [ 7:0] rt_fault,       // NPU fault cause, 0 when none
    // Status and counters.
    output logic        idle,           // no thread can issue without a queue entry
    output logic [63:0] perf_instret,
    output logic [63:0] perf_busy,      // swap cycles + every thread's issue and stall cycles
    output logic [63:0] perf_issue      // cycles some thread issued (held execute)
);
  // ---- parameters ----
  localparam int unsigned TW = (NTHREADS > 1) ? $clog2(NTHREADS) : 1;
  localparam int unsigned CW = $clog2(CODE_WORDS);
  localparam int unsigned NREGS = NTHREADS * 32;
  localparam int unsigned DIV_MIN = 64 / DIV_STEP + 2;  // issue cycles div/mod need

  if (NTHREADS < 1 || NTHREADS > 64) begin : g_bad_threads
    $error("npu_core: NTHREADS must be 1 to 64");
  end
  if (CODE_WORDS < 2 || (1 << CW) != CODE_WORDS) begin : g_bad_code
    $error("npu_core: CODE_WORDS must be a power of two");
  end
  if (DIV_STEP == 0 || 64 % DIV_STEP != 0 || DIV_MIN > 255) begin : g_bad_div
    $error("npu_core: DIV_STEP must divide 64 and leave at most 253 iterations");
  end

  // Instructions of the divider: their issue cycles must cover its iterations.
  localparam logic [16*8-1:0] DIV_OPS = {
      npu_isa_pkg::OP_DIV, npu_isa_pkg::OP_DIVI, npu_isa_pkg::OP_DIVW, npu_isa_pkg::OP_DIVWI,
      npu_isa_pkg::OP_SDIV, npu_isa_pkg::OP_SDIVI, npu_isa_pkg::OP_SDIVW, npu_isa_pkg::OP_SDIVWI,
      npu_isa_pkg::OP_MOD, npu_isa_pkg::OP_MODI, npu_isa_pkg::OP_MODW, npu_isa_pkg::OP_MODWI,
      npu_isa_pkg::OP_SMOD, npu_isa_pkg::OP_SMODI, npu_isa_pkg::OP_SMODW, npu_isa_pkg::OP_SMODWI};

  // Thread states.
  localparam logic [1:0] TS_HALTED = 2'd0;
  localparam logic [1:0] TS_READY = 2'd1;
  localparam logic [1:0] TS_QWAIT = 2'd2;
  localparam logic [1:0] TS_FAULTED = 2'd3;

  // ---- state ----
  logic [63:0] code_mem[CODE_WORDS];
  logic [ 7:0] tab_reg[256];
  logic [255:0] tab_set_reg;  // entries the host wrote (the others: isa.def's cycles)
  // Registers and CSRs of a started thread read as zero until written: a
  // start clears the thread's valid bits instead of every word.
  logic [63:0] rf_reg[NREGS];  // registers, index {thread, reg}
  logic [NREGS-1:0] rf_live_reg;
  logic [63:0] rdy_reg[NREGS];  // scoreboard: cycle from which each register's value is usable
  logic [NREGS-1:0] rdy_live_reg;
  logic [63:0] pc_reg[NTHREADS];
  logic [2*NTHREADS-1:0] st_reg;  // 2 bits a thread
  logic [63:0] wake_reg[NTHREADS];  // a ready thread may issue from this cycle on
  logic [31:0] qmask_reg[NTHREADS];  // queues a sleeping thread waits on
  logic [63:0] done_reg[NTHREADS];  // when everything the thread issued has completed
  // The CSR words are also readable by a simulator's host between cycles
  // (public to Verilator; a comment to anything else).
  logic [63:0] instret_reg[NTHREADS]  /*verilator public_flat_rd*/;
  logic [63:0] csr_reg[NTHREADS * 16]  /*verilator public_flat_rd*/;  // rw csrs 0x08..0x13 at {thread, n - 8}
  logic [NTHREADS*16-1:0] csr_live_reg  /*verilator public_flat_rd*/;

  // Fetch -> execute: the word at if_pc_reg of thread if_thread_reg.
  logic [63:0] if_word_reg;
  logic [63:0] if_pc_reg;
  logic if_in_reg;  // the pc was inside the loaded code
  logic ex_valid_reg;  // it is the instruction at pc_reg[cur_reg] (nothing changed since)
  logic [TW-1:0] cur_reg, cur_next;  // the thread execute belongs to
  logic need_pick_reg, need_pick_next;  // the current thread stopped: pick before issuing
  logic [15:0] busy_reg, busy_next;  // cycles execute stays occupied (issue cycles, refetch)
  // Write-back.
  logic wb_valid_reg, wb_valid_next;
  logic [TW-1:0] wb_thread_reg, wb_thread_next;
  logic [4:0] wb_reg_reg, wb_reg_next;
  logic [63:0] wb_data_reg, wb_data_next;
  // A div/mod in the divider: retired at the end of its issue cycles.
  logic dv_pending_reg, dv_pending_next;
  logic dv_w_reg, dv_mod_reg;
  logic [4:0] dv_a_reg;
  logic [63:0] dv_cycle_reg, dv_pc_reg, dv_word_reg;
  logic [63:0] perf_instret_reg, perf_busy_reg, perf_issue_reg;

  // ---- fetch ----
  logic [63:0] fetch_pc;
  always_ff @(posedge clk) begin
    if (!freeze) begin
      if_word_reg <= code_mem[fetch_pc[CW-1:0]];
      if_pc_reg <= fetch_pc;
      if_in_reg <= fetch_pc < {32'd0, code_size} && fetch_pc < 64'(CODE_WORDS);
    end else begin
      if (code_we && code_waddr < 32'(CODE_WORDS)) code_mem[code_waddr[CW-1:0]] <= code_wdata;
      // A write to the word in execute goes there too (the ISS reads its
      // code store at every issue), and a new size may move the end.
      if (code_we && {32'd0, code_waddr} == if_pc_reg) if_word_reg <= code_wdata;
      if_in_reg <= if_pc_reg < {32'd0, code_size} && if_pc_reg < 64'(CODE_WORDS);
    end
  end

  // ---- decode ----
  wire [63:0] word = if_in_reg ? if_word_reg : '1;  // outside the code: undefined (opcode 0xff)
  npu_isa_pkg::opinfo_t di;
  logic [npu_isa_pkg::NUM_FIELDS-1:0] fld;
  logic legal;
  always_comb begin
    di = npu_isa_pkg::decode_opcode(word[7:0]);
    fld = npu_isa_pkg::format_fields(di.fmt);
    legal = di.valid && (word & ~npu_isa_pkg::insn_mask(di.op)) == 64'd0;
  end
  wire [4:0] fa = fld[npu_isa_pkg::FLD_A] ? word[12:8] : 5'd0;
  wire [4:0] fb = fld[npu_isa_pkg::FLD_B] ? word[17:13] : 5'd0;
  wire [4:0] fd = fld[npu_isa_pkg::FLD_D] ? word[22:18] : 5'd0;
  wire [4:0] fe = fld[npu_isa_pkg::FLD_E] ? word[27:23] : 5'd0;
  wire [4:0] fc = fld[npu_isa_pkg::FLD_C] ? word[36:32] : 5'd0;
  wire [63:0] imm = {{32{word[63]}}, word[63:32]};
  wire [63:0] off = {{50{word[31]}}, word[31:18]};
  wire [7:0] op = di.op;

  // Registers of the current thread, forwarded from write-back.
  wire wb_here = wb_valid_reg && wb_thread_reg == cur_reg;
  function automatic logic [63:0] live(input logic ok, input logic [63:0] v);
    live = ok ? v : 64'd0;
  endfunction
  wire [63:0] va = (wb_here && wb_reg_reg == fa) ? wb_data_reg :
      live(rf_live_reg[{cur_reg, fa}], rf_reg[{cur_reg, fa}]);
  wire [63:0] vb = (wb_here && wb_reg_reg == fb) ? wb_data_reg :
      live(rf_live_reg[{cur_reg, fb}], rf_reg[{cur_reg, fb}]);
  wire [63:0] vc = (wb_here && wb_reg_reg == fc) ? wb_data_reg :
      live(rf_live_reg[{cur_reg, fc}], rf_reg[{cur_reg, fc}]);
  wire [63:0] vd = (wb_here && wb_reg_reg == fd) ? wb_data_reg :
      live(rf_live_reg[{cur_reg, fd}], rf_reg[{cur_reg, fd}]);
  wire [63:0] ve = (wb_here && wb_reg_reg == fe) ? wb_data_reg :
      live(rf_live_reg[{cur_reg, fe}], rf_reg[{cur_reg, fe}]);

  // Registers the instruction reads or writes: each must be out of flight.
  logic [31:0] use_mask;
  always_comb begin
    use_mask = '0;
    if (legal) begin
      if (fld[npu_isa_pkg::FLD_A] && (di.wa || di.ra || op == npu_isa_pkg::OP_LIH))
        use_mask[fa] = 1'b1;
      if (fld[npu_isa_pkg::FLD_B]) use_mask[fb] = 1'b1;
      if (fld[npu_isa_pkg::FLD_C]) use_mask[fc] = 1'b1;
      if (fld[npu_isa_pkg::FLD_D]) use_mask[fd] = 1'b1;
      if (fld[npu_isa_pkg::FLD_E]) use_mask[fe] = 1'b1;
    end
  end
  logic sb_stall;
  logic [63:0] sb_ready;  // the latest arrival among the registers still in flight
  always_comb begin : b_scoreboard
    integer r;
    sb_stall = 1'b0;
    sb_ready = '0;
    for (r = 0; r < 32; r = r + 1) begin
      if (use_mask[r] && rdy_live_reg[{cur_reg, 5'(r)}] && rdy_reg[{cur_reg, 5'(r)}] > now) begin
        sb_stall = 1'b1;
        if (rdy_reg[{cur_reg, 5'(r)}] > sb_ready) sb_ready = rdy_reg[{cur_reg, 5'(r)}];
      end
    end
  end

  // ---- helpers ----
  // The low n bytes of x in reverse order (big-endian packet access).
  function automatic logic [63:0] bswap_n(input logic [63:0] x, input logic [3:0] n);
    logic [63:0] y;
    integer i;
    y = '0;
    for (i = 0; i < 8; i = i + 1)
      if (4'(i) < n) y[i*8+:8] = x[(32'(n)-1-i)*8+:8];
    bswap_n = y;
  endfunction
  function automatic logic [63:0] zext_n(input logic [63:0] x, input logic [3:0] n);
    zext_n = (n >= 4'd8) ? x : x & ((64'd1 << {n, 3'b000}) - 64'd1);
  endfunction
  function automatic logic [63:0] sext_n(input logic [63:0] x, input logic [3:0] n);
    logic [6:0] sh;
    sh = 7'd64 - {n, 3'b000};
    sext_n = (n >= 4'd8) ? x : 64'($signed(x << sh) >>> sh);
  endfunction
  function automatic logic [63:0] z32(input logic [31:0] x);
    z32 = {32'd0, x};
  endfunction

  // ---- ALU and branch conditions ----
  wire second_c = fld[npu_isa_pkg::FLD_C];
  wire [63:0] y_op = second_c ? vc : imm;
  logic w_form;  // a 32-bit form (operates on the low halves, zero-extends)
  logic [63:0] alu;
  logic is_alu;
  logic [5:0] sh;
  always_comb begin : b_alu
    logic [63:0] x, y;
    w_form = 1'b0;
    is_alu = 1'b1;
    alu = '0;
    unique case (op)
      npu_isa_pkg::OP_ADDW, npu_isa_pkg::OP_ADDWI, npu_isa_pkg::OP_SUBW, npu_isa_pkg::OP_SUBWI,
      npu_isa_pkg::OP_MULW, npu_isa_pkg::OP_MULWI, npu_isa_pkg::OP_DIVW, npu_isa_pkg::OP_DIVWI,
      npu_isa_pkg::OP_SDIVW, npu_isa_pkg::OP_SDIVWI, npu_isa_pkg::OP_MODW, npu_isa_pkg::OP_MODWI,
      npu_isa_pkg::OP_SMODW, npu_isa_pkg::OP_SMODWI, npu_isa_pkg::OP_ORW, npu_isa_pkg::OP_ORWI,
      npu_isa_pkg::OP_ANDW, npu_isa_pkg::OP_ANDWI, npu_isa_pkg::OP_XORW, npu_isa_pkg::OP_XORWI,
      npu_isa_pkg::OP_LSHW, npu_isa_pkg::OP_LSHWI, npu_isa_pkg::OP_RSHW, npu_isa_pkg::OP_RSHWI,
      npu_isa_pkg::OP_ARSHW, npu_isa_pkg::OP_ARSHWI, npu_isa_pkg::OP_BEQW, npu_isa_pkg::OP_BEQWI,
      npu_isa_pkg::OP_BNEW, npu_isa_pkg::OP_BNEWI, npu_isa_pkg::OP_BGTW, npu_isa_pkg::OP_BGTWI,
      npu_isa_pkg::OP_BGEW, npu_isa_pkg::OP_BGEWI, npu_isa_pkg::OP_BLTW, npu_isa_pkg::OP_BLTWI,
      npu_isa_pkg::OP_BLEW, npu_isa_pkg::OP_BLEWI, npu_isa_pkg::OP_BSGTW, npu_isa_pkg::OP_BSGTWI,
      npu_isa_pkg::OP_BSGEW, npu_isa_pkg::OP_BSGEWI, npu_isa_pkg::OP_BSLTW, npu_isa_pkg::OP_BSLTWI,
      npu_isa_pkg::OP_BSLEW, npu_isa_pkg::OP_BSLEWI, npu_isa_pkg::OP_BSETW, npu_isa_pkg::OP_BSETWI:
      w_form = 1'b1;
      default: w_form = 1'b0;
    endcase
    x = w_form ? z32(vb[31:0]) : vb;
    y = w_form ? z32(y_op[31:0]) : y_op;
    sh = w_form ? {1'b0, y[4:0]} : y[5:0];
    unique case (op)
      npu_isa_pkg::OP_ADD, npu_isa_pkg::OP_ADDI, npu_isa_pkg::OP_ADDW, npu_isa_pkg::OP_ADDWI:
      alu = x + y;
      npu_isa_pkg::OP_SUB, npu_isa_pkg::OP_SUBI, npu_isa_pkg::OP_SUBW, npu_isa_pkg::OP_SUBWI:
      alu = x - y;
      npu_isa_pkg::OP_MUL, npu_isa_pkg::OP_MULI, npu_isa_pkg::OP_MULW, npu_isa_pkg::OP_MULWI:
      alu = x * y;
      npu_isa_pkg::OP_OR, npu_isa_pkg::OP_ORI, npu_isa_pkg::OP_ORW, npu_isa_pkg::OP_ORWI:
      alu = x | y;
      npu_isa_pkg::OP_AND, npu_isa_pkg::OP_ANDI, npu_isa_pkg::OP_ANDW, npu_isa_pkg::OP_ANDWI:
      alu = x & y;
      npu_isa_pkg::OP_XOR, npu_isa_pkg::OP_XORI, npu_isa_pkg::OP_XORW, npu_isa_pkg::OP_XORWI:
      alu = x ^ y;
      npu_isa_pkg::OP_LSH, npu_isa_pkg::OP_LSHI, npu_isa_pkg::OP_LSHW, npu_isa_pkg::OP_LSHWI:
      alu = x << sh;
      npu_isa_pkg::OP_RSH, npu_isa_pkg::OP_RSHI, npu_isa_pkg::OP_RSHW, npu_isa_pkg::OP_RSHWI:
      alu = x >> sh;
      npu_isa_pkg::OP_ARSH, npu_isa_pkg::OP_ARSHI:
      alu = 64'($signed(x) >>> sh);
      npu_isa_pkg::OP_ARSHW, npu_isa_pkg::OP_ARSHWI:
      alu = 64'($signed({{32{x[31]}}, x[31:0]}) >>> sh);
      npu_isa_pkg::OP_MOV: alu = vb;
      npu_isa_pkg::OP_NEG: alu = -vb;
      npu_isa_pkg::OP_LI: alu = imm;
      npu_isa_pkg::OP_LIH: alu = {word[63:32], va[31:0]};
      npu_isa_pkg::OP_MOVW: alu = vb;
      npu_isa_pkg::OP_NEGW: alu = -vb;
      npu_isa_pkg::OP_LIW: alu = imm;
      npu_isa_pkg::OP_SEXT8, npu_isa_pkg::OP_SEXT8W: alu = sext_n(vb, 4'd1);
      npu_isa_pkg::OP_SEXT16, npu_isa_pkg::OP_SEXT16W: alu = sext_n(vb, 4'd2);
      npu_isa_pkg::OP_SEXT32: alu = sext_n(vb, 4'd4);
      npu_isa_pkg::OP_BSWAP16: alu = bswap_n(vb, 4'd2);
      npu_isa_pkg::OP_BSWAP32: alu = bswap_n(vb, 4'd4);
      npu_isa_pkg::OP_BSWAP64: alu = bswap_n(vb, 4'd8);
      default: is_alu = 1'b0;
    endcase
    // 32-bit forms zero-extend their result.
    if (w_form || op == npu_isa_pkg::OP_MOVW || op == npu_isa_pkg::OP_NEGW ||
        op == npu_isa_pkg::OP_LIW || op == npu_isa_pkg::OP_SEXT8W || op == npu_isa_pkg::OP_SEXT16W)
      alu = z32(alu[31:0]);
  end

  logic br_taken;  // a conditional branch's condition holds
  always_comb begin : b_cond
    logic [63:0] x, y;
    logic [64:0] xs, ys;  // sign-extended by one bit for signed comparisons
    x = w_form ? z32(vb[31:0]) : vb;
    y = w_form ? z32(y_op[31:0]) : y_op;
    xs = w_form ? {{33{x[31]}}, x[31:0]} : {x[63], x};
    ys = w_form ? {{33{y[31]}}, y[31:0]} : {y[63], y};
    unique case (op)
      npu_isa_pkg::OP_BEQ, npu_isa_pkg::OP_BEQI, npu_isa_pkg::OP_BEQW, npu_isa_pkg::OP_BEQWI:
      br_taken = x == y;
      npu_isa_pkg::OP_BNE, npu_isa_pkg::OP_BNEI, npu_isa_pkg::OP_BNEW, npu_isa_pkg::OP_BNEWI:
      br_taken = x != y;
      npu_isa_pkg::OP_BGT, npu_isa_pkg::OP_BGTI, npu_isa_pkg::OP_BGTW, npu_isa_pkg::OP_BGTWI:
      br_taken = x > y;
      npu_isa_pkg::OP_BGE, npu_isa_pkg::OP_BGEI, npu_isa_pkg::OP_BGEW, npu_isa_pkg::OP_BGEWI:
      br_taken = x >= y;
      npu_isa_pkg::OP_BLT, npu_isa_pkg::OP_BLTI, npu_isa_pkg::OP_BLTW, npu_isa_pkg::OP_BLTWI:
      br_taken = x < y;
      npu_isa_pkg::OP_BLE, npu_isa_pkg::OP_BLEI, npu_isa_pkg::OP_BLEW, npu_isa_pkg::OP_BLEWI:
      br_taken = x <= y;
      npu_isa_pkg::OP_BSGT, npu_isa_pkg::OP_BSGTI, npu_isa_pkg::OP_BSGTW, npu_isa_pkg::OP_BSGTWI:
      br_taken = $signed(xs) > $signed(ys);
      npu_isa_pkg::OP_BSGE, npu_isa_pkg::OP_BSGEI, npu_isa_pkg::OP_BSGEW, npu_isa_pkg::OP_BSGEWI:
      br_taken = $signed(xs) >= $signed(ys);
      npu_isa_pkg::OP_BSLT, npu_isa_pkg::OP_BSLTI, npu_isa_pkg::OP_BSLTW, npu_isa_pkg::OP_BSLTWI:
      br_taken = $signed(xs) < $signed(ys);
      npu_isa_pkg::OP_BSLE, npu_isa_pkg::OP_BSLEI, npu_isa_pkg::OP_BSLEW, npu_isa_pkg::OP_BSLEWI:
      br_taken = $signed(xs) <= $signed(ys);
      npu_isa_pkg::OP_BSET, npu_isa_pkg::OP_BSETI, npu_isa_pkg::OP_BSETW, npu_isa_pkg::OP_BSETWI:
      br_taken = (x & y) != 64'd0;
      default: br_taken = 1'b0;
    endcase
  end

  // ---- divider ----
  wire is_div = legal && di.unit == npu_isa_pkg::UNIT_DIV;
  wire div_signed = op == npu_isa_pkg::OP_SDIV || op == npu_isa_pkg::OP_SDIVI ||
      op == npu_isa_pkg::OP_SDIVW || op == npu_isa_pkg::OP_SDIVWI ||
      op == npu_isa_pkg::OP_SMOD || op == npu_isa_pkg::OP_SMODI ||
      op == npu_isa_pkg::OP_SMODW || op == npu_isa_pkg::OP_SMODWI;
  wire div_mod = op == npu_isa_pkg::OP_MOD || op == npu_isa_pkg::OP_MODI ||
      op == npu_isa_pkg::OP_MODW || op == npu_isa_pkg::OP_MODWI || op == npu_isa_pkg::OP_SMOD ||
      op == npu_isa_pkg::OP_SMODI || op == npu_isa_pkg::OP_SMODW || op == npu_isa_pkg::OP_SMODWI;
  wire [63:0] div_x = !w_form ? vb : div_signed ? {{32{vb[31]}}, vb[31:0]} : z32(vb[31:0]);
  wire [63:0] div_y = !w_form ? y_op : div_signed ? {{32{y_op[31]}}, y_op[31:0]} : z32(y_op[31:0]);
  logic div_start;
  logic [63:0] div_q, div_r;
  logic div_done;
  npu_div #(.STEP(DIV_STEP)) u_div (
      .clk(clk),
      .start(div_start),
      .x(div_x),
      .y(div_y),
      .is_signed(div_signed),
      .quotient(div_q),
      .remainder(div_r),
      .done(div_done)
  );
  wire [63:0] div_res_raw = dv_mod_reg ? div_r : div_q;
  wire [63:0] div_res = dv_w_reg ? z32(div_res_raw[31:0]) : div_res_raw;

  // ---- CSRs ----
  wire [63:0] csr_n = imm;
  wire csr_rw = csr_n >= 64'h8 && csr_n <= 64'h13;
  wire csr_readable = csr_rw || csr_n <= 64'h5;
  wire [3:0] csr_idx = 4'(csr_n - 64'h8);
  // Two read ports: [0] execute (csrr), [1] debug.
  logic [TW-1:0] csr_rt[2];
  logic [63:0] csr_rn[2], csr_rv[2];
  always_comb begin : b_csr_read
    integer p;
    for (p = 0; p < 2; p = p + 1) begin
      unique case (csr_rn[p])
        64'h0: csr_rv[p] = 64'(csr_rt[p]);
        64'h1: csr_rv[p] = {48'd0, core_id};
        64'h2: csr_rv[p] = {57'd0, nthreads};
        64'h3: csr_rv[p] = {48'd0, ncores};
        64'h4: csr_rv[p] = now;
        64'h5: csr_rv[p] = instret_reg[csr_rt[p]];
        default:
        csr_rv[p] = (csr_rn[p] >= 64'h8 && csr_rn[p] <= 64'h13) ?
            live(csr_live_reg[{csr_rt[p], 4'(csr_rn[p] - 64'h8)}],
                 csr_reg[{csr_rt[p], 4'(csr_rn[p] - 64'h8)}]) : 64'd0;
      endcase
    end
  end
  localparam logic [3:0] C_PKT_LO = 4'(npu_isa_pkg::CSR_PKT_LO - 12'h8);
  localparam logic [3:0] C_PKT_HI = 4'(npu_isa_pkg::CSR_PKT_HI - 12'h8);
  localparam logic [3:0] C_XVEC = 4'(npu_isa_pkg::CSR_XVEC - 12'h8);
  localparam logic [3:0] C_FVEC = 4'(npu_isa_pkg::CSR_FVEC - 12'h8);
  localparam logic [3:0] C_EPC = 4'(npu_isa_pkg::CSR_EPC - 12'h8);
  localparam logic [3:0] C_CAUSE = 4'(npu_isa_pkg::CSR_CAUSE - 12'h8);
  localparam logic [3:0] C_BADADDR = 4'(npu_isa_pkg::CSR_BADADDR - 12'h8);
  localparam logic [3:0] C_VERDICT = 4'(npu_isa_pkg::CSR_VERDICT - 12'h8);
  wire [63:0] t_pkt_lo = live(csr_live_reg[{cur_reg, C_PKT_LO}], csr_reg[{cur_reg, C_PKT_LO}]);
  wire [63:0] t_pkt_hi = live(csr_live_reg[{cur_reg, C_PKT_HI}], csr_reg[{cur_reg, C_PKT_HI}]);
  wire [63:0] t_xvec = live(csr_live_reg[{cur_reg, C_XVEC}], csr_reg[{cur_reg, C_XVEC}]);
  wire [63:0] t_fvec = live(csr_live_reg[{cur_reg, C_FVEC}], csr_reg[{cur_reg, C_FVEC}]);

  // ---- the thread to run next: round robin from the one after the current
  // (the current one last), or from the current one when nothing was fetched ----
  logic [NTHREADS-1:0] cand;
  always_comb begin : b_cand
    integer t;
    for (t = 0; t < NTHREADS; t = t + 1)
      cand[t] = (st_reg[2*t+:2] == TS_READY && wake_reg[t] <= now) ||
          (st_reg[2*t+:2] == TS_QWAIT && (qmask_reg[t] & q_nonempty) != 32'd0);
  end
  logic pick_ok;
  logic [TW-1:0] pick_t;
  always_comb begin : b_pick
    integer base, t, k;
    pick_ok = 1'b0;
    pick_t = cur_reg;
    base = {{(32 - TW) {1'b0}}, cur_reg} + {31'd0, ex_valid_reg};
    // Scanned backwards so that the first candidate in round-robin order wins.
    for (k = NTHREADS - 1; k >= 0; k = k - 1) begin
      t = base + k;
      if (t >= NTHREADS) t = t - NTHREADS;
      if (cand[t]) begin
        pick_ok = 1'b1;
        pick_t = TW'(t);
      end
    end
  end

  // ---- execute ----
  wire [7:0] cost = !legal ? 8'd1 : tab_set_reg[op] ? tab_reg[op] : di.cycles;
  wire is_mem = legal && (di.unit == npu_isa_pkg::UNIT_MEM || di.unit == npu_isa_pkg::UNIT_PKT);
  wire is_pkt = legal && di.unit == npu_isa_pkg::UNIT_PKT;
  wire is_eng = legal && (di.unit == npu_isa_pkg::UNIT_ATOMIC || di.unit == npu_isa_pkg::UNIT_MAP ||
      di.unit == npu_isa_pkg::UNIT_CSUM || di.unit == npu_isa_pkg::UNIT_HASH ||
      di.unit == npu_isa_pkg::UNIT_RAND || di.unit == npu_isa_pkg::UNIT_TIME);
  wire is_store = op == npu_isa_pkg::OP_ST || op == npu_isa_pkg::OP_STI ||
      op == npu_isa_pkg::OP_STP || op == npu_isa_pkg::OP_STPB || op == npu_isa_pkg::OP_STPI;
  wire store_imm = op == npu_isa_pkg::OP_STI || op == npu_isa_pkg::OP_STPI;
  wire [63:0] m_addr = vb + (store_imm ? off : imm);
  wire [64:0] m_end = {1'b0, m_addr} + {61'd0, di.size};
  wire pkt_bad = m_addr < t_pkt_lo || m_end[64] || m_end[63:0] > t_pkt_hi;
  wire [63:0] m_wdata = store_imm ? imm : op == npu_isa_pkg::OP_STPB ? bswap_n(va, di.size) : va;

  logic try_issue;  // the current thread's instruction tries to issue this cycle
  logic issue;  // ... and does
  always_comb begin
    try_issue = 1'b0;
    if (!freeze && busy_reg == 0 && ex_valid_reg) begin
      if (!need_pick_reg && cand[cur_reg]) try_issue = 1'b1;
      else if (pick_ok && pick_t == cur_reg) try_issue = 1'b1;
    end
  end
  wire go = try_issue && !sb_stall;  // operands are all out of flight: requests go out
  wire is_qget = legal && op == npu_isa_pkg::OP_QGET;
  wire is_qput = legal && op == npu_isa_pkg::OP_QPUT;

  // Requests: they depend on state and registers only, never on a response.
  always_comb begin
    mem_valid = go && is_mem && !(is_pkt && pkt_bad);
    mem_write = is_store;
    mem_size = di.size;
    mem_addr = m_addr;
    mem_wdata = zext_n(m_wdata, di.size);
    eng_valid = go && is_eng;
    eng_op = op;
    eng_width = di.size;
    eng_thread = 6'(cur_reg);
    eng_addr = vb + imm;
    eng_b = vb;
    eng_c = vc;
    eng_d = vd;
    eng_e = ve;
    qget_valid = go && is_qget;
    qget_mask = imm[31:0];
    qput_valid = go && is_qput;
    qput_queue = imm[31:0];
    qput_value = vb;
  end
  wire chan_wait = (mem_valid && !mem_ready) || (eng_valid && !eng_ready) ||
      (qget_valid && !qget_ready) || (qput_valid && !qput_ready);

  // The outcome of the issuing instruction.
  logic [63:0] res;  // value for register a
  logic wen;  // writes register a now
  logic async_w;  // ... with a latency
  logic [31:0] lat;
  logic posted;  // a store or command whose completion `wait` waits for
  logic redirect;  // the pc leaves the sequence: refetch
  logic [63:0] next_pc;
  logic [7:0] fault;
  logic [63:0] fault_addr;
  logic stop_run;  // the thread stops issuing (yield, halt, wait)
  logic halt_t, wait_stop;
  logic [63:0] wait_until;
  logic sleep;  // qget found every queue empty: not issued
  always_comb begin
    res = '0;
    wen = 1'b0;
    async_w = 1'b0;
    lat = 32'd0;
    posted = 1'b0;
    redirect = 1'b0;
    next_pc = if_pc_reg + 64'd1;
    fault = npu_isa_pkg::FAULT_NONE;
    fault_addr = '0;
    stop_run = 1'b0;
    halt_t = 1'b0;
    wait_stop = 1'b0;
    wait_until = done_reg[cur_reg];
    sleep = 1'b0;
    div_start = 1'b0;
    if (!legal) begin
      fault = npu_isa_pkg::FAULT_ILLEGAL;
      fault_addr = if_pc_reg;
    end else if (is_alu) begin
      res = alu;
      wen = 1'b1;
    end else if (is_div) begin
      div_start = go;
    end else if (is_mem) begin
      if (is_pkt && pkt_bad) begin
        fault = npu_isa_pkg::FAULT_PKT_BOUNDS;
        fault_addr = m_addr;
      end else if (mem_fault) begin
        fault = npu_isa_pkg::FAULT_MEM;
        fault_addr = m_addr;
      end else if (is_store) begin
        posted = 1'b1;
        lat = mem_latency;
      end else begin
        unique case (op)
          npu_isa_pkg::OP_LDS: res = sext_n(mem_rdata, di.size);
          npu_isa_pkg::OP_LDPB: res = bswap_n(mem_rdata, di.size);
          default: res = zext_n(mem_rdata, di.size);
        endcase
        wen = 1'b1;
        async_w = di.async_;
        lat = mem_latency;
      end
    end else if (is_eng) begin
      if (eng_fault) begin
        fault = npu_isa_pkg::FAULT_MEM;
        fault_addr = eng_fault_addr;
      end else if (di.wa) begin
        res = eng_value;
        wen = 1'b1;
        async_w = di.async_;
        lat = eng_latency;
      end else begin
        posted = 1'b1;
        lat = eng_latency;
      end
    end else begin
      unique case (op)
        npu_isa_pkg::OP_NOP: ;
        npu_isa_pkg::OP_HALT: begin
          halt_t = 1'b1;
          stop_run = di.stop;
        end
        npu_isa_pkg::OP_YIELD: stop_run = di.stop;
        npu_isa_pkg::OP_WAIT: begin
          wait_stop = wait_until > now + 64'(cost);
          stop_run = wait_stop;
        end
        npu_isa_pkg::OP_EXIT, npu_isa_pkg::OP_EXITR: begin
          redirect = 1'b1;
          next_pc = t_xvec;
        end
        npu_isa_pkg::OP_JMP: begin
          redirect = 1'b1;
          next_pc = if_pc_reg + imm;
        end
        npu_isa_pkg::OP_JAL, npu_isa_pkg::OP_JALR: begin
          redirect = 1'b1;
          next_pc = op == npu_isa_pkg::OP_JAL ? if_pc_reg + imm : vb;
          res = if_pc_reg + 64'd1;  // the link
          wen = 1'b1;
        end
        npu_isa_pkg::OP_JR: begin
          redirect = 1'b1;
          next_pc = vb;
        end
        npu_isa_pkg::OP_CSRR: begin
          if (!csr_readable) begin
            fault = npu_isa_pkg::FAULT_CSR;
            fault_addr = csr_n;
          end else begin
            res = csr_rv[0];
            wen = 1'b1;
          end
        end
        npu_isa_pkg::OP_CSRW: begin
          if (!csr_rw) begin
            fault = npu_isa_pkg::FAULT_CSR;
            fault_addr = csr_n;
          end
        end
        npu_isa_pkg::OP_QGET: begin
          if (!qget_ok) sleep = qget_ready;
          else begin
            res = qget_value;
            wen = 1'b1;
            async_w = di.async_;
            lat = qget_latency;
          end
        end
        npu_isa_pkg::OP_QPUT: ;
        default: begin
          // Conditional branches.
          if (di.br && br_taken) begin
            redirect = 1'b1;
            next_pc = if_pc_reg + off;
          end
        end
      endcase
    end
  end
  wire faulted = fault != npu_isa_pkg::FAULT_NONE;
  wire goes_to_sleep = go && sleep && !chan_wait;  // the qget found every queue empty
  wire trap = faulted && t_fvec != 64'd0;
  assign issue = go && !chan_wait && !sleep;

  // ---- next state of the pipeline and the current thread ----
  logic [63:0] pc_w;  // the current thread's pc after this cycle
  logic pc_we;
  logic [1:0] st_w;
  logic st_we;
  logic [63:0] wake_w;
  logic wake_we;
  logic [63:0] busy_add;  // added to perf_busy
  logic [15:0] issue_add;  // added to perf_issue: cycles execute is held by an issued instruction
  logic retire_now;  // rt_* describe an instruction this cycle
  logic [63:0] fetch_thread_pc;
  always_comb begin
    cur_next = cur_reg;
    need_pick_next = need_pick_reg;
    busy_next = busy_reg;
    pc_w = pc_reg[cur_reg];
    pc_we = 1'b0;
    st_w = st_reg[2*cur_reg+:2];
    st_we = 1'b0;
    wake_w = wake_reg[cur_reg];
    wake_we = 1'b0;
    busy_add = '0;
    issue_add = '0;
    dv_pending_next = dv_pending_reg;
    retire_now = 1'b0;
    wb_valid_next = 1'b0;
    wb_thread_next = cur_reg;
    wb_reg_next = fa;
    wb_data_next = res;
    if (freeze) begin
      wb_valid_next = 1'b0;
    end else if (busy_reg != 0) begin
      busy_next = busy_reg - 16'd1;
      if (busy_reg == 16'd1 && dv_pending_reg && div_done) begin
        dv_pending_next = 1'b0;
        retire_now = 1'b1;
        wb_valid_next = 1'b1;
        wb_reg_next = dv_a_reg;
        wb_data_next = div_res;
      end
    end else if (try_issue && (sb_stall || (sleep && !chan_wait))) begin
      // Not issued: wait for the operands (or a queue entry) and let another thread run.
      if (sb_stall) begin
        wake_w = sb_ready;
        wake_we = 1'b1;
        busy_add = sb_ready - now;
      end else begin
        st_w = TS_QWAIT;
        st_we = 1'b1;
      end
      need_pick_next = 1'b1;
      if (pick_ok && pick_t != cur_reg) begin
        cur_next = pick_t;
        need_pick_next = 1'b0;
        busy_next = 16'(swap_cycles) - 16'd1;
        busy_add = busy_add + 64'(swap_cycles);
      end
    end else if (issue) begin
      retire_now = !(is_div && !faulted) || cost == 8'd1;
      need_pick_next = 1'b0;
      busy_add = 64'(cost);
      issue_add = 16'(cost);
      busy_next = 16'(cost) - 16'd1;
      if (faulted) begin
        if (trap) begin
          pc_w = t_fvec;
          pc_we = 1'b1;
          busy_next = busy_next + 16'(branch_cycles);
          busy_add = busy_add + 64'(branch_cycles);
          issue_add = issue_add + 16'(branch_cycles);
        end else begin
          st_w = TS_FAULTED;
          st_we = 1'b1;
          need_pick_next = 1'b1;
        end
      end else begin
        pc_w = next_pc;
        pc_we = 1'b1;
        if (redirect) begin
          busy_next = busy_next + 16'(branch_cycles);
          busy_add = busy_add + 64'(branch_cycles);
          issue_add = issue_add + 16'(branch_cycles);
        end
        wb_valid_next = wen;
        if (st_reg[2*cur_reg+:2] == TS_QWAIT) begin
          st_w = TS_READY;  // woken by the entry it took
          st_we = 1'b1;
        end
        if (is_div) dv_pending_next = cost != 8'd1;
        if (stop_run) begin
          need_pick_next = 1'b1;
          wake_w = wait_stop ? wait_until : now + 64'(cost);
          wake_we = 1'b1;
          if (wait_stop) busy_add = busy_add + (wait_until - now - 64'(cost));
          if (halt_t) begin
            st_w = TS_HALTED;
            st_we = 1'b1;
          end
        end
      end
    end else if (!try_issue) begin
      // Pick a thread: swap to it, or stay idle.
      need_pick_next = 1'b1;
      if (pick_ok) begin
        cur_next = pick_t;
        need_pick_next = 1'b0;
        busy_next = 16'(swap_cycles) - 16'd1;
        busy_add = 64'(swap_cycles);
      end
    end
    // The pc of the thread execute holds next, fetched now.
    fetch_thread_pc = (cur_next == cur_reg) ? (pc_we ? pc_w : pc_reg[cur_reg]) : pc_reg[cur_next];
  end
  assign fetch_pc = fetch_thread_pc;

  // ---- registers ----
  wire [TW-1:0] st_t = TW'(start_thread);
  wire [TW-1:0] dbg_t = TW'(dbg_thread);
  wire start_ok = freeze && start_valid && 32'(start_thread) < NTHREADS;
  wire dbg_ok = freeze && dbg_we && 32'(dbg_thread) < NTHREADS;
  // Valid bits: set by writes, cleared for a thread by its start.
  logic [NREGS-1:0] rf_set, rdy_set, thread_regs;
  logic [NTHREADS*16-1:0] csr_set, thread_csrs;
  logic [4:0] rdy_r;
  logic rdy_we;
  assign rdy_r = fa;
  assign rdy_we = !freeze && issue && !faulted && async_w && lat > 32'(cost);
  always_comb begin
    rf_set = '0;
    if (wb_valid_reg) rf_set[{wb_thread_reg, wb_reg_reg}] = 1'b1;
    if (dbg_ok && dbg_sel < 8'd32) rf_set[{dbg_t, dbg_sel[4:0]}] = 1'b1;
    rdy_set = '0;
    if (rdy_we) rdy_set[{cur_reg, rdy_r}] = 1'b1;
    thread_regs = '0;
    thread_csrs = '0;
    if (start_ok) begin
      thread_regs = {{(NREGS - 32) {1'b0}}, 32'hffffffff} << {st_t, 5'd0};
      thread_csrs = {{(NTHREADS * 16 - 16) {1'b0}}, 16'hffff} << {st_t, 4'd0};
    end
    csr_set = '0;
    if (dbg_ok && dbg_sel >= 8'd72 && dbg_sel <= 8'd83) csr_set[{dbg_t, 4'(dbg_sel - 8'd72)}] = 1'b1;
    if (!freeze && issue) begin
      if (faulted) begin
        csr_set[{cur_reg, C_EPC}] = 1'b1;
        csr_set[{cur_reg, C_CAUSE}] = 1'b1;
        csr_set[{cur_reg, C_BADADDR}] = 1'b1;
      end else if (op == npu_isa_pkg::OP_CSRW) begin
        csr_set[{cur_reg, csr_idx}] = 1'b1;
      end else if (op == npu_isa_pkg::OP_EXIT || op == npu_isa_pkg::OP_EXITR) begin
        csr_set[{cur_reg, C_VERDICT}] = 1'b1;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st_reg <= '0;  // every thread halted
      tab_set_reg <= '0;
      rf_live_reg <= '0;
      rdy_live_reg <= '0;
      csr_live_reg <= '0;
    end else begin
      rf_live_reg <= (rf_live_reg | rf_set) & ~thread_regs;
      rdy_live_reg <= (rdy_live_reg | rdy_set) & ~thread_regs;
      csr_live_reg <= (csr_live_reg | csr_set) & ~thread_csrs;
      if (freeze && tab_we) begin
        tab_reg[tab_op] <= tab_cycles;
        tab_set_reg[tab_op] <= 1'b1;
      end
      if (start_ok) st_reg[2*st_t+:2] <= TS_READY;
      else if (!freeze && st_we) st_reg[2*cur_reg+:2] <= st_w;
    end
  end

  // Register file, scoreboard and CSR words (their valid bits above).
  always_ff @(posedge clk) begin
    if (wb_valid_reg) rf_reg[{wb_thread_reg, wb_reg_reg}] <= wb_data_reg;
    if (dbg_ok && dbg_sel < 8'd32) rf_reg[{dbg_t, dbg_sel[4:0]}] <= dbg_wdata;
    if (rdy_we) rdy_reg[{cur_reg, rdy_r}] <= now + 64'(lat);
    if (dbg_ok && dbg_sel >= 8'd72 && dbg_sel <= 8'd83)
      csr_reg[{dbg_t, 4'(dbg_sel - 8'd72)}] <= dbg_wdata;
    if (!freeze && issue) begin
      if (faulted) begin
        csr_reg[{cur_reg, C_EPC}] <= if_pc_reg;
        csr_reg[{cur_reg, C_CAUSE}] <= {56'd0, fault};
        csr_reg[{cur_reg, C_BADADDR}] <= fault_addr;
      end else if (op == npu_isa_pkg::OP_CSRW) begin
        csr_reg[{cur_reg, csr_idx}] <= vb;
      end else if (op == npu_isa_pkg::OP_EXIT) begin
        csr_reg[{cur_reg, C_VERDICT}] <= imm;
      end else if (op == npu_isa_pkg::OP_EXITR) begin
        csr_reg[{cur_reg, C_VERDICT}] <= vb;
      end
    end
  end

  // Per-thread words.
  always_ff @(posedge clk) begin
    if (start_ok) begin
      pc_reg[st_t] <= start_pc;
      wake_reg[st_t] <= now;
      qmask_reg[st_t] <= '0;
      done_reg[st_t] <= '0;
      instret_reg[st_t] <= '0;
    end else if (dbg_ok && dbg_sel == 8'd32) begin
      pc_reg[dbg_t] <= dbg_wdata;
    end else if (!freeze) begin
      if (pc_we) pc_reg[cur_reg] <= pc_w;
      if (wake_we) wake_reg[cur_reg] <= wake_w;
      if (goes_to_sleep) qmask_reg[cur_reg] <= qget_mask;
      if (issue && !faulted) begin
        instret_reg[cur_reg] <= instret_reg[cur_reg] + 64'd1;
        if ((async_w || posted) && now + 64'(lat) > done_reg[cur_reg])
          done_reg[cur_reg] <= now + 64'(lat);
      end
    end
  end

  // Pipeline and core state.
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cur_reg <= '0;
      need_pick_reg <= 1'b1;
      busy_reg <= '0;
      ex_valid_reg <= 1'b0;
      wb_valid_reg <= 1'b0;
      dv_pending_reg <= 1'b0;
      perf_instret_reg <= '0;
      perf_busy_reg <= '0;
      perf_issue_reg <= '0;
    end else if (freeze) begin
      wb_valid_reg <= 1'b0;  // landed in the register file this cycle
      // A started thread or a new pc: execute refetches once the instruction
      // in execute has used its cycles; a div of a restarted thread is dropped.
      if (start_valid || (dbg_we && dbg_sel == 8'd32)) ex_valid_reg <= 1'b0;
      if (start_ok && st_t == cur_reg) dv_pending_reg <= 1'b0;
    end else begin
      cur_reg <= cur_next;
      need_pick_reg <= need_pick_next;
      busy_reg <= busy_next;
      if (busy_reg == 0) ex_valid_reg <= 1'b1;  // fetched for the thread decided now
      dv_pending_reg <= dv_pending_next;
      perf_busy_reg <= perf_busy_reg + busy_add;
      perf_issue_reg <= perf_issue_reg + 64'(issue_add);
      if (issue && !faulted) perf_instret_reg <= perf_instret_reg + 64'd1;
      wb_valid_reg <= wb_valid_next;
      wb_thread_reg <= wb_thread_next;
      wb_reg_reg <= wb_reg_next;
      wb_data_reg <= wb_data_next;
      if (issue && !faulted && is_div) begin
        dv_w_reg <= w_form;
        dv_mod_reg <= div_mod;
        dv_a_reg <= fa;
        dv_cycle_reg <= now;
        dv_pc_reg <= if_pc_reg;
        dv_word_reg <= word;
      end
    end
  end

  // ---- outputs ----
  always_comb begin : b_outputs
    integer t, i;
    // A div/mod retires when its result is written; everything else at issue.
    if (busy_reg != 0) begin
      rt_valid = !freeze && retire_now;
      rt_cycle = dv_cycle_reg;
      rt_pc = dv_pc_reg;
      rt_word = dv_word_reg;
      rt_wen = 1'b1;
      rt_wreg = dv_a_reg;
      rt_wdata = div_res;
      rt_fault = npu_isa_pkg::FAULT_NONE;
    end else begin
      rt_valid = !freeze && issue && retire_now;
      rt_cycle = now;
      rt_pc = if_pc_reg;
      rt_word = word;
      rt_wen = wen && !faulted;
      rt_wreg = fa;
      rt_wdata = (wen && !faulted) ? res : 64'd0;
      rt_fault = fault;
    end
    rt_thread = 6'(cur_reg);
    // Idle as the ISS sees it: a thread whose qget finds its queues empty in
    // this cycle sleeps already (the failed qget takes no cycle).
    idle = busy_reg == 0 && !freeze;
    for (t = 0; t < NTHREADS; t = t + 1)
      if ((st_reg[2*t+:2] == TS_READY || cand[t]) && !(TW'(t) == cur_reg && goes_to_sleep))
        idle = 1'b0;
    perf_instret = perf_instret_reg;
    perf_busy = perf_busy_reg;
    perf_issue = perf_issue_reg;
    cfg_error = swap_cycles == 8'd0;
    for (i = 0; i < 16; i = i + 1)
      if (tab_set_reg[DIV_OPS[i*8+:8]] && tab_reg[DIV_OPS[i*8+:8]] < 8'(DIV_MIN)) cfg_error = 1'b1;
  end

  assign csr_rt[0] = cur_reg;
  assign csr_rn[0] = csr_n;
  assign csr_rt[1] = dbg_t;
  assign csr_rn[1] = {56'd0, dbg_sel - 8'd64};
  always_comb begin
    if (32'(dbg_thread) >= NTHREADS) dbg_rdata = '0;
    else if (dbg_sel < 8'd32)
      // As the thread would read it: written back, or zero since its start.
      dbg_rdata = (wb_valid_reg && wb_thread_reg == dbg_t && wb_reg_reg == dbg_sel[4:0]) ?
          wb_data_reg : live(rf_live_reg[{dbg_t, dbg_sel[4:0]}], rf_reg[{dbg_t, dbg_sel[4:0]}]);
    else if (dbg_sel == 8'd32) dbg_rdata = pc_reg[dbg_t];
    else if (dbg_sel == 8'd33) dbg_rdata = {62'd0, st_reg[2*dbg_t+:2]};
    else if (dbg_sel >= 8'd64) dbg_rdata = csr_rv[1];
    else dbg_rdata = '0;
  end
endmodule

`default_nettype wire
