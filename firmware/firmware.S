// NPU firmware: boot, the per-thread packet loop, the verdict and fault
// handlers, the host control-message handler for map operations, and the BPF
// helpers the engines do not do themselves. Every thread of every core runs it
// from address 0. docs/firmware.md describes the flow and the register use.
//
// Register use (the compiler's contract, docs/abi.md):
//   at program entry  r1 = context (the packet descriptor), r10 = stack top,
//                     r24 = data, r25 = data_end, r26 = data_meta
//   helpers           arguments r1-r5, result r0, return through r30; they may
//                     clobber r1-r5 and r27-r29 and keep everything else, except
//                     that the adjust_* helpers update r24-r26 as they move the packet
//   per-thread csrs   scratch0 = descriptor in flight (0 in the control path, 1
//                     while the descriptor is not known to be readable and writable),
//                     scratch1 = redirect target, scratch2 = tail calls made,
//                     scratch3 = this thread's stack top
#include "firmware/abi.h"

#define EINVAL 22
#define EACCES 13
#define EBADF 9
#define ENOENT 2
#define E2BIG 7
#define EOPNOTSUPP 95
#define XDP_REDIRECT 4
#define MAX_TAIL_CALLS 33
#define BPF_MAP_TYPE_DEVMAP 14
#define BPF_MAP_TYPE_DEVMAP_HASH 25
#define CLS_HI (NPU_CLS_BASE >> 32)
#define CLS_LO (NPU_CLS_BASE & 0xffffffff)

        .text
        .global _start
_start:
        csrr    r27, tid
        li      r28, NPU_LM_SLOT
        mul     r29, r27, r28
        add     r29, r29, r28
        csrw    scratch3, r29              // stack top: the end of this thread's slot
        li      r27, on_exit
        csrw    xvec, r27
        li      r27, on_fault
        csrw    fvec, r27

// ---- the loop: one packet or one control message per turn ----
loop:
        li      r27, 0
        csrw    scratch0, r27
        qget    r27, (1 << NPU_Q_RX) | (1 << NPU_Q_CTRL)
        rsh     r28, r27, NPU_QE_KIND_SHIFT
        lsh     r27, r27, 64 - NPU_QE_KIND_SHIFT
        rsh     r27, r27, 64 - NPU_QE_KIND_SHIFT
        beq     r28, NPU_QE_CTRL, ctrl
        bne     r28, NPU_QE_PKT, loop      // no such kind: dropped

packet:
        li      r28, 1
        csrw    scratch0, r28              // 1: the descriptor is not known good yet
        li      r28, 0
        csrw    scratch1, r28
        csrw    scratch2, r28
        ld.8    r24, [r27+NPU_DESC_DATA]
        ld.8    r25, [r27+NPU_DESC_DATA_END]
        ld.8    r26, [r27+NPU_DESC_DATA_META]
        ld.4    r28, [r27+NPU_DESC_PROG]
        st.4    [r27+NPU_DESC_TARGET], 0   // it must take the verdict too
        csrw    scratch0, r27
        csrw    pkt_lo, r26
        csrw    pkt_hi, r25
        bge     r28, NPU_MAX_PROGS, no_prog
        lsh     r28, r28, 3
        li      r29, CLS_LO
        lih     r29, CLS_HI
        add     r28, r28, r29
        ld.8    r28, [r28+NPU_CLS_PROGS]
        beq     r28, 0, no_prog
        mov     r1, r27
        csrr    r10, scratch3
        jr      r28                        // the program ends with exit: on_exit

no_prog:
        li      r28, NPU_VERDICT_NOPROG
        li      r29, NPU_CNT_NOPROG
        jmp     finish

// exit lands here with the verdict in csr verdict.
on_exit:
        csrr    r27, scratch0
        csrr    r28, verdict
        movw    r28, r28                   // XDP actions are the low 32 bits of r0
        bgt     r28, XDP_REDIRECT, bad_verdict
        mov     r29, r28                   // counter index = action
        bne     r28, XDP_REDIRECT, finish
        csrr    r1, scratch1
        st.4    [r27+NPU_DESC_TARGET], r1
        jmp     finish

