//! The numbers and layouts that the kernels (the hypervisor, later the RTOS), the
//! driver's control tool (`driver/ctl`) and the machine runner share, each defined
//! once. Where C must agree (driver/include/crtos.h), `tests/header.rs` parses the
//! header and fails on any drift.
//!
//! One concept per module: the image header, the memory map, errno values, hypercall
//! codes, VM-exit reasons, the driver's reject reasons, the QUERY statistics, the
//! power-off argument, lab 3's shared region and control page.
#![cfg_attr(not(test), no_std)]

#[macro_use]
mod numeric_enum;

pub mod errno;
pub mod exit_reason;
pub mod forwarding;
pub mod hypercall;
pub mod image;
pub mod ioctl;
pub mod memory_map;
pub mod power_off;
pub mod reject;
pub mod stats;

pub use errno::Errno;
pub use exit_reason::{exit_reason_name, ExitReason, EXIT_REASONS};
pub use hypercall::HypercallCode;
pub use image::{ImageHeader, CHECKSUM_OFFSET, HEADER_SIZE, HV_MAGIC, IMAGE_VERSION, RTOS_MAGIC};
pub use memory_map::{HV_SIZE, RESERVED_BASE, RESERVED_SIZE, RTOS_SIZE, SHARED_SIZE, STARTUP_PAGE};
pub use power_off::PowerOff;
pub use reject::RejectReason;
pub use stats::HvStats;

/// `CRTOS_ABI_VERSION`: the ioctl interface's version, in `struct crtos_status`.
pub const ABI_VERSION: u32 = 1;

pub mod rtos;
pub mod uintr;

/// The line a guest prints to end a run (then it powers off): `[exit] code=N`, with
/// N = 0 for success. Kernels print it (crates/baremetal), the machine runner reads it.
pub const EXIT_MARKER: &str = "[exit] code=";
