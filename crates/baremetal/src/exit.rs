//! The one way a kernel of the lab ends a run, on both emulators:
//! 1. print `[exit] code=N` on the serial console, where the machine runner reads it
//!    (0 = success; anything else = failure);
//! 2. power the machine off through ACPI (S5), which makes Bochs and QEMU exit.
//!
//! The Linux guest follows the same protocol: its init prints the line, then runs
//! `poweroff -f`, which ends in the same ACPI write.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use x86_64::instructions::port::Port;

pub use crtos_abi::EXIT_MARKER;

/// Whether `exit` powers the machine off (the default) or only halts this CPU.
static POWER_OFF_ON_EXIT: AtomicBool = AtomicBool::new(true);

/// Makes `exit` (and so a panic) halt this CPU instead of powering the machine off:
/// for a kernel that shares the machine (the RTOS started under Linux).
pub fn halt_on_exit() {
    POWER_OFF_ON_EXIT.store(false, Ordering::Relaxed);
}

// ANCHOR: exit
/// Ends the run with `code`. Never returns.
///
/// The runner reads the exit line on COM1; a kernel whose console is another port (the
/// RTOS's COM2) prints it there too, so its transcript shows how it ended.
pub fn exit(code: u32) -> ! {
    crate::println!("{EXIT_MARKER}{code}");
    crate::serial::flush();
    if !POWER_OFF_ON_EXIT.load(Ordering::Relaxed) {
        halt_forever()
    }
    if crate::serial::console_port() != crate::serial::COM1 {
        crate::serial::init_port(crate::serial::COM1);
        crate::println!("{EXIT_MARKER}{code}");
        crate::serial::flush();
    }
    power_off()
}

/// The PM1a control port (bits 15:0) and the value that powers off (bits 31:16), when
/// a kernel was told them instead of reading the firmware's tables itself (the
/// hypervisor: the driver reads them from Linux's ACPI). 0 = not set.
static POWER_OFF: AtomicU32 = AtomicU32::new(0);

/// Tells [`power_off`] to write `value` to I/O port `port`.
pub fn set_power_off(port: u16, value: u16) {
    POWER_OFF.store(port as u32 | (value as u32) << 16, Ordering::Release);
}

/// Powers off through ACPI PM1a_CNT: `SLP_TYP(S5) << 10 | SLP_EN (bit 13)`.
pub fn power_off() -> ! {
    let told = POWER_OFF.load(Ordering::Acquire);
    let found = crate::platform()
        .filter(|p| p.pm1a_control != 0)
        .map(|p| (p.pm1a_control, (p.s5_sleep_type << 10) | (1 << 13)));
    match (told != 0)
        .then_some((told as u16, (told >> 16) as u16))
        .or(found)
    {
        // SAFETY: the port and value come from the firmware's FADT and DSDT.
        Some((port, value)) => unsafe { Port::<u16>::new(port).write(value) },
        None => crate::println!("power_off: no ACPI PM1a port found; halting"),
    }
    halt_forever()
}

/// Stops this CPU for good (interrupts off, `hlt` in a loop).
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
// ANCHOR_END: exit