bad_verdict:                               // the raw value goes to the host in the target word
        st.4    [r27+NPU_DESC_TARGET], r28
        li      r28, NPU_VERDICT_BAD
        li      r1, NPU_CNT_BAD_VERDICT
        jal     r30, count
        li      r29, NPU_CNT_ABORTED
        jmp     finish

// A fault in a program aborts its packet; a fault in the control path (a host
// buffer outside memory) drops the message.
on_fault:
        csrr    r27, scratch0
        beq     r27, 0, ctrl_fault
        beq     r27, 1, bad_desc
        csrr    r28, cause
        or      r28, r28, NPU_VERDICT_FAULT
        li      r1, NPU_CNT_FAULT
        jal     r30, count
        li      r29, NPU_CNT_ABORTED
        jmp     finish
ctrl_fault:                                // no reply can reach the host
        li      r1, NPU_CNT_CTRL
        jal     r30, count
        li      r1, NPU_CNT_CTRL_ERR
        jal     r30, count
        jmp     loop
bad_desc:                                  // dropped: it cannot carry a verdict
        li      r1, NPU_CNT_BAD_DESC
        jal     r30, count
        jmp     loop

// r27 = descriptor, r28 = verdict word, r29 = counter index.
finish:
        li      r1, 1
        csrw    scratch0, r1               // a fault from here on is the descriptor's
        st.4    [r27+NPU_DESC_PROG], r28
        wait                               // the descriptor is written before egress sees it
        qput    NPU_Q_TX, r27
        mov     r1, r29
        jal     r30, count                 // posted: nobody waits for the counter
        jmp     loop

// counters[r1] += 1; clobbers r1-r2.
count:
        lsh     r1, r1, 3
        li      r2, CLS_LO
        lih     r2, CLS_HI
        add     r1, r1, r2
        li      r2, 1
        aadd.8  [r1+NPU_CLS_COUNTERS], r2
        jr      r30

// ---- control messages: r27 = buffer ----
// r1 type, r3 length, r4 map id, r5 flags, r6 map table entry, r7 reply
// length, r8 reply result word, r9 error, r11 key size, r12 host value size,
// r13 key size rounded up to 8.
ctrl:
        ld.1    r1, [r27+NPU_CMSG_TYPE]
        ld.1    r2, [r27+NPU_CMSG_VER]
        ld.4    r3, [r27+NPU_CMSG_LEN]
        li      r7, NPU_CMSG_PAYLOAD
        li      r8, 0
        li      r9, -EINVAL
        bne     r2, NPU_CMSG_VERSION, reply
        blt     r3, NPU_CMSG_HDR_SIZE, reply
        bgt     r3, NPU_CTRL_BUF_SIZE, reply
        beq     r1, NPU_CMSG_MAP_ALLOC, c_alloc
        li      r9, -EOPNOTSUPP
        blt     r1, NPU_CMSG_MAP_FREE, reply
        bgt     r1, NPU_CMSG_MAP_GETNEXT, reply
        li      r9, -EINVAL
        blt     r3, NPU_CMSG_KEY, reply
        ld.4    r4, [r27+NPU_CMSG_MAP_ID]
        ld.8    r5, [r27+NPU_CMSG_FLAGS]
        li      r9, -EBADF
        beq     r4, 0, reply
        bge     r4, NPU_MAX_MAPS, reply
        jal     r30, map_entry
        ld.4    r11, [r6+NPU_MAPDEF_MAX_ENTRIES]
        beq     r11, 0, reply              // no map with this id
        ld.4    r11, [r6+NPU_MAPDEF_KEY_SIZE]
        ld.4    r12, [r6+NPU_MAPDEF_SYS_VALUE]
        add     r13, r11, 7
        and     r13, r13, -8
        add     r15, r27, NPU_CMSG_KEY     // the key
        add     r16, r27, NPU_CMSG_PAYLOAD // where a reply's payload goes
        li      r9, -EINVAL
        ld.4    r2, [r27+NPU_CMSG_MAP_ID+4]
        bne     r2, 0, reply               // the pad word
        beq     r1, NPU_CMSG_MAP_UPDATE, c_update
        bne     r5, 0, reply               // only update takes flags
        beq     r1, NPU_CMSG_MAP_FREE, c_free
        beq     r1, NPU_CMSG_MAP_GETFIRST, c_getfirst
        add     r14, r11, NPU_CMSG_KEY     // lookup, delete, getnext: header, id, flags, key
        bne     r3, r14, reply
        beq     r1, NPU_CMSG_MAP_LOOKUP, c_lookup
        beq     r1, NPU_CMSG_MAP_DELETE, c_delete
