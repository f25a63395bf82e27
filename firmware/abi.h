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
/* u32 out: redirect target (ifindex, or map slot); the exit value for NPU_VERDICT_BAD */
#define NPU_DESC_TARGET 36

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
#define NPU_CTRL_BUF_SIZE 0x7000 /* 28 KiB: percpu values of one copy per hardware thread fit */
#define NPU_CLS_FW_DATA 0x10000  /* where the firmware's own .data is placed */

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

/* Device requests: handled by the card's loader (the device process), not
 * by the firmware; the host shim sends them through the BAR's control buffer
 * like the map messages above (docs/abi.md, "The card as the host sees it"). */
#define NPU_CMSG_PROG_LOAD 0x10   /* body: u32 0, u32 0, u64 flags (0), then a compiled image */
#define NPU_CMSG_PROG_UNLOAD 0x11 /* body: none. Frees the maps and empties the program table */
#define NPU_CMSG_MAP_DUMP 0x12    /* body: u32 id, u32 0, u64 flags (0); reply: entries */
#define NPU_CMSG_DEV_INFO 0x13    /* body: none; reply: struct npu_dev_info */
/* PROG_LOAD reply: result = maps; payload: struct npu_dev_map per map, in the image's order.
 * MAP_DUMP reply: result = entries (| NPU_DUMP_MORE when more did not fit); payload: per
 * entry, the key padded to 8 bytes, then the host value (sys_value_size bytes) padded to 8.
 * With flags NPU_DUMP_F_AFTER the request carries a key at NPU_CMSG_KEY: the dump goes on
 * after it. */
#define NPU_DUMP_F_AFTER 1
#define NPU_DUMP_MORE 0x80000000u

/* ---- the card as the host sees it: one shared-memory BAR ----
 * The device process (the NIC model) and the host shim map one file: a
 * register window, two packet descriptor rings and a control buffer. Rings
 * are single producer, single consumer: the producer writes a slot, then
 * its head (release); the consumer reads the head (acquire), then the slot,
 * then advances its tail. Doorbells are the head and sequence registers;
 * each side also gets a wakeup on a FIFO (docs/abi.md). */
