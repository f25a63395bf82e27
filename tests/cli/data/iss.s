// For `npu iss`: each thread sums 1..10 into r2 and halts; r1 = its thread number.
        .text
        .global _start
_start:
        csrr    r1, tid
        li      r3, 10
loop:
        add     r2, r2, r3
        sub     r3, r3, 1
        bne     r3, 0, loop
        halt
