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
