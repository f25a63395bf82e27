/* Run through the C preprocessor: firmware/abi.h from the repository root,
 * macros with arguments, conditionals; errors name this file and line. */
#include "firmware/abi.h"

#define FIELD(reg, off) [reg + (off)]
#define LOAD_DESC(dst, what) ld.8 dst, FIELD(r1, NPU_DESC_##what)

        .text
start:
        LOAD_DESC(r24, DATA)
        LOAD_DESC(r25, DATA_END)
        li      r2, NPU_CLS_BASE & 0xffffffff
        lih     r2, NPU_CLS_BASE >> 32
#if NPU_MAX_PROGS == 64
        li      r3, NPU_MAX_PROGS
#else
        li      r3, 0
#endif
        qget    r4, (1 << NPU_Q_RX) | (1 << NPU_Q_CTRL)
        exit    NPU_VERDICT_PASS

        .data
progs:  .dword  NPU_CLS_BASE + NPU_CLS_PROGS, NPU_MAP_BASE + (3 << NPU_MAP_SHIFT)
        .dword  NPU_QE_ADDR_MASK