c_getnext:
        mnextkey r9, r4, r15, r16          // the engine reads the key before writing the next
        bne     r9, 0, reply
        add     r7, r11, NPU_CMSG_PAYLOAD
        jmp     reply
c_getfirst:
        bne     r3, NPU_CMSG_KEY, reply
        li      r15, 0
        mnextkey r9, r4, r15, r16
        bne     r9, 0, reply
        add     r7, r11, NPU_CMSG_PAYLOAD
        jmp     reply
c_lookup:
        msyslookup r9, r4, r15, r16
        bne     r9, 0, reply
        add     r7, r12, NPU_CMSG_PAYLOAD
        jmp     reply
c_delete:
        msysdelete r9, r4, r15
        jmp     reply
c_update:
        add     r14, r13, NPU_CMSG_KEY
        add     r14, r14, r12
        bne     r3, r14, reply
        add     r16, r15, r13              // the value follows the padded key
        msysupdate r9, r4, r15, r16, r5
        jmp     reply
c_free:
        bne     r3, NPU_CMSG_KEY, reply
        st.8    [r6+0], 0                  // free in the table first, so that an alloc
        st.8    [r6+8], 0                  // reusing the id cannot be wiped
        st.8    [r6+16], 0
        mfree   r9, r4
        jmp     reply
c_alloc:
        bne     r3, NPU_CMSG_HDR_SIZE + NPU_MAPDEF_SIZE, reply
        add     r15, r27, NPU_CMSG_HDR_SIZE
        malloc  r9, r15
        bslt    r9, 0, reply
        mov     r4, r9
        bge     r4, NPU_MAX_MAPS, c_alloc_big  // an id the table cannot hold
        // A map whose update message would not fit a control buffer cannot be
        // used from the host: refuse it.
        ld.4    r11, [r15+NPU_MAPDEF_KEY_SIZE]
        ld.4    r12, [r15+NPU_MAPDEF_SYS_VALUE]
        add     r13, r11, 7
        and     r13, r13, -8
        add     r14, r13, NPU_CMSG_KEY
        add     r14, r14, r12
        bgt     r14, NPU_CTRL_BUF_SIZE, c_alloc_big
        jal     r30, map_entry
        ld.8    r2, [r15+0]
        st.8    [r6+0], r2
        ld.8    r2, [r15+8]
        st.8    [r6+8], r2
        ld.8    r2, [r15+16]
        st.8    [r6+16], r2
        mov     r8, r4
        li      r9, 0
        jmp     reply
c_alloc_big:
        mfree   r9, r4
        li      r9, -E2BIG
        jmp     reply

// r6 = &map table[r4]; clobbers r2.
map_entry:
        mul     r6, r4, NPU_MAPDEF_SIZE
        li      r2, CLS_LO
        lih     r2, CLS_HI
        add     r6, r6, r2
        add     r6, r6, NPU_CLS_MAPS
        jr      r30

reply:
        or      r1, r1, NPU_CMSG_REPLY
        st.1    [r27+NPU_CMSG_TYPE], r1
        st.1    [r27+NPU_CMSG_VER], NPU_CMSG_VERSION  // ours, whatever the request said
        st.4    [r27+NPU_CMSG_LEN], r7
        st.4    [r27+NPU_CMSG_ERR], r9
        st.4    [r27+NPU_CMSG_RESULT], r8
        li      r1, NPU_CNT_CTRL
        jal     r30, count
        beq     r9, 0, reply_send
        li      r1, NPU_CNT_CTRL_ERR
        jal     r30, count