#define NPU_BAR_MAGIC 0x3142504e /* "NPB1" */
#define NPU_BAR_VERSION 1
#define NPU_REG_MAGIC 0x00     /* u32 NPU_BAR_MAGIC, written last by the device when ready */
#define NPU_REG_VERSION 0x04   /* u32 NPU_BAR_VERSION */
#define NPU_REG_STATUS 0x08    /* u32 NPU_STATUS_* (device) */
#define NPU_REG_IFINDEX 0x0c   /* u32 (host): the card's netdev; programs see it as ingress */
#define NPU_REG_DEV_PID 0x10   /* u32: the device process */
#define NPU_REG_HOST_PID 0x14  /* u32: the shim */
#define NPU_REG_CYCLE 0x18     /* u64 (device): simulated cycles so far */
#define NPU_REG_CTRL_REQ 0x20  /* u32 (host): sequence of the request in the control buffer */
#define NPU_REG_CTRL_DONE 0x24 /* u32 (device): sequence of the last answered request */
#define NPU_REG_CTRL_LEN 0x28  /* u32 (device): bytes of that reply */
#define NPU_REG_RINGS 0x40     /* struct npu_ring_regs[NPU_NUM_RINGS] */
#define NPU_REG_STATS 0x100    /* u64[NPU_NUM_STATS] (device): NPU_STAT_* */
#define NPU_STATUS_READY 1     /* firmware booted, serving */
#define NPU_STATUS_FAILED 2    /* the device stopped on an error */
#define NPU_STATUS_STOPPING 4  /* (host) asks the device process to exit */
#define NPU_RING_TOHOST 0      /* card -> host: frames for the host stack (XDP_PASS) */
#define NPU_RING_FROMHOST 1    /* host -> card: frames the host stack sends to the wire */
#define NPU_NUM_RINGS 2
#define NPU_RING_REGS_SIZE 32
#define NPU_RING_SLOTS 4096 /* per ring; a power of two */
#define NPU_RING_SLOT_SIZE 2048
#define NPU_RING_DESC_SIZE 16 /* struct npu_ring_desc, at the head of each slot */
#define NPU_RING_MAX_FRAME (NPU_RING_SLOT_SIZE - NPU_RING_DESC_SIZE)
#define NPU_STAT_WIRE_RX 0       /* frames received on the wire port */
#define NPU_STAT_WIRE_TX 1       /* frames sent on the wire port (XDP_TX, host traffic) */
#define NPU_STAT_TOHOST 2        /* frames put on NPU_RING_TOHOST */
#define NPU_STAT_FROMHOST 3      /* frames taken from NPU_RING_FROMHOST */
#define NPU_STAT_DROP 4          /* the program's drops (XDP_DROP, XDP_ABORTED, faults) */
#define NPU_STAT_NIC_DROP 5      /* dropped by the card: no buffer, too long, queue full */
#define NPU_STAT_RING_FULL 6     /* dropped: NPU_RING_TOHOST was full */
#define NPU_STAT_REDIRECT 7      /* XDP_REDIRECT: sent to the wire or the host by target */
#define NPU_STAT_BAD_FRAME 8     /* wire frames refused: offload segments, bad lengths */
#define NPU_STAT_BATCHES 9       /* simulation runs (batches of frames) */
#define NPU_STAT_SIM_PS 10       /* simulated picoseconds spent on traffic */
#define NPU_STAT_PKT_CYCLES 11   /* sum of cycles threads spent on packets */
#define NPU_STAT_WIRE_OVERRUN 12 /* frames the wire port's socket dropped: the card fell behind */
#define NPU_STAT_WIRE_TX_ERR 13  /* frames the wire port's socket did not take */
#define NPU_NUM_STATS 16
#define NPU_BAR_RINGS 0x1000 /* the rings' slots, ring after ring */
#define NPU_BAR_CTRL (NPU_BAR_RINGS + NPU_NUM_RINGS * NPU_RING_SLOTS * NPU_RING_SLOT_SIZE)
#define NPU_BAR_CTRL_SIZE 0x1000000 /* 16 MiB: images and map dumps */
#define NPU_BAR_SIZE (NPU_BAR_CTRL + NPU_BAR_CTRL_SIZE)

/* ---- the microcode image: ELF64, little-endian, e_machine EM_NPU ----
 * .text holds instruction words (sh_addr = first instruction's index * 8);
 * other allocated sections hold bytes at their device address (sh_addr). */
#define EM_NPU 0x4e50 /* "NP": not assigned to any other machine */
#define NPU_INSN_BYTES 8

/* ---- compiled programs: code placement and the image's program sections ----
 * Every core has a code store of NPU_CODE_STORE_SIZE instructions. The
 * firmware sits at its bottom (a few hundred instructions from 0); compiled
 * code is linked at NPU_PROG_TEXT_BASE, far above it, so the loader never
 * moves code: it only patches the fields that relocations name. Program
 * images may therefore use [NPU_PROG_TEXT_BASE, NPU_CODE_STORE_SIZE). */
#define NPU_PROG_TEXT_BASE 0x1000   /* instruction index 4096 */
#define NPU_CODE_STORE_SIZE 0x10000 /* instructions (512 KiB of words) per core */

/* A compiled image adds non-allocated sections (SHT_PROGBITS, .npu.strtab
 * SHT_STRTAB; sh_link of the others = .npu.strtab, sh_entsize = record size):
 *   .npu.meta     struct npu_image_meta, then nprogs struct npu_image_prog
 *   .npu.maps     struct npu_image_map per map, in the object's map order
 *   .npu.mapinit  initial values of global-data maps (bytes)
 *   .npu.rel      struct npu_image_reloc per patched instruction, by insn
 *   .npu.strtab   NUL-terminated names (offset 0 is the empty string)
 * Assembler images (the firmware) have none of them. */
#define NPU_IMAGE_VERSION 1
#define NPU_IMAGE_META_SIZE 16
#define NPU_IMAGE_PROG_SIZE 32
#define NPU_IMAGE_MAP_SIZE 48
#define NPU_IMAGE_RELOC_SIZE 24
#define NPU_IMAGE_MAP_GLOBAL_DATA 1 /* npu_image_map.flags: backs .data/.rodata/.bss */

