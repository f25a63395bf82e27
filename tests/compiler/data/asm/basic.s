// Every unsized instruction, labels (several per line, forward and backward
// references), local numeric labels, register aliases and the location counter.
        .text
        .global _start, helper
_start:
        nop
        halt
        yield
        wait
        exit    2
        exit    r3
        jmp     forward                 ; forward reference
        jal     lr, helper
        jalr    r1, r2
        jr      r30
        csrr    r4, tid
        csrr    r5, CYCLE               ; CSR names in any case
        csrr    r6, 0x7f                ; or by number
        csrw    scratch0, r4
        csrw    xvec, r1
        qget    r7, (1 << 0) | (1 << 1)
        qput    3, r7

// 64-bit ALU, register and immediate forms, and their 32-bit w variants
alu:    add     r1, r2, r3
        add     r1, r2, -1
        addw    r1, r2, r3
        addw    r1, r2, 0xffffffff
        sub     r1, r2, r3
        subi:   sub r1, r2, 7           // a label before an instruction
        subw    r1, r2, r3
        subw    r1, r2, 7
        mul     r4, r5, r6
        mul     r4, r5, 10
        mulw    r4, r5, r6
        mulw    r4, r5, 10
        div     r4, r5, r6
        div     r4, r5, 3
        divw    r4, r5, r6
        divw    r4, r5, 3
        sdiv    r4, r5, r6
        sdiv    r4, r5, -3
        sdivw   r4, r5, r6
        sdivw   r4, r5, -3
        mod     r4, r5, r6
        mod     r4, r5, 3
        modw    r4, r5, r6
        modw    r4, r5, 3
        smod    r4, r5, r6
        smod    r4, r5, -3
        smodw   r4, r5, r6
        smodw   r4, r5, -3
        or      r7, r8, r9
        or      r7, r8, 0x10
        orw     r7, r8, r9
        orw     r7, r8, 0x10
        and     r7, r8, r9
        and     r7, r8, 0xff
        andw    r7, r8, r9
        andw    r7, r8, 0xff
        xor     r7, r8, r9
        xor     r7, r8, -1
        xorw    r7, r8, r9
        xorw    r7, r8, -1
        lsh     r10, r11, r12
        lsh     r10, r11, 3
        lshw    r10, r11, r12
        lshw    r10, r11, 3
        rsh     r10, r11, r12
        rsh     r10, r11, 3
        rshw    r10, r11, r12
        rshw    r10, r11, 3
        arsh    r10, r11, r12
        arsh    r10, r11, 63
        arshw   r10, r11, r12
        arshw   r10, r11, 31
        mov     r13, fp                 ; fp is r10
        neg     r13, r14
        li      r15, -2147483648
        lih     r15, 0x2
        movw    r16, r17
        negw    r16, r17
        liw     r18, 4294967295
        sext8   r19, r20
        sext16  r19, r20
        sext32  r19, r20
        sext8w  r19, r20
        sext16w r19, r20
        bswap16 r21, r22
        bswap32 r21, r22
        bswap64 r21, r22

// compare and branch: register and immediate, 64 and 32 bits
forward:
1:      beq     r1, r2, 1b
        beq     r1, 5, 1f
        beqw    r1, r2, alu
        beqw    r1, -5, forward
1:      bne     r1, r2, done
        bne     r1, 0, .                ; the location counter: this instruction
        bnew    r1, r2, .+1
        bnew    r1, 0, . - 1
        bgt     r1, r2, done
        bgt     r1, 100, done
        bgtw    r1, r2, done
        bgtw    r1, 100, done
        bge     r1, r2, done
        bge     r1, 100, done
        bgew    r1, r2, done
        bgew    r1, 100, done
        blt     r1, r2, done
        blt     r1, 100, done
        bltw    r1, r2, done
        bltw    r1, 100, done
        ble     r1, r2, done
        ble     r1, 100, done
        blew    r1, r2, done
        blew    r1, 100, done
        bsgt    r1, r2, done
        bsgt    r1, -100, done
        bsgtw   r1, r2, done
        bsgtw   r1, -100, done
        bsge    r1, r2, done
        bsge    r1, -100, done
        bsgew   r1, r2, done
        bsgew   r1, -100, done
        bslt    r1, r2, done
        bslt    r1, -100, done
        bsltw   r1, r2, done
        bsltw   r1, -100, done
        bsle    r1, r2, done
        bsle    r1, -100, done
        bslew   r1, r2, done
        bslew   r1, -100, done
        bset    r1, r2, done
        bset    r1, 0x80, done
        bsetw   r1, r2, done
        bsetw   r1, 0x80, done

// engines
engines:
        mlookup r0, r1, r2
        mupdate r0, r1, r2, r3, r4
        mdelete r0, r1, r2
        mpeek   r0, r1, r2
        msyslookup r0, r1, r2, r3
        msysupdate r0, r1, r2, r3, r4
        msysdelete r0, r1, r2
        mnextkey r0, r1, r2, r3
        malloc  r0, r1
        mfree   r0, r1
        csum    r0, r1, r2, r3
        hash    r0, r1, r2, r3
        rand    r0
        time    r31
helper:
done:   JR      LR                      /* upper case works too */
