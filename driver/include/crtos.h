/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * crtos.h - the interface between the crtos kernel module and the rest of the stack.
 *
 * Shared by three parties, so it holds plain fixed-size types only:
 *   - the kernel module (driver/module/),
 *   - user space (the Rust control tool `crtosctl` mirrors these definitions),
 *   - the images the module loads (the Rust hypervisor and RTOS build their first
 *     64 bytes as a `struct crtos_image_header`; they mirror it with #[repr(C)]).
 * The Rust side of every number here is crates/crtos-abi; its host test
 * (crates/crtos-abi/tests/header.rs) parses this file and fails on any difference.
 * All multi-byte fields are little-endian (x86-64 only).
 */
#ifndef CRTOS_H
#define CRTOS_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
typedef uint8_t __u8;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int32_t __s32;
typedef int64_t __s64;
#endif

/* ------------------------------------------------------------------ memory map
 * The kernel command line reserves one physically contiguous range that Linux never
 * uses:  memmap=52M$0x10000000  (the book's architecture chapter, "memory map").
 * The module splits it in three, in this order. The module parameter reserved_base
 * moves the base (for tests); the sizes are fixed.
 */
#define CRTOS_RESERVED_BASE 0x10000000ULL       /* 256 MiB */
#define CRTOS_HV_SIZE       (16ULL << 20)       /* hypervisor image + per-CPU data + heap + EPT */
#define CRTOS_RTOS_SIZE     (32ULL << 20)       /* RTOS cell: image, heap, stacks, user spaces */
#define CRTOS_SHARED_SIZE   (4ULL << 20)        /* ring, payload buffers, UPIDs */
#define CRTOS_RESERVED_SIZE (CRTOS_HV_SIZE + CRTOS_RTOS_SIZE + CRTOS_SHARED_SIZE)
/* Lab 2: the page below 1 MiB a started CPU begins in (SIPI vector = its page number),
 * borrowed from Linux and restored. */
#define CRTOS_STARTUP_PAGE  0x6000ULL

/* ------------------------------------------------------------------ image header
 * Every image the module loads (hypervisor or RTOS) starts with this header.
 *
 *   magic         "CRTOS-HV" for a hypervisor image, "CRTOS-RT" for an RTOS image
 *                 (8 bytes, no terminating NUL). Catches "wrong file".
 *   version       CRTOS_IMAGE_VERSION. Bumped whenever a field's meaning changes.
 *   header_size   sizeof(struct crtos_image_header) = 64. The loader refuses other
 *                 values, so a newer, longer header is never half-understood.
 *   image_size    bytes of the whole image, header included. Must equal the size of
 *                 the buffer handed to the module (a truncated file is refused) and
 *                 must fit in the image's range.
 *   entry_offset  where execution starts, counted from the first header byte;
 *                 header_size <= entry_offset < image_size. Hypervisor: called on
 *                 every online CPU as crtos_hv_entry_t below (System V ABI, returns 0
 *                 or a negative errno). RTOS: the 64-bit entry the AP start
 *                 trampoline jumps to.
 *   percpu_size   bytes of per-CPU data (stack, VMXON region, VMCS) the image needs,
 *                 a multiple of 4096, placed after the image in its range:
 *                 image_size rounded up to 4 KiB + percpu_size * nr_cpu_ids must fit.
 *   checksum      CRC-32 (IEEE 802.3, the one zlib and `crc32` compute) of the whole
 *                 image_size bytes with these 4 checksum bytes read as zero.
 *                 A hypervisor's entry starts with ENDBR64 (f3 0f 1e fa): the driver
 *                 calls it indirectly, and a body that is not our code is refused.
 *   flags         must be 0 (room for later use without a version bump).
 *   reserved      must be 0.
 */
#define CRTOS_HV_MAGIC       "CRTOS-HV"
#define CRTOS_RTOS_MAGIC     "CRTOS-RT"
#define CRTOS_MAGIC_LEN      8
#define CRTOS_IMAGE_VERSION  1

struct crtos_image_header {
	__u8  magic[CRTOS_MAGIC_LEN];   /*  0 */
	__u32 version;                  /*  8 */
	__u32 header_size;              /* 12 */
	__u64 image_size;               /* 16 */
	__u64 entry_offset;             /* 24 */
	__u64 percpu_size;              /* 32 */
	__u32 checksum;                 /* 40 */
	__u32 flags;                    /* 44 */
	__u64 reserved[2];              /* 48 */
};                                      /* 64 bytes */

#define CRTOS_CHECKSUM_OFFSET 40

/* Why an image was refused: the module writes one of these into
 * crtos_image_arg.reject_reason next to its -EINVAL, so the tool can name the check.
 * One list, X(NAME, number, short name): the enum below and the module's log names
 * are built from it (the tool's sentences are in crates/crtos-abi). */
#define CRTOS_REJECT_REASONS(X)                                                 \
	X(NONE,        0,  "none")                                              \
	X(TOO_SMALL,   1,  "too-small")   /* buffer shorter than the header */  \
	X(MAGIC,       2,  "magic")                                             \
	X(VERSION,     3,  "version")                                           \
	X(HEADER_SIZE, 4,  "header-size")                                       \
	X(IMAGE_SIZE,  5,  "image-size")  /* image_size != buffer size */       \
	X(TOO_BIG,     6,  "too-big")     /* image + per-CPU data do not fit */ \
	X(ENTRY,       7,  "entry")       /* entry_offset outside the body */   \
	X(PERCPU,      8,  "percpu")      /* percpu_size not a multiple of 4096 */ \
	X(CHECKSUM,    9,  "checksum")                                          \
	X(FLAGS,       10, "flags")       /* flags or reserved not zero */      \
	X(NOT_CODE,    11, "not-code")    /* hypervisor: entry is not ENDBR64 */

#define CRTOS_REJECT_ENUM_ENTRY(name, value, text) CRTOS_REJECT_##name = value,
enum crtos_reject_reason {
	CRTOS_REJECT_REASONS(CRTOS_REJECT_ENUM_ENTRY)
};
#undef CRTOS_REJECT_ENUM_ENTRY

/* ------------------------------------------------------------------ ioctls
 * Device node: /dev/crtos (misc device). Images come from a user buffer (see
 * driver/module/main.c for why not request_firmware).
 */
struct crtos_image_arg {
	__u64 addr;             /* in: user address of the image */
	__u64 size;             /* in: its length in bytes */
	__u32 reject_reason;    /* out: enum crtos_reject_reason when the ioctl fails with EINVAL */
	__u32 pad;
};

/* START_RTOS: the image, and the RTOS's run list (`run=<name>... nonce=<hex>`). */
struct crtos_start_rtos_arg {
	struct crtos_image_arg image;   /* in/out, as for ENABLE */
	__u64 cmdline_addr;             /* in: user address of the run list (no NUL needed) */
	__u64 cmdline_len;              /* in: its length, < CRTOS_START_CMDLINE_LEN */
};

enum crtos_state {
	CRTOS_STATE_DISABLED = 0,       /* Linux on bare metal */
	CRTOS_STATE_ENABLED = 1,        /* hypervisor running under every online CPU */
	CRTOS_STATE_RTOS_RUNNING = 2,   /* and the RTOS owns rtos_cpu */
};

#define CRTOS_ABI_VERSION 1

/* ------------------------------------------------------------------ hypervisor
 * Hypercalls: VMCALL with RAX = number, RDI/RSI/RDX = arguments, the result in RAX
 * (a negative errno on error: -ENOSYS for an unknown number, -EPERM from user mode,
 * -EFAULT for a bad buffer).
 * While a hypervisor runs, the module blocks CPU hot-plug: taking a CPU offline or
 * online through sysfs fails with EBUSY until DISABLE.
 */
enum crtos_hypercall {
	CRTOS_HC_DISABLE = 0,           /* leave VMX on the calling CPU */
	CRTOS_HC_START_RTOS = 1,        /* lab 2 */
	CRTOS_HC_NOTIFY = 2,            /* lab 3 */
	CRTOS_HC_QUERY = 3,             /* RAX = version; RDI != 0: statistics written there */
	CRTOS_HC_STOP_RTOS = 4,         /* lab 2: reset the RTOS's CPU for Linux */
};

/* The hypervisor image's entry, called by the module on every online CPU at once
 * (on_each_cpu, interrupts off). It returns 0 in VMX non-root operation: from then on
 * that CPU runs Linux as a guest. On failure every CPU backs out (all or none) and it
 * returns a negative errno. hv_phys/hv_size/hv_virt: the hypervisor's range and
 * where the module mapped it. power_off: how the hypervisor powers the machine off
 * after a panic of its own (Linux cannot any more): the ACPI PM1a control port and
 * the value that enters S5, packed by CRTOS_POWER_OFF; 0 when unknown. */
#define CRTOS_POWER_OFF_PORT_SHIFT  0
#define CRTOS_POWER_OFF_VALUE_SHIFT 16
#define CRTOS_POWER_OFF(port, value) \
	((__u64)(port) << CRTOS_POWER_OFF_PORT_SHIFT | (__u64)(value) << CRTOS_POWER_OFF_VALUE_SHIFT)

typedef int (*crtos_hv_entry_t)(__u64 cpu, __u64 online_cpus, __u64 max_cpus,
				 __u64 hv_phys, __u64 hv_size, __u64 hv_virt,
				 __u64 power_off);

/* What START_RTOS hands the hypervisor, at a guest-virtual address in RSI
 * (crtos_abi::rtos::StartRequest). */
#define CRTOS_START_CMDLINE_LEN 512
struct crtos_start_request {
	__u64 image_addr;               /* guest-virtual address of the image */
	__u64 image_size;
	__u64 tsc_khz;                  /* Linux's TSC rate */
	__u64 realtime_ns;              /* wall-clock time, ns since the epoch */
	char cmdline[CRTOS_START_CMDLINE_LEN];  /* the run list, NUL-padded */
};

/* The driver's own view: always answers, with or without a hypervisor. */
struct crtos_status {
	__u32 abi_version;      /* CRTOS_ABI_VERSION */
	__u32 state;            /* enum crtos_state */
	__u64 reserved_base;    /* physical range claimed by the module */
	__u64 reserved_size;
	__u64 hv_base, hv_size;
	__u64 rtos_base, rtos_size;
	__u64 shared_base, shared_size;  /* what mmap of /dev/crtos maps, from offset 0 */
	__u32 online_cpus;
	__u32 rtos_cpu;         /* valid in CRTOS_STATE_RTOS_RUNNING */
	__u64 vmx_cpus;         /* bit n: CPU n (n < 64) reports VMX in CPUID.1:ECX[5] */
	__u64 uintr_cpus;       /* bit n: CPU n reports UINTR in CPUID.(7,0):EDX[5] */
};

/* The hypervisor's answer to the QUERY hypercall; -ENODEV when none is running. */
struct crtos_query {
	__u64 hv_version;
	__u64 hv_features;
};

/* A raw hypercall issued by the driver in kernel mode (lab tests and graders): the
 * numbers that change the driver's state (DISABLE, START_RTOS) have their own ioctls. */
struct crtos_hypercall_arg {
	__u64 nr;
	__u64 args[3];
	__s64 ret;              /* out: the hypervisor's RAX (a negative errno on error) */
};

/* Reads 8 bytes of the reservation through the driver's own mapping: how a lab shows
 * that Linux cannot read the hypervisor's memory once EPT closes it. */
struct crtos_probe_arg {
	__u64 offset;           /* in: from the reservation's base, a multiple of 8 */
	__u64 value;            /* out */
};

/* ------------------------------------------------------------------ shared region (lab 3)
 * The shared region (what mmap of /dev/crtos maps) is laid out as:
 *   0       4 KiB     struct crtos_control_page
 *   4 KiB   60 KiB    UPIDs (lab 4)
 *   64 KiB  < 2 MiB   the ring (crates/ring: header, queues, payload buffers)
 *   2 MiB   2 MiB     launch area: the ELF image `crtosctl run` hands the RTOS
 * Every field of the control page has one writer: the driver, the daemon or the RTOS
 * (each group on its own cache lines). The Rust side is crtos_abi::forwarding.
 */
#define CRTOS_CONTROL_OFFSET   0x0ULL
#define CRTOS_UPID_OFFSET      0x1000ULL
#define CRTOS_RING_OFFSET      0x10000ULL
#define CRTOS_LAUNCH_OFFSET    0x200000ULL
#define CRTOS_CONTROL_MAGIC    "CRTOSCP1"
#define CRTOS_CONTROL_VERSION  1
#define CRTOS_LAUNCH_ARGV_LEN  1024

enum crtos_notify_mode {
	CRTOS_NOTIFY_POLL = 0,          /* both sides poll */
	CRTOS_NOTIFY_IPI = 1,           /* IPIs on linux_vector / rtos_vector */
	CRTOS_NOTIFY_UINTR = 2,         /* lab 4: user interrupts */
};

struct crtos_control_page {
	/* written by the driver */
	__u8  magic[CRTOS_MAGIC_LEN];   /*    0 */
	__u32 version;                  /*    8 */
	__u32 size;                     /*   12 */
	__u32 linux_vector;             /*   16 */
	__u32 linux_apic_id;            /*   20 */
	__u32 daemon_generation;        /*   24 */
	__u32 daemon_alive;             /*   28 */
	__u32 notify_mode;              /*   32 */
	__u32 driver_reserved[7];       /*   36 */
	/* written by the daemon */
	__u32 daemon_waiting;           /*   64 */
	__u32 launch_seq;               /*   68 */
	__u32 launch_image_len;         /*   72 */
	__u32 launch_argc;              /*   76 */
	/* lab 4, uintr mode: the daemon's UPID slot and the user vector to post there */
	__u32 daemon_upid_slot;         /*   80 */
	__u32 daemon_user_vector;       /*   84 */
	__u32 daemon_uintr_ready;       /*   88 */
	__u32 daemon_reserved[9];       /*   92 */
	__u8  launch_argv[CRTOS_LAUNCH_ARGV_LEN]; /*  128 */
	/* written by the RTOS */
	__u32 rtos_vector;              /* 1152 */
	__u32 rtos_apic_id;             /* 1156 */
	__u32 ring_generation;          /* 1160 */
	__u32 rtos_waiting;             /* 1164 */
	__u32 launch_done_seq;          /* 1168 */
	__s32 launch_result;            /* 1172 */
	__u64 forwarded;                /* 1176 */
	__u64 failed_no_daemon;         /* 1184 */
	__u64 rejected;                 /* 1192 */
	/* lab 4, uintr mode: the RTOS forwarder's kernel UPID (NV = rtos_vector) */
	__u32 rtos_upid_slot;           /* 1200 */
	__u32 rtos_user_vector;         /* 1204 */
	__u32 rtos_uintr_ready;         /* 1208 */
	__u32 rtos_reserved[1];         /* 1212 */
};                                      /* 1216 bytes */

/* DAEMON_ATTACH: this open file becomes the daemon's (one at a time). The driver sets
 * notify_mode, bumps daemon_generation (returned) and sets daemon_alive; closing the
 * file (the daemon exits or is killed) clears daemon_alive and notifies the RTOS.
 * Then read(2) on the file blocks until an RTOS -> Linux notification arrived since
 * the previous read (8 bytes: the count so far); poll(2) reports POLLIN for it.
 * NOTIFY_RTOS: send the RTOS its notification IPI (rtos_vector, rtos_apic_id). */
struct crtos_attach_arg {
	__u32 notify_mode;              /* in: enum crtos_notify_mode */
	__u32 generation;               /* out: the new daemon_generation */
};

#define CRTOS_IOCTL_MAGIC 0xC7
#define CRTOS_ENABLE     _IOWR(CRTOS_IOCTL_MAGIC, 1, struct crtos_image_arg)
#define CRTOS_DISABLE    _IO(CRTOS_IOCTL_MAGIC, 2)
#define CRTOS_START_RTOS _IOWR(CRTOS_IOCTL_MAGIC, 3, struct crtos_start_rtos_arg)
#define CRTOS_QUERY      _IOR(CRTOS_IOCTL_MAGIC, 4, struct crtos_query)
#define CRTOS_STATUS     _IOR(CRTOS_IOCTL_MAGIC, 5, struct crtos_status)
#define CRTOS_HYPERCALL  _IOWR(CRTOS_IOCTL_MAGIC, 6, struct crtos_hypercall_arg)
#define CRTOS_PROBE_READ _IOWR(CRTOS_IOCTL_MAGIC, 7, struct crtos_probe_arg)
#define CRTOS_STOP_RTOS  _IO(CRTOS_IOCTL_MAGIC, 8)
#define CRTOS_DAEMON_ATTACH _IOWR(CRTOS_IOCTL_MAGIC, 9, struct crtos_attach_arg)
#define CRTOS_NOTIFY_RTOS   _IO(CRTOS_IOCTL_MAGIC, 10)

/* Errors the ioctls return (the control tool turns each into a sentence):
 *   EINVAL      image refused (reject_reason says which check), or bad argument
 *   EFAULT      the user buffer cannot be read
 *   EBUSY       ENABLE while enabled; START_RTOS while the RTOS runs; DISABLE while
 *               the RTOS runs (stop it first: STOP_RTOS)
 *   ESRCH       STOP_RTOS while no RTOS runs
 *   ETIMEDOUT   START_RTOS: the RTOS's CPU did not enter it in time (the CPU is
 *               Linux's again, the start-up page restored)
 *   ENODEV      DISABLE / START_RTOS / QUERY while no hypervisor is enabled
 *   EIO         ENABLE: the hypervisor could not turn VMX on or launch Linux on some
 *               CPU (its log line on the console says why); every CPU is back on
 *               bare metal and the state stays DISABLED
 *   ENODEV      ENABLE: a CPU has no usable VMX
 *   ENOMEM      out of kernel memory (the missing memmap= reservation is reported
 *               by the module's load itself failing with ENOMEM)
 *   EINTR       interrupted while waiting for the driver's lock
 *   EBUSY       DAEMON_ATTACH while another daemon is attached
 *   EPERM       read(2) or NOTIFY_RTOS on a file that did not DAEMON_ATTACH
 *   ENXIO       NOTIFY_RTOS while no RTOS runs or it has published no vector
 *   EAGAIN      read(2) with O_NONBLOCK and no notification pending
 */

/* ------------------------------------------------------------------ user interrupts (lab 4, Linux side)
 * The module gives Linux threads user interrupts (SENDUIPI) on the stock kernel, doing
 * what Intel's UINTR kernel patches did (driver/module/uintr.c explains how).
 * UPIDs live in the shared region's UPID area (CRTOS_UPID_OFFSET), one 64-byte slot
 * each, so that Linux and the RTOS can both address them; the driver hands out the
 * slots below CRTOS_UPID_LINUX_SLOTS to Linux threads, the rest are the RTOS's.
 *   REGISTER_RECEIVER  the calling thread receives user interrupts: `handler` is its
 *                      user entry point (delivery steps CRTOS_UINTR_STACK_ADJUST
 *                      bytes below RSP first); returns its UPID's slot and offset.
 *                      It must still set UIF itself (STUI).
 *   REGISTER_SENDER    adds an entry to the calling thread's UITT: SENDUIPI with the
 *                      returned index posts user vector `user_vector` (< 64) into the
 *                      UPID in slot `upid_index` (< CRTOS_UPID_SLOTS: a slot outside
 *                      the UPID area is refused with EINVAL).
 *   WAIT               blocks until a user interrupt is posted for the calling receiver
 *                      (or a signal: EINTR); returns 1 if it slept, 0 if one was
 *                      already pending. The handler runs on the return to user mode.
 *   UNREGISTER         drops the calling thread's receiver and sender state.
 * Errors: EOPNOTSUPP (the CPU has no UINTR, or KPTI is on; or REGISTER_SENDER names
 * an RTOS slot while Linux runs in x2APIC mode: the RTOS's NDST is xAPIC format), EINVAL (bad handler, slot
 * or vector), EBUSY (already a receiver), ENOSPC (no free slot or UITT entry), ENOENT
 * (WAIT/UNREGISTER by a thread that registered nothing, WAIT by a non-receiver).
 */
#define CRTOS_UPID_SLOT_SIZE       64
#define CRTOS_UPID_SLOTS           960          /* the 60 KiB UPID area / 64 */
#define CRTOS_UPID_LINUX_SLOTS     480
#define CRTOS_UITT_ENTRIES         64           /* per sending thread */
#define CRTOS_UINTR_STACK_ADJUST   128          /* the System V red zone */
/* Vectors (Linux 6.1's arch/x86/include/asm/irq_vectors.h): the notification vector of
 * a running receiver (its UINV) and the one a blocked receiver's UPID names. */
#define CRTOS_UINTR_NOTIFY_VECTOR  0xf2         /* POSTED_INTR_VECTOR: ack-only handler */
#define CRTOS_UINTR_WAKE_VECTOR    0xf1         /* POSTED_INTR_WAKEUP_VECTOR: a hook */
/* Lab 4: a handle naming user vector `vec` of the UPID in shared slot `slot`, the form
 * the RTOS's uintr_create_fd returns and its uintr_register_sender takes
 * (crtos_abi::uintr::SharedHandle). */
#define CRTOS_UINTR_SHARED_HANDLE_FLAG (1ULL << 32)
#define CRTOS_UINTR_SHARED_HANDLE(slot, vec) \
	(CRTOS_UINTR_SHARED_HANDLE_FLAG | ((__u64)(slot) * 64 + (vec)))

struct crtos_uintr_receiver_arg {
	__u64 handler;                  /* in: user address of the handler */
	__u32 upid_index;               /* out: its UPID's slot */
	__u32 pad;
	__u64 upid_offset;              /* out: the UPID's offset in the shared region */
};

struct crtos_uintr_sender_arg {
	__u32 upid_index;               /* in: the receiver's UPID slot */
	__u32 user_vector;              /* in: < 64 */
	__u32 uitt_index;               /* out: the index to give SENDUIPI */
	__u32 pad;
};

#define CRTOS_UINTR_REGISTER_RECEIVER _IOWR(CRTOS_IOCTL_MAGIC, 16, struct crtos_uintr_receiver_arg)
#define CRTOS_UINTR_REGISTER_SENDER   _IOWR(CRTOS_IOCTL_MAGIC, 17, struct crtos_uintr_sender_arg)
#define CRTOS_UINTR_WAIT              _IO(CRTOS_IOCTL_MAGIC, 18)
#define CRTOS_UINTR_UNREGISTER        _IO(CRTOS_IOCTL_MAGIC, 19)

#endif /* CRTOS_H */
