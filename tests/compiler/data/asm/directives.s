// Sections, data directives, alignment, .org, symbols and expressions.
        .equ    SIX, 1 + 2 * 3 - 1      ; C precedence: 6
        .set    MASK, (1 << 4) - 1
        .set    COUNT, 1
        .set    COUNT, COUNT + 1        ; .set may be redefined: 2
        LATER = table_end - table       ; forward reference: 34
        .global entry_point

        .text
        .org    4                       ; before any label: the base of .text
entry_point:
        li      r1, SIX
        li      r2, MASK ^ 0x5
        li      r3, COUNT
        li      r4, LATER
        li      r5, -8 >> 60            ; logical shift: 15
        li      r6, ~0 & 0xffff
        li      r7, 17 / 5 + 17 % 5     ; 3 + 2
        li      r8, -17 / 5             ; -3: signed
        li      r9, 'A' + '\n'
        li      r10, 010 + 0b101 + 0x10 ; octal, binary, hex: 8 + 5 + 16
        li      r11, 1ull << 31 >> 31
        liw     r12, table & 0xffffffff
        lih     r12, table >> 32
        .insn   0x0000000000000000      ; a raw word: nop
        .insn   (2 << 32) | 0x04        ; exit 2
        .align  4                       ; instructions: pad with nop
aligned:
        jmp     entry_point
        .org    24                      ; pads with nop up to instruction 24
        exit    COUNT

        .data
table:  .byte   1, 2, 0xff, -1, 'z'
        .half   0x1234, -2
        .word   0xdeadbeef, -1
        .dword  0x200000000, table
        .byte   SIX
table_end:
        .align  8
strings:
        .ascii  "ab\tc", "\x41\102"
        .asciz  "q\"uote\\"
        .string "\0"
        .zero   3
        .space  2, 0xaa
        .p2align 2
        .org    strings + 32            ; pads to an address
        .byte   0x55

        .rodata                         ; after .data, 8-byte aligned
ro:     .word   ro_end - ro
        .dword  .                       ; the location counter: this address
ro_end:

        .section .data.extra            ; other sections follow .rodata
extra:  .half   1

        .section .rodata.fixed
        .org    0x300000000             ; an explicit address
fixed:  .byte   7

        .text                           ; back to .text, continuing
        .global tail
tail:   halt
