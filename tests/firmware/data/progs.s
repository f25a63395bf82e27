// Hand-written XDP programs for the firmware tests, assembled together with
// firmware/firmware.S. At entry: r1 = context, r10 = stack top, r24 = data,
// r25 = data_end, r26 = data_meta. Map ids are those the test allocates, in order.
        .equ    COUNTERS, 1             // array map: u32 -> u64
        .equ    FLOWS, 2                // hash map: u32 -> u64
        .equ    JUMPS, 3                // prog array
        .equ    PORTS, 4                // devmap

        .text
prog_drop:
        exit    1

prog_pass:
        exit    2

// Swaps the Ethernet addresses and sends the frame back out.
prog_swap_mac:
        ldpb.6  r2, [r24]
        ldpb.6  r3, [r24+6]
        stpb.6  [r24], r3
        stpb.6  [r24+6], r2
        exit    3

// Reads the 8 bytes at data_end: outside the packet, so the hardware aborts it.
prog_oob:
        ldp.8   r2, [r25]
        exit    2

// Stores one byte before data (the window starts at data_meta == data).
prog_oob_store:
        stp.1   [r24-1], 0
        exit    2

prog_bad_verdict:
        li      r0, 7
        exit    r0

// 0x1_0000_0002: the firmware looks at the low 32 bits only, so XDP_PASS.
prog_wide_verdict:
        li      r0, 2
        lih     r0, 1
        exit    r0

// Reads a word of memory no region has.
prog_mem_fault:
        li      r2, 0
        lih     r2, 0x7000
        ld.8    r3, [r2]
        exit    2

// Prepends 4 bytes 0xde 0xad 0xbe 0xef; TX. r0 != 0 drops.
prog_push4:
        li      r2, -4
        jal     lr, helper_xdp_adjust_head
        bne     r0, 0, drop
        li      r7, 0xdeadbeef
        stpb.4  [r24], r7
        exit    3

// Pulls 14 bytes (drops the Ethernet header); PASS.
prog_pull14:
        li      r2, 14
        jal     lr, helper_xdp_adjust_head
        bne     r0, 0, drop
        exit    2

// adjust_head by -1000: more than the headroom, so -EINVAL; the result goes
// into the packet's first 4 bytes and the verdict is TX.
prog_head_einval:
        li      r2, -1000
        jal     lr, helper_xdp_adjust_head
        stp.4   [r24], r0
        exit    3

// 8 bytes of metadata, 0x0102030405060708; PASS.
prog_meta8:
        li      r2, -8
        jal     lr, helper_xdp_adjust_meta
        bne     r0, 0, drop
        li      r3, 0x05060708
        lih     r3, 0x01020304
        stp.8   [r26], r3
        exit    2

// Metadata of 6 bytes: -EACCES into the packet; TX.
prog_meta_eacces:
        li      r2, -6
        jal     lr, helper_xdp_adjust_meta
        stp.4   [r24], r0
        exit    3

// Grows the tail by 10 bytes (they read as zero); TX.
prog_grow10:
        li      r2, 10
        jal     lr, helper_xdp_adjust_tail
        bne     r0, 0, drop
        exit    3

// Shrinks the tail to 20 bytes; TX.
prog_trim20:
        sub     r2, r25, r24
        sub     r2, r2, 20
        neg     r2, r2
        jal     lr, helper_xdp_adjust_tail
        bne     r0, 0, drop
        exit    3

prog_redirect7:
        li      r1, 7
        li      r2, 0
        jal     lr, helper_redirect
        exit    r0

prog_redirect_flags:
        li      r1, 7
        li      r2, 1
        jal     lr, helper_redirect
        exit    r0

// bpf_redirect_map(PORTS, key = first packet byte, flags = XDP_PASS).
prog_redirect_map:
        li      r1, PORTS
        ldp.1   r2, [r24]
        li      r3, 2
        jal     lr, helper_redirect_map
        exit    r0

// csum_diff(from = data[0..4), 4, to = data[4..12), 8, seed = data[12..16))
// into data[16..20); TX.
prog_csum:
        mov     r1, r24
        li      r2, 4
        add     r3, r24, 4
        li      r4, 8
        ldp.4   r5, [r24+12]
        jal     lr, helper_csum_diff
        stp.4   [r24+16], r0
        exit    3

// counters[first byte] += 1 through the value pointer; PASS, or DROP when the
// index is out of range.
prog_count:
        ldp.1   r2, [r24]
        st.4    [r10-4], r2
        li      r1, COUNTERS
        add     r2, r10, -4
        mlookup r3, r1, r2
        beq     r3, 0, drop
        li      r4, 1
        aadd.8  [r3], r4
        exit    2

// flows[u32 at data] = packet length (BPF_ANY); the result goes into data[4..8); TX.
prog_flow:
        ldp.4   r2, [r24]
        st.4    [r10-8], r2
        sub     r3, r25, r24
        st.8    [r10-16], r3
        li      r1, FLOWS
        add     r2, r10, -8
        add     r3, r10, -16
        li      r4, 0
        mupdate r0, r1, r2, r3, r4
        stp.4   [r24+4], r0
        exit    3