reply_send:
        wait                               // the reply is in memory before the host sees it
        qput    NPU_Q_REPLY, r27
        jmp     loop

// ---- BPF helpers (docs/firmware.md lists their kernel semantics) ----

einval:
        li      r0, -EINVAL
        jr      r30

// long bpf_xdp_adjust_head(ctx r1, int delta r2): moves data and the metadata with it.
        .global helper_xdp_adjust_head
helper_xdp_adjust_head:
        sext32  r2, r2
        ld.8    r3, [r1+NPU_DESC_DATA]
        ld.8    r4, [r1+NPU_DESC_DATA_META]
        sub     r5, r3, r4                 // metadata length
        add     r3, r3, r2                 // new data
        add     r4, r4, r2                 // new metadata
        add     r27, r1, NPU_DESC_SIZE
        blt     r4, r27, einval
        ld.8    r28, [r1+NPU_DESC_DATA_END]
        sub     r28, r28, 14               // ETH_HLEN must remain
        bgt     r3, r28, einval
        beq     r5, 0, ah_done
        sub     r27, r4, r2                // old metadata
        bslt    r2, 0, ah_fwd
ah_back:                                   // moving up: copy from the end
        sub     r5, r5, 1
        add     r28, r27, r5
        ld.1    r29, [r28]
        add     r28, r4, r5
        st.1    [r28], r29
        bne     r5, 0, ah_back
        jmp     ah_done
ah_fwd:                                    // moving down: copy from the start
        ld.1    r29, [r27]
        st.1    [r4], r29
        add     r27, r27, 1
        add     r4, r4, 1
        sub     r5, r5, 1
        bne     r5, 0, ah_fwd
        ld.8    r4, [r1+NPU_DESC_DATA_META]
        add     r4, r4, r2
ah_done:
        st.8    [r1+NPU_DESC_DATA], r3
        st.8    [r1+NPU_DESC_DATA_META], r4
        csrw    pkt_lo, r4
        mov     r24, r3
        mov     r26, r4
        li      r0, 0
        jr      r30

// long bpf_xdp_adjust_meta(ctx r1, int delta r2)
        .global helper_xdp_adjust_meta
helper_xdp_adjust_meta:
        sext32  r2, r2
        ld.8    r3, [r1+NPU_DESC_DATA_META]
        add     r3, r3, r2
        ld.8    r4, [r1+NPU_DESC_DATA]
        add     r27, r1, NPU_DESC_SIZE
        blt     r3, r27, einval
        bgt     r3, r4, einval
        sub     r5, r4, r3
        and     r27, r5, 3
        bne     r27, 0, am_eacces
        bgt     r5, 255, am_eacces
        st.8    [r1+NPU_DESC_DATA_META], r3
        csrw    pkt_lo, r3
        mov     r26, r3
        li      r0, 0
        jr      r30
am_eacces:
        li      r0, -EACCES
        jr      r30

// long bpf_xdp_adjust_tail(ctx r1, int delta r2): grown bytes read as zero.
        .global helper_xdp_adjust_tail
helper_xdp_adjust_tail:
        sext32  r2, r2
        ld.8    r3, [r1+NPU_DESC_DATA_END]
        add     r4, r3, r2
        add     r27, r1, NPU_FRAME_SIZE - NPU_TAILROOM
        bgt     r4, r27, einval
        ld.8    r28, [r1+NPU_DESC_DATA]
        add     r28, r28, 14
        blt     r4, r28, einval
at_zero:
        bge     r3, r4, at_done
        st.1    [r3], 0
        add     r3, r3, 1
        jmp     at_zero
at_done:
        st.8    [r1+NPU_DESC_DATA_END], r4
        csrw    pkt_hi, r4
        mov     r25, r4
        li      r0, 0
        jr      r30

