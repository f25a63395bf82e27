// Every sized family at every size it has, with the three displacement forms.
        .text
mem:
        ld.1    r1, [r2]
        ld.2    r1, [r2+2]
        ld.4    r1, [r2-4]
        ld.8    r1, [r2+0x7fffffff]
        lds.1   r1, [r2-0x80000000]
        lds.2   r1, [r2+1]
        lds.4   r1, [r2+NPU_X]
        st.1    [r3], r4
        st.2    [r3+2], r4
        st.4    [r3-4], r4
        st.8    [r3+8], r4
        st.1    [r3], 255
        st.2    [r3+8191], -1
        st.4    [r3-8192], 0x7fffffff
        st.8    [r3+16], -0x80000000
packet:
        ldp.1   r5, [r24]
        ldp.2   r5, [r24+1]
        ldp.3   r5, [r24+2]
        ldp.4   r5, [r24+3]
        ldp.5   r5, [r24+4]
        ldp.6   r5, [r24+5]
        ldp.7   r5, [r24+6]
        ldp.8   r5, [r24+7]
        ldpb.1  r6, [r24+12]
        ldpb.2  r6, [r24+12]
        ldpb.3  r6, [r24+12]
        ldpb.4  r6, [r24+12]
        ldpb.5  r6, [r24+12]
        ldpb.6  r6, [r24+12]
        ldpb.7  r6, [r24+12]
        ldpb.8  r6, [r24+12]
        stp.1   [r25-1], r7
        stp.2   [r25-2], r7
        stp.3   [r25-3], r7
        stp.4   [r25-4], r7
        stp.5   [r25-5], r7
        stp.6   [r25-6], r7
        stp.7   [r25-7], r7
        stp.8   [r25-8], r7
        stpb.1  [r26+(2*3)], r8
        stpb.2  [r26+(2*3)], r8
        stpb.3  [r26+(2*3)], r8
        stpb.4  [r26+(2*3)], r8
        stpb.5  [r26+(2*3)], r8
        stpb.6  [r26+(2*3)], r8
        stpb.7  [r26+(2*3)], r8
        stpb.8  [r26+(2*3)], r8
        stp.1   [r27], 1
        stp.2   [r27+2], -2
        stp.4   [r27+4], 0x12345678
        stp.8   [r27+8], -1
atomics:
        aadd.4  [r1+8], r2
        aadd.8  [r1], r2
        aor.4   [r1+8], r2
        aor.8   [r1], r2
        aand.4  [r1+8], r2
        aand.8  [r1], r2
        axor.4  [r1+8], r2
        axor.8  [r1], r2
        afadd.4 r3, [r1-8], r2
        afadd.8 r3, [r1], r2
        afor.4  r3, [r1-8], r2
        afor.8  r3, [r1], r2
        afand.4 r3, [r1-8], r2
        afand.8 r3, [r1], r2
        afxor.4 r3, [r1-8], r2
        afxor.8 r3, [r1], r2
        axchg.4 r3, [r1+4], r2
        axchg.8 r3, [r1+8], r2
        acmpxchg.4 r3, [r1+4], r2, r4
        acmpxchg.8 r3, [fp-8], r2, r4
        .equ    NPU_X, 40
