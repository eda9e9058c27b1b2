//! The reservation the kernel command line makes (`memmap=52M$0x10000000`) and how the
//! driver splits it: the hypervisor's range, the RTOS's, then the shared region
//! (crtos.h: CRTOS_RESERVED_BASE, CRTOS_HV_SIZE, CRTOS_RTOS_SIZE, CRTOS_SHARED_SIZE).

/// Physical base of the reservation (the driver's default; `reserved_base=` moves it).
pub const RESERVED_BASE: u64 = 0x1000_0000;
pub const HV_SIZE: u64 = 16 << 20;
pub const RTOS_SIZE: u64 = 32 << 20;
/// The shared region follows the RTOS's range.
pub const SHARED_SIZE: u64 = 4 << 20;
pub const RESERVED_SIZE: u64 = HV_SIZE + RTOS_SIZE + SHARED_SIZE;

/// The start-up page (lab 2): the 4 KiB page below 1 MiB where a started CPU begins,
/// in real mode, at the SIPI vector `STARTUP_PAGE >> 12`. Linux 6.1 reserves the first
/// MiB but keeps its own trampoline and BIOS data there, so the starter borrows this
/// page and restores it (RVM1.5 borrows the same one).
pub const STARTUP_PAGE: u64 = 0x6000;
