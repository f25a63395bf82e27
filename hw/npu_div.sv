// Iterative restoring divider of the NPU core: 64-bit magnitudes, STEP
// quotient bits per cycle, BPF's rules for a zero divisor and for signs.
// The core starts it at the issue of div/mod and reads the result at the end
// of the instruction's issue cycles (at least 64 / STEP + 2 of them).
`default_nettype none

module npu_div #(
    parameter int unsigned STEP = 8  // quotient bits resolved per cycle; must divide 64
) (
    input  wire         clk,
    input  wire         start,      // latch the operands and begin
    input  wire  [63:0] x,          // dividend (32-bit forms: already extended by the caller)
    input  wire  [63:0] y,          // divisor
    input  wire         is_signed,  // signed division: magnitudes divided, signs applied after
    output logic [63:0] quotient,   // 0 when y is 0
    output logic [63:0] remainder,  // x when y is 0; the dividend's sign otherwise
    output logic        done        // the result is valid (until the next start)
);
  localparam int unsigned ITERS = 64 / STEP;
  localparam int unsigned CW = $clog2(ITERS + 1);

  if (STEP == 0 || 64 % STEP != 0) begin : g_bad_step
    $error("npu_div: STEP must divide 64");
  end

  logic [63:0] num_reg, num_next;  // dividend bits not yet consumed, shifted out at the top
  logic [63:0] quo_reg, quo_next;
  logic [64:0] rem_reg, rem_next;
  logic [63:0] den_reg;
  logic [63:0] x_reg;
  logic neg_q_reg, neg_r_reg, zero_reg;
  logic [CW-1:0] left_reg, left_next;

  wire x_neg = is_signed && x[63];
  wire y_neg = is_signed && y[63];

  always_comb begin : b_step
    integer i;
    i = 0;
    num_next = num_reg;
    quo_next = quo_reg;
    rem_next = rem_reg;
    left_next = left_reg;
    if (left_reg != 0) begin
      for (i = 0; i < STEP; i = i + 1) begin
        rem_next = {rem_next[63:0], num_next[63]};
        num_next = {num_next[62:0], 1'b0};
        quo_next = {quo_next[62:0], 1'b0};
        if (rem_next >= {1'b0, den_reg}) begin
          rem_next = rem_next - {1'b0, den_reg};
          quo_next[0] = 1'b1;
        end
      end
      left_next = left_reg - 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (start) begin
      num_reg <= x_neg ? -x : x;
      den_reg <= y_neg ? -y : y;
      quo_reg <= '0;
      rem_reg <= '0;
      x_reg <= x;
      neg_q_reg <= x_neg ^ y_neg;
      neg_r_reg <= x_neg;
      zero_reg <= (y == 64'd0);
      left_reg <= CW'(ITERS);
    end else begin
      num_reg <= num_next;
      quo_reg <= quo_next;
      rem_reg <= rem_next;
      left_reg <= left_next;
    end
  end

  always_comb begin
    done = (left_reg == 0);
    if (zero_reg) begin
      quotient = '0;
      remainder = x_reg;
    end else begin
      quotient = neg_q_reg ? -quo_reg : quo_reg;
      remainder = neg_r_reg ? -rem_reg[63:0] : rem_reg[63:0];
    end
  end
endmodule

`default_nettype wire