// Tail call through JUMPS[first byte]; DROP when it fails.
prog_tail:
        ldp.1   r3, [r24]
        li      r2, JUMPS
        jal     lr, helper_tail_call
drop:
        exit    1

// Tail-calls itself forever: the 34th call fails, so DROP, after 33 calls
// counted in the packet's second byte.
prog_tail_loop:
        ldp.1   r3, [r24+1]
        add     r3, r3, 1
        stp.1   [r24+1], r3
        li      r3, 0
        li      r2, JUMPS
        jal     lr, helper_tail_call
        exit    1

// bpf_redirect(5), then bpf_redirect_map(PORTS, first byte, 0) and XDP_REDIRECT
// whatever it says: on a miss the earlier target stays, as in the kernel.
prog_redirect_then_map:
        li      r1, 5
        li      r2, 0
        jal     lr, helper_redirect
        li      r1, PORTS
        ldp.1   r2, [r24]
        li      r3, 0
        jal     lr, helper_redirect_map
        exit    4

// bpf_redirect_map with flags from the packet's second byte, map id from the third.
prog_redirect_map_any:
        ldp.1   r1, [r24+2]
        ldp.1   r2, [r24]
        ldp.1   r3, [r24+1]
        jal     lr, helper_redirect_map
        exit    r0

// csum_diff(from = data, size data[60], to = data+16, size data[61], seed = data[56..60))
// into data[64..68); TX.
prog_csum_any:
        mov     r1, r24
        ldp.1   r2, [r24+60]
        add     r3, r24, 16
        ldp.1   r4, [r24+61]
        ldp.4   r5, [r24+56]
        jal     lr, helper_csum_diff
        stp.4   [r24+64], r0
        exit    3

// adjust_meta by the signed 16-bit delta at data[0..2); the result into data[4..8); TX.
prog_meta_any:
        ldp.2   r2, [r24]
        sext16  r2, r2
        jal     lr, helper_xdp_adjust_meta
        stp.4   [r24+4], r0
        exit    3

// adjust_tail to 10 bytes: below ETH_HLEN, so -EINVAL and DROP.
prog_trim10:
        sub     r2, r25, r24
        sub     r2, r2, 10
        neg     r2, r2
        jal     lr, helper_xdp_adjust_tail
        bne     r0, 0, drop
        exit    3

// 8 bytes of metadata 0x1122334455667788, then adjust_head by the signed
// 16-bit delta at data[0..2): the metadata moves with the data; PASS.
prog_meta_then_head:
        ldp.2   r6, [r24]
        li      r2, -8
        jal     lr, helper_xdp_adjust_meta
        bne     r0, 0, drop
        li      r3, 0x55667788
        lih     r3, 0x11223344
        stp.8   [r26], r3
        sext16  r2, r6
        jal     lr, helper_xdp_adjust_head
        bne     r0, 0, drop
        exit    2

// Every helper keeps r6-r23, r10 and r30 (lr is saved around the calls here
// by the caller's convention, so only what the helpers promise is checked):
// PASS when all survive, DROP otherwise.
prog_keeps_regs:
        li      r6, 106
        li      r7, 107
        li      r8, 108
        li      r9, 109
        li      r11, 111
        li      r12, 112
        li      r13, 113
        li      r14, 114
        li      r15, 115
        li      r16, 116
        li      r17, 117
        li      r18, 118
        li      r19, 119
        li      r20, 120
        li      r21, 121
        li      r22, 122
        mov     r23, r10
        mov     r6, r1                     // the context, for the helpers that take it
        li      r2, 0
        jal     lr, helper_xdp_adjust_head
        mov     r1, r6
        li      r2, 0
        jal     lr, helper_xdp_adjust_meta
        mov     r1, r6
        li      r2, 0
        jal     lr, helper_xdp_adjust_tail
        mov     r1, r24
        li      r2, 4
        mov     r3, r24
        li      r4, 4
        li      r5, 0
        jal     lr, helper_csum_diff
        li      r1, 3
        li      r2, 0
        jal     lr, helper_redirect
        li      r1, PORTS
        li      r2, 0
        li      r3, 0
        jal     lr, helper_redirect_map
        mov     r1, r6
        li      r2, JUMPS
        li      r3, 3                      // an empty slot: the call falls through
        jal     lr, helper_tail_call
        bne     r10, r23, drop
        bne     r7, 107, drop
        bne     r8, 108, drop
        bne     r9, 109, drop
        bne     r11, 111, drop
        bne     r12, 112, drop
        bne     r13, 113, drop
        bne     r14, 114, drop
        bne     r15, 115, drop
        bne     r16, 116, drop
        bne     r17, 117, drop
        bne     r18, 118, drop
        bne     r19, 119, drop
        bne     r20, 120, drop
        bne     r21, 121, drop
        bne     r22, 122, drop
        exit    2