/* Relocation kinds: the IMM field (bits 63:32) of the instruction at `insn`
 * gets the value. 64-bit addresses take two instructions, `liw rX, lo` (or
 * `li`) then `lih rX, hi`, with one relocation each. */
#define NPU_RELOC_MAP_ID 1       /* the device id of map `target` (IMM shown as a value, %i) */
#define NPU_RELOC_MAP_VALUE_LO 2 /* bits 31:0 of the address of map `target`'s value + addend */
#define NPU_RELOC_MAP_VALUE_HI 3 /* bits 63:32 of the same address */
/* NPU_RELOC_HELPER: the firmware's symbol helper_<name>, as target - insn in a
 * jump target (%j: jal, jmp), as the instruction index itself in a value (%i). */
#define NPU_RELOC_HELPER 4
#define NPU_RELOC_KINDS 4

/* Value addresses: a map's values live in its window, NPU_MAP_BASE +
 * (id << NPU_MAP_SHIFT); an array map's value for key k starts at window
 * offset k * round_up(value_size, 8). MAP_VALUE relocations take array maps:
 * global data (one entry), or an array's window base for inlined lookups;
 * the address is the window's base + addend. */

/* Features a program image needs (npu_image_meta.features): firmware helpers
 * and engines. A device refuses an image that needs one it lacks, and bits it
 * does not know. */
#define NPU_FEAT_TAIL_CALL (1 << 0)   /* helper_tail_call */
#define NPU_FEAT_ADJUST_HEAD (1 << 1) /* helper_xdp_adjust_head */
#define NPU_FEAT_ADJUST_META (1 << 2) /* helper_xdp_adjust_meta */
#define NPU_FEAT_ADJUST_TAIL (1 << 3) /* helper_xdp_adjust_tail */
#define NPU_FEAT_REDIRECT (1 << 4)    /* helper_redirect, helper_redirect_map */
#define NPU_FEAT_CSUM_DIFF (1 << 5)   /* helper_csum_diff */
#define NPU_FEAT_MAPS (1 << 8)        /* the map engine */
#define NPU_FEAT_ATOMICS (1 << 9)     /* the atomic unit */
#define NPU_FEAT_CSUM (1 << 10)       /* the checksum engine */
#define NPU_FEAT_HASH (1 << 11)       /* the hash engine */
#define NPU_FEAT_RAND (1 << 12)       /* the random engine */
#define NPU_FEAT_TIME (1 << 13)       /* the time engine */
#define NPU_FEAT_KNOWN 0x3f3f         /* every bit above */

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

struct npu_ring_regs {
  uint32_t offset;    /* of the first slot in the BAR */
  uint32_t slots;     /* NPU_RING_SLOTS */
  uint32_t slot_size; /* NPU_RING_SLOT_SIZE */
  uint32_t reserved;
  uint32_t head; /* producer: slots written (free-running) */
  uint32_t pad0;
  uint32_t tail; /* consumer: slots taken (free-running) */
  uint32_t pad1;
};

struct npu_ring_desc {
  uint32_t len;    /* frame bytes after the descriptor */
  uint32_t status; /* TOHOST: the verdict word (NPU_VERDICT_*); FROMHOST: 0 */
  uint64_t cycles; /* TOHOST: cycles the program took; FROMHOST: 0 */
};

/* A map of a loaded program (PROG_LOAD's reply). */
struct npu_dev_map {
  uint32_t id, type, key_size, value_size, max_entries, flags;
  uint32_t sys_value_size; /* host value bytes (percpu: every copy) */
  uint32_t reserved;
  char name[16]; /* NUL-terminated, BPF_OBJ_NAME_LEN */
};

struct npu_dev_info {
  uint32_t cores, threads, map_cpus, clock_mhz;
  uint64_t code_store; /* instructions */
  uint32_t loaded;     /* 1 when a program is loaded */
  uint32_t nprogs;
  uint64_t prog_insns;                 /* NPU instructions of the loaded image */
  uint64_t counters[NPU_NUM_COUNTERS]; /* the firmware's NPU_CNT_* */
};

/* Records of a compiled image's sections; names are offsets in .npu.strtab,
 * reserved fields are 0. */
struct npu_image_meta {
  uint32_t version;  /* NPU_IMAGE_VERSION */
  uint32_t nprogs;   /* program records that follow */
  uint64_t features; /* NPU_FEAT_* */
};