// long bpf_redirect(u32 ifindex r1, u64 flags r2)
        .global helper_redirect
helper_redirect:
        li      r0, 0                      // XDP_ABORTED for any flag
        bne     r2, 0, rd_out
        movw    r1, r1
        csrw    scratch1, r1
        li      r0, XDP_REDIRECT
rd_out:
        jr      r30

// long bpf_redirect_map(map id r1, u64 key r2, u64 flags r3): devmaps; the
// target is the ifindex the map holds for the key.
        .global helper_redirect_map
helper_redirect_map:
        li      r0, 0
        and     r27, r3, ~0x1b             // flags beyond the action bits and
        bne     r27, 0, rm_out             // BPF_F_BROADCAST|EXCLUDE_INGRESS: aborted
        csrr    r27, scratch3
        sub     r27, r27, NPU_LM_SLOT      // firmware scratch: the key
        st.4    [r27], r2
        mpeek   r28, r1, r27
        and     r0, r3, 3                  // a miss returns the low action bits of flags;
        rsh     r29, r28, 32               // an earlier bpf_redirect's target stays
        beq     r29, 0, rm_out
        movw    r28, r28                   // the ifindex
        csrw    scratch1, r28
        li      r0, XDP_REDIRECT
rm_out:
        jr      r30

// s64 bpf_csum_diff(from r1, from_size r2, to r3, to_size r4, seed r5), as
// Linux 6.13+: folded to 16 bits, not inverted.
        .global helper_csum_diff
helper_csum_diff:
        movw    r5, r5
        beq     r2, 0, cd_to_only
        beq     r4, 0, cd_from_only
        csum    r27, r3, r4, r5
        li      r28, 0
        csum    r28, r1, r2, r28
        xorw    r28, r28, -1
        addw    r0, r27, r28
        bgew    r0, r28, cd_fold
        addw    r0, r0, 1                  // end-around carry
        jmp     cd_fold
cd_from_only:
        xorw    r5, r5, -1
        csum    r0, r1, r2, r5
        xorw    r0, r0, -1
        jmp     cd_fold
cd_to_only:
        mov     r0, r5
        beq     r4, 0, cd_fold
        csum    r0, r3, r4, r5
cd_fold:
        rsh     r27, r0, 16
        and     r0, r0, 0xffff
        add     r0, r0, r27
        rsh     r27, r0, 16
        and     r0, r0, 0xffff
        add     r0, r0, r27
        jr      r30

// long bpf_tail_call(ctx r1, prog array id r2, u32 index r3): on success the
// program in the slot runs with the same context and a fresh stack; on failure
// the caller goes on.
        .global helper_tail_call
helper_tail_call:
        // The kernel's order: the index against max_entries, then the count
        // (a call to an empty slot uses one up), then the slot.
        bge     r2, NPU_MAX_MAPS, tc_fail
        mul     r27, r2, NPU_MAPDEF_SIZE
        li      r28, CLS_LO
        lih     r28, CLS_HI
        add     r27, r27, r28
        ld.4    r27, [r27+NPU_CLS_MAPS+NPU_MAPDEF_MAX_ENTRIES]
        movw    r3, r3
        bge     r3, r27, tc_fail
        csrr    r29, scratch2
        bge     r29, MAX_TAIL_CALLS, tc_fail
        add     r29, r29, 1
        csrw    scratch2, r29
        csrr    r27, scratch3
        sub     r27, r27, NPU_LM_SLOT
        st.4    [r27], r3
        mpeek   r28, r2, r27
        rsh     r29, r28, 32
        beq     r29, 0, tc_fail
        movw    r28, r28                   // the program slot
        bge     r28, NPU_MAX_PROGS, tc_fail
        lsh     r28, r28, 3
        li      r29, CLS_LO
        lih     r29, CLS_HI
        add     r28, r28, r29
        ld.8    r28, [r28+NPU_CLS_PROGS]
        beq     r28, 0, tc_fail
        csrr    r10, scratch3
        jr      r28
tc_fail:
        li      r0, -ENOENT
        jr      r30
