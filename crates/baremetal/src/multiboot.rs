//! The multiboot entry: `rust_start`, called by the boot stub (`boot.rs`) on the boot
//! CPU, and the `entry!` macro that names the kernel's main function.

use spin::Once;

use crate::{acpi, halt_forever, interrupts, mem, println, serial, BootInfo, BOOT_INFO};

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
