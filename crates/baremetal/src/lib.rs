//! Bare-metal support shared by every kernel of the lab (the smoke kernel, the
//! hypervisor, the RTOS): one copy of the boot stub, the serial console, the panic
//! handler, the mem* functions, interrupt entry, SMP start and the exit path.
//!
//! Kernels are `#![no_std]` binaries of the *host* target `x86_64-unknown-linux-gnu`
//! (no `rustup target add`, no `rust-src`), linked static and non-PIE by
//! `kernel-build`. A kernel names its main function with [`entry!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! baremetal::entry!(main);
//! fn main(boot: &'static baremetal::BootInfo) -> ! { baremetal::exit(0) }
//! ```
#![no_std]
// `clippy --all-targets` also checks a host test build, where the panic path is std's.
#![cfg_attr(test, allow(dead_code))]

pub mod acpi;
pub mod apic;
#[cfg(feature = "multiboot")]
pub mod boot;
pub mod exit;
pub mod interrupts;
pub mod legacy_pic;
#[cfg(feature = "runtime")]
pub mod mem;
pub mod panic;
pub mod pit;
pub mod serial;
pub mod smp;

pub use exit::{exit, halt_forever, power_off};

/// Size of each CPU's boot stack (the boot CPU's in `boot`, the others' in `smp`).
pub const STACK_SIZE: usize = 64 * 1024;

use spin::Once;

/// What the boot loader and the firmware told us.
#[derive(Debug)]
pub struct BootInfo {
    /// The kernel command line (multiboot `cmdline`), e.g. from GRUB's `multiboot`
    /// line or QEMU's `-append`.
    pub cmdline: &'static str,
    /// Memory above 1 MiB, in KiB (multiboot `mem_upper`).
    pub mem_upper_kib: u32,
    /// The firmware's ACPI tables, if found.
    pub platform: Option<acpi::Platform>,
}

pub(crate) static BOOT_INFO: Once<BootInfo> = Once::new();

/// The platform tables read at boot (for the exit path and SMP start).
pub fn platform() -> Option<&'static acpi::Platform> {
    BOOT_INFO.get().and_then(|b| b.platform.as_ref())
}

/// Returns the value of `key=value` on the command line, if present.
pub fn cmdline_value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_ascii_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(feature = "multiboot")]
mod multiboot;
