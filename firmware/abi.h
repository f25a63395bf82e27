/* The host/device ABI of the NPU: memory map, queues, packet descriptors,
 * control messages, map definitions and the image format. One header, read by
 * the firmware (NPU assembly through the C preprocessor, __ASSEMBLER__ set),
 * the driver and the simulator. Only #define constants are visible to the
 * assembler; the C structs below are checked against the offsets with
 * static_assert, so the two views cannot drift apart. docs/abi.md explains it. */
#ifndef NPU_FIRMWARE_ABI_H
#define NPU_FIRMWARE_ABI_H

/* ---- device address map (byte addresses) ---- */
#define NPU_LM_BASE 0x0            /* local memory of the issuing core */
#define NPU_PKT_BASE 0x100000000   /* packet buffer memory: frames */
#define NPU_CLS_BASE 0x200000000   /* shared SRAM: firmware data, control buffers */
#define NPU_EMEM_BASE 0x400000000  /* external DRAM */
#define NPU_MAP_BASE 0x10000000000 /* map values: map id i at NPU_MAP_BASE + (i << 32) */
#define NPU_MAP_SHIFT 32

/* Per-thread slot in local memory: the BPF stack (the top of the slot is r10
 * at program entry) and firmware scratch below it. */
#define NPU_LM_SLOT 1024
#define NPU_STACK_SIZE 512
#define NPU_LM_SCRATCH 0 /* offset in the slot of the firmware's scratch words */

/* ---- queues (qget/qput numbers); an entry is a device address, with its kind
 * in bits 63:56 so that one qget can serve several queues ---- */
#define NPU_Q_RX 0    /* dispatcher -> threads: packet descriptors */
#define NPU_Q_CTRL 1  /* host -> firmware: control message buffers */
#define NPU_Q_TX 2    /* firmware -> egress: finished descriptors (every verdict) */
#define NPU_Q_REPLY 3 /* firmware -> host: control replies (same buffer) */
#define NPU_QE_KIND_SHIFT 56
#define NPU_QE_PKT 1
#define NPU_QE_CTRL 2
#define NPU_QE_ADDR_MASK 0x00ffffffffffffff

/* ---- packet frames and descriptors ----
 * A frame is NPU_FRAME_SIZE bytes of packet memory; its descriptor (the
 * program's context, r1 at entry) fills the first NPU_DESC_SIZE bytes, as the
 * kernel keeps struct xdp_frame at the head of the buffer, and packet data
 * starts NPU_HEADROOM bytes in. */
#define NPU_FRAME_SIZE 4096
#define NPU_HEADROOM 256
#define NPU_TAILROOM 320
#define NPU_DESC_SIZE 40
#define NPU_DESC_DATA 0       /* u64: address of the first packet byte */
#define NPU_DESC_DATA_END 8   /* u64: address after the last packet byte */
#define NPU_DESC_DATA_META 16 /* u64: address of the metadata (== data when none) */
#define NPU_DESC_IFINDEX 24   /* u32: ingress interface */
#define NPU_DESC_RXQ 28       /* u32: receive queue */
#define NPU_DESC_PROG 32      /* u32 in: program slot; out: the verdict (NPU_VERDICT_*) */
#define NPU_DESC_TARGET 36    /* u32 out: redirect target (ifindex, or map slot) */

/* Verdicts in NPU_DESC_PROG after the run: XDP actions, and aborts the
 * firmware counts apart. */
#define NPU_VERDICT_ABORTED 0
#define NPU_VERDICT_DROP 1
#define NPU_VERDICT_PASS 2
#define NPU_VERDICT_TX 3
#define NPU_VERDICT_REDIRECT 4
#define NPU_VERDICT_FAULT 0x100  /* | cause: the program faulted (bad access) */
#define NPU_VERDICT_BAD 0x200    /* exit with a value that is no XDP action: aborted */
#define NPU_VERDICT_NOPROG 0x300 /* no program in the slot: dropped */

/* ---- firmware state in shared SRAM (NPU_CLS_BASE + offset) ---- */
#define NPU_CLS_PROGS 0x0 /* u64[NPU_MAX_PROGS]: entry pc of each program slot, 0 = none */
#define NPU_MAX_PROGS 64
#define NPU_CLS_COUNTERS 0x200 /* u64 counters, NPU_CNT_* */
#define NPU_CNT_ABORTED 0
#define NPU_CNT_DROP 1
#define NPU_CNT_PASS 2
#define NPU_CNT_TX 3
#define NPU_CNT_REDIRECT 4
#define NPU_CNT_FAULT 5       /* programs stopped by a fault (also in ABORTED) */
#define NPU_CNT_BAD_VERDICT 6 /* exits with no XDP action (also in ABORTED) */
#define NPU_CNT_NOPROG 7
#define NPU_CNT_CTRL 8      /* control messages handled */
#define NPU_CNT_CTRL_ERR 9  /* ... of which answered with an error, or unreachable */
#define NPU_CNT_BAD_DESC 10 /* RX entries whose descriptor cannot be read or written */
#define NPU_NUM_COUNTERS 16
#define NPU_CLS_MAPS 0x300 /* struct npu_map_def[NPU_MAX_MAPS], by map id; max_entries 0: free */
#define NPU_MAX_MAPS 64
#define NPU_CLS_CTRL_BUFS 0x1000 /* control message buffers, NPU_CTRL_BUF_SIZE each */
#define NPU_CTRL_BUF_SIZE 4096
#define NPU_CLS_FW_DATA 0x10000 /* where the firmware's own .data is placed */

