//! The one way a kernel of the lab ends a run, on both emulators:
//! 1. print `[exit] code=N` on the serial console, where the machine runner reads it
//!    (0 = success; anything else = failure);
//! 2. power the machine off through ACPI (S5), which makes Bochs and QEMU exit.
//!
//! The Linux guest follows the same protocol: its init prints the line, then runs
//! `poweroff -f`, which ends in the same ACPI write.

use core::sync::atomic::{AtomicBool, Ordering};

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

/// Powers off through ACPI PM1a_CNT: `SLP_TYP(S5) << 10 | SLP_EN (bit 13)`.
pub fn power_off() -> ! {
    match crate::platform() {
        Some(p) if p.pm1a_control != 0 => {
            // SAFETY: the port and value come from the firmware's FADT and DSDT.
            unsafe { Port::<u16>::new(p.pm1a_control).write((p.s5_sleep_type << 10) | (1 << 13)) };
        }
        _ => crate::println!("power_off: no ACPI PM1a port found; halting"),
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
