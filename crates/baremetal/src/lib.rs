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
pub mod boot;
pub mod exit;
pub mod interrupts;
pub mod mem;
pub mod panic;
pub mod pit;
pub mod serial;
pub mod smp;

pub use exit::{exit, halt_forever, power_off};

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

static BOOT_INFO: Once<BootInfo> = Once::new();

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

/// Declares the kernel's main function, called by the boot CPU once the console,
/// the interrupt tables and the platform tables are ready.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        extern "Rust" fn baremetal_kernel_main(boot: &'static $crate::BootInfo) -> ! {
            let main: fn(&'static $crate::BootInfo) -> ! = $main;
            main(boot)
        }
    };
}

extern "Rust" {
    fn baremetal_kernel_main(boot: &'static BootInfo) -> !;
}

const MULTIBOOT_LOADER_MAGIC: u32 = 0x2BAD_B002;

/// Called by the boot stub in 64-bit mode on the boot stack.
#[no_mangle]
extern "C" fn rust_start(magic: u32, info: u32) -> ! {
    serial::init();
    interrupts::init_cpu(0);
    if magic != MULTIBOOT_LOADER_MAGIC {
        println!("baremetal: not started by a multiboot loader (eax={magic:#x})");
        halt_forever();
    }
    // SAFETY: multiboot info (flags, mem_lower, mem_upper, boot_device, cmdline, ...)
    // in identity-mapped low memory, as the loader left it.
    let (flags, mem_upper, cmdline_addr) = unsafe {
        let p = info as usize as *const u32;
        (p.read(), p.add(2).read(), p.add(4).read())
    };
    // Copied out of low memory, which later code (the AP start-up page) may reuse.
    static CMDLINE: Once<([u8; 1024], usize)> = Once::new();
    let (buf, len) = CMDLINE.call_once(|| {
        let mut buf = [0u8; 1024];
        let mut len = 0;
        if flags & (1 << 2) != 0 && cmdline_addr != 0 {
            // SAFETY: a NUL-terminated string the loader placed in low memory.
            unsafe {
                let src = cmdline_addr as usize as *const u8;
                len = mem::strlen(src).min(buf.len());
                buf[..len].copy_from_slice(core::slice::from_raw_parts(src, len));
            }
        }
        (buf, len)
    });
    let cmdline = core::str::from_utf8(&buf[..*len]).unwrap_or("");
    let boot = BOOT_INFO.call_once(|| BootInfo {
        cmdline,
        mem_upper_kib: if flags & 1 != 0 { mem_upper } else { 0 },
        platform: acpi::discover(),
    });
    // SAFETY: defined by the kernel's `entry!`.
    unsafe { baremetal_kernel_main(boot) }
}