struct npu_image_prog {
  uint32_t name;       /* the program's function name */
  uint32_t section;    /* its ELF section in the BPF object ("xdp") */
  uint64_t entry;      /* instruction index of its first instruction */
  uint32_t stack_size; /* bytes of BPF stack below r10 it uses */
  uint32_t bpf_insns;  /* BPF instructions it was compiled from */
  uint32_t npu_insns;  /* NPU instructions emitted for it */
  uint32_t reserved;
};

struct npu_image_map {
  uint32_t name;
  uint32_t type, key_size, value_size, max_entries, map_flags; /* as bpf(BPF_MAP_CREATE) */
  int32_t inner_map;  /* index of the inner map's template (map-in-map), or -1 */
  uint32_t flags;     /* NPU_IMAGE_MAP_* */
  uint64_t init_off;  /* initial value in .npu.mapinit (global data) */
  uint32_t init_size; /* 0 (all zero), or value_size */
  uint32_t reserved;
};

struct npu_image_reloc {
  uint64_t insn;   /* instruction index of the patched instruction */
  uint32_t kind;   /* NPU_RELOC_* */
  uint32_t target; /* MAP_*: map index; HELPER: the helper's name (without "helper_") */
  int64_t addend;  /* MAP_VALUE_*: byte offset in the value, below value_size; others 0 */
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
static_assert(sizeof(npu_image_meta) == NPU_IMAGE_META_SIZE, "image meta size");
static_assert(sizeof(npu_image_prog) == NPU_IMAGE_PROG_SIZE, "image program record size");
static_assert(offsetof(npu_image_prog, entry) == 8, "image program record layout");
static_assert(offsetof(npu_image_prog, reserved) == 28, "image program record layout");
static_assert(sizeof(npu_image_map) == NPU_IMAGE_MAP_SIZE, "image map record size");
static_assert(offsetof(npu_image_map, inner_map) == 24, "image map record layout");
static_assert(offsetof(npu_image_map, init_off) == 32, "image map record layout");
static_assert(sizeof(npu_image_reloc) == NPU_IMAGE_RELOC_SIZE, "image relocation size");
static_assert(offsetof(npu_image_reloc, addend) == 16, "image relocation layout");
static_assert(sizeof(npu_ring_regs) == NPU_RING_REGS_SIZE, "ring register size");
static_assert(offsetof(npu_ring_regs, head) == 16 && offsetof(npu_ring_regs, tail) == 24,
              "ring register layout");
static_assert(sizeof(npu_ring_desc) == NPU_RING_DESC_SIZE, "ring descriptor size");
static_assert(NPU_REG_RINGS + NPU_NUM_RINGS * NPU_RING_REGS_SIZE <= NPU_REG_STATS,
              "ring registers below the statistics");
static_assert(NPU_REG_STATS + 8 * NPU_NUM_STATS <= NPU_BAR_RINGS, "statistics in the window");
static_assert((NPU_RING_SLOTS & (NPU_RING_SLOTS - 1)) == 0, "ring slots: a power of two");
static_assert(sizeof(npu_dev_map) == 48, "device map record size");
static_assert(NPU_PROG_TEXT_BASE < NPU_CODE_STORE_SIZE, "programs need room in the code store");
static_assert(NPU_CLS_CTRL_BUFS + 2 * NPU_CTRL_BUF_SIZE <= NPU_CLS_FW_DATA,
              "two control buffers below the firmware data");
static_assert(NPU_FEAT_KNOWN == (NPU_FEAT_TAIL_CALL | NPU_FEAT_ADJUST_HEAD | NPU_FEAT_ADJUST_META |
                                 NPU_FEAT_ADJUST_TAIL | NPU_FEAT_REDIRECT | NPU_FEAT_CSUM_DIFF |
                                 NPU_FEAT_MAPS | NPU_FEAT_ATOMICS | NPU_FEAT_CSUM | NPU_FEAT_HASH |
                                 NPU_FEAT_RAND | NPU_FEAT_TIME),
              "NPU_FEAT_KNOWN names every feature");
#endif
#endif /* __ASSEMBLER__ */

#endif /* NPU_FIRMWARE_ABI_H */