/* ---- map definitions (malloc's operand, and the firmware's table) ---- */
#define NPU_MAPDEF_TYPE 0       /* u32 BPF_MAP_TYPE_* */
#define NPU_MAPDEF_KEY_SIZE 4   /* u32 */
#define NPU_MAPDEF_VALUE_SIZE 8 /* u32 */
#define NPU_MAPDEF_MAX_ENTRIES 12
#define NPU_MAPDEF_FLAGS 16     /* u32 map_flags */
#define NPU_MAPDEF_SYS_VALUE 20 /* u32 out: bytes of a host-side value (percpu: all copies) */
#define NPU_MAPDEF_SIZE 24

/* ---- control messages (host <-> firmware), in a control buffer ----
 * The host writes a request and queues the buffer on NPU_Q_CTRL; the firmware
 * writes the reply over it and queues it on NPU_Q_REPLY. Every request gets a
 * reply; a malformed one gets an error and changes nothing. */
#define NPU_CMSG_VERSION 1
#define NPU_CMSG_TYPE 0 /* u8 */
#define NPU_CMSG_VER 1  /* u8 */
#define NPU_CMSG_SEQ 2  /* u16: echoed in the reply */
#define NPU_CMSG_LEN 4  /* u32: bytes of the whole message, header included */
#define NPU_CMSG_HDR_SIZE 8
#define NPU_CMSG_REPLY 0x80   /* reply type = request type | NPU_CMSG_REPLY */
#define NPU_CMSG_MAP_ALLOC 1  /* body: struct npu_map_def (sys_value ignored) */
#define NPU_CMSG_MAP_FREE 2   /* body: u32 map id, u32 0, u64 flags (0) */
#define NPU_CMSG_MAP_LOOKUP 3 /* body: u32 id, u32 0, u64 flags, key */
#define NPU_CMSG_MAP_UPDATE \
  4 /* body: u32 id, u32 0, u64 flags, key, value at NPU_CMSG_KEY + round_up(key_size, 8) */
#define NPU_CMSG_MAP_DELETE 5   /* body: u32 id, u32 0, u64 flags, key */
#define NPU_CMSG_MAP_GETFIRST 6 /* body: u32 id, u32 0, u64 flags */
#define NPU_CMSG_MAP_GETNEXT 7  /* body: u32 id, u32 0, u64 flags, key */
#define NPU_CMSG_MAP_ID 8
#define NPU_CMSG_FLAGS 16
#define NPU_CMSG_KEY 24
/* Reply: header, s32 error (0 or -errno) at NPU_CMSG_ERR, u32 at NPU_CMSG_ERR + 4
 * (ALLOC: the new map id), then the payload (LOOKUP: value; GETFIRST/GETNEXT:
 * key) at NPU_CMSG_PAYLOAD. */
#define NPU_CMSG_ERR 8
#define NPU_CMSG_RESULT 12
#define NPU_CMSG_PAYLOAD 16

/* ---- the microcode image: ELF64, little-endian, e_machine EM_NPU ----
 * .text holds instruction words (sh_addr = first instruction's index * 8);
 * other allocated sections hold bytes at their device address (sh_addr). */
#define EM_NPU 0x4e50 /* "NP": not assigned to any other machine */
#define NPU_INSN_BYTES 8

#ifndef __ASSEMBLER__
#include <stdint.h>

struct npu_pkt_desc {
  uint64_t data, data_end, data_meta;
  uint32_t ifindex, rxq;
  uint32_t prog;   /* in: slot; out: verdict */
  uint32_t target; /* out: redirect target */
};

struct npu_map_def {
  uint32_t type, key_size, value_size, max_entries, flags, sys_value_size;
};

struct npu_cmsg_hdr {
  uint8_t type, ver;
  uint16_t seq;
  uint32_t len;
};

#ifdef __cplusplus
#include <cstddef>
static_assert(sizeof(npu_pkt_desc) == NPU_DESC_SIZE, "descriptor size");
static_assert(offsetof(npu_pkt_desc, data_end) == NPU_DESC_DATA_END, "descriptor layout");
static_assert(offsetof(npu_pkt_desc, data_meta) == NPU_DESC_DATA_META, "descriptor layout");
static_assert(offsetof(npu_pkt_desc, ifindex) == NPU_DESC_IFINDEX, "descriptor layout");
static_assert(offsetof(npu_pkt_desc, rxq) == NPU_DESC_RXQ, "descriptor layout");
static_assert(offsetof(npu_pkt_desc, prog) == NPU_DESC_PROG, "descriptor layout");
static_assert(offsetof(npu_pkt_desc, target) == NPU_DESC_TARGET, "descriptor layout");
static_assert(sizeof(npu_map_def) == NPU_MAPDEF_SIZE, "map definition size");
static_assert(offsetof(npu_map_def, sys_value_size) == NPU_MAPDEF_SYS_VALUE, "map def layout");
static_assert(offsetof(npu_map_def, flags) == NPU_MAPDEF_FLAGS, "map def layout");
static_assert(sizeof(npu_cmsg_hdr) == NPU_CMSG_HDR_SIZE, "control header size");
static_assert(offsetof(npu_cmsg_hdr, len) == NPU_CMSG_LEN, "control header layout");
static_assert(NPU_DESC_SIZE <= 40, "the kernel reserves 40 bytes of xdp_frame before the metadata");
#endif
#endif /* __ASSEMBLER__ */

#endif /* NPU_FIRMWARE_ABI_H */
