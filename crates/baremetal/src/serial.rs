//! The serial console (a 16550 UART, COM1 unless the kernel moves it): every kernel's
//! only output, which both emulators write to a file that the machine runner follows
//! live.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU16, Ordering};
use spin::Mutex;
use uart_16550::SerialPort;

/// COM1's I/O port base: the port Bochs's `com1:` and QEMU's first `-serial` attach to.
pub const COM1: u16 = 0x3F8;
/// COM2's I/O port base: the RTOS's own console, so that it never shares a UART with
/// Linux's `ttyS0` once both run.
pub const COM2: u16 = 0x2F8;

static SERIAL: Mutex<Option<SerialPort>> = Mutex::new(None);
/// The I/O port base of the UART in `SERIAL` (for `flush`).
static PORT: AtomicU16 = AtomicU16::new(COM1);

/// Programs the UART (115200 8N1, FIFOs on). Called once, by the boot CPU.
pub fn init() {
    init_port(COM1);
}

/// Programs the UART at I/O port `base` and makes it the console from now on.
pub fn init_port(base: u16) {
    // SAFETY: a standard PC serial port, which only this module drives.
    let mut port = unsafe { SerialPort::new(base) };
    port.init();
    let mut serial = SERIAL.lock();
    PORT.store(base, Ordering::Relaxed);
    *serial = Some(port);
}

/// The I/O port base of the console.
pub fn console_port() -> u16 {
    PORT.load(Ordering::Relaxed)
}

/// Uses COM1 as someone else (firmware, Linux) programmed it, without resetting it:
/// a reset would drop the bytes still in its FIFO. The hypervisor does this.
pub fn attach() {
    let mut serial = SERIAL.lock();
    if serial.is_none() {
        // SAFETY: as in `init`; the port is only written, never reprogrammed.
        *serial = Some(unsafe { SerialPort::new(COM1) });
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    // Interrupts stay as they are: kernels of the lab print from interrupt handlers only
    // on fatal paths, and a CPU never takes this lock twice.
    if let Some(port) = SERIAL.lock().as_mut() {
        let _ = port.write_fmt(args);
    }
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::serial::_print(format_args!($($arg)*)));
}

/// Prints to the serial console, with a newline.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::serial::_print(format_args!("{}\n", format_args!($($arg)*))));
}

/// Waits until the UART has sent every byte (line status register bit 6, "transmitter
/// empty"). An emulator that powers off right after the last write would otherwise lose
/// the bytes still in the transmit register: Bochs does.
pub fn flush() {
    let _guard = SERIAL.lock();
    // SAFETY: reading the UART's line status register has no side effect.
    let port = PORT.load(Ordering::Relaxed);
    let mut lsr = x86_64::instructions::port::PortReadOnly::<u8>::new(port + 5);
    while unsafe { lsr.read() } & 0x40 == 0 {
        core::hint::spin_loop();
    }
}

/// Breaks a lock held by a CPU that will never release it (a panic inside `_print`):
/// only the panic path calls this, just before it prints and powers off.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))] // the panic handler's
pub(crate) fn force_unlock() {
    if SERIAL.is_locked() {
        // SAFETY: called on the way to power-off; a garbled line beats a silent hang.
        unsafe { SERIAL.force_unlock() };
    }
}
