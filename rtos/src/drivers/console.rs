//! The console: the UART the boot block names (COM2 by default), behind an output
//! buffer. Kernel lines ([`kprintln!`]) and user `write`s append to the buffer, in
//! order, and return at once; the idle loop sends the bytes, one at a time with
//! interrupts off only for that byte.
//!
//! Why a buffer: a UART is slow (at 115200 baud one byte takes 87 µs, and Bochs
//! emulates that), and a kernel that sends a whole line with interrupts off keeps a
//! higher-priority task's wake-up waiting for milliseconds: priority inversion through
//! the console. Now the output costs a copy, and the sending happens when no task is
//! ready. When the buffer is full, the writer sends the oldest bytes itself (it pays for
//! its own output). Crates/baremetal's `println!` still writes directly: it is for
//! the panic path, which flushes this buffer first.

use core::fmt::{self, Write};

use spin::Mutex;
use x86_64::instructions::interrupts;
use x86_64::instructions::port::Port;

const BUFFER_SIZE: usize = 64 << 10;
/// Line status register: bit 5, the transmit holding register is empty.
const LSR_OFFSET: u16 = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

struct OutputBuffer {
    bytes: [u8; BUFFER_SIZE],
    /// Index of the oldest byte, and how many bytes are waiting.
    head: usize,
    len: usize,
    port: u16,
}

static OUTPUT: Mutex<OutputBuffer> = Mutex::new(OutputBuffer {
    bytes: [0; BUFFER_SIZE],
    head: 0,
    len: 0,
    port: baremetal::serial::COM2,
});

impl OutputBuffer {
    fn transmitter_ready(port: u16) -> bool {
        // SAFETY: reading the UART's line status register has no side effect.
        unsafe { Port::<u8>::new(port + LSR_OFFSET).read() & LSR_THR_EMPTY != 0 }
    }

    /// Sends the oldest byte once the UART can take it.
    fn send_one(&mut self) {
        while !Self::transmitter_ready(self.port) {
            core::hint::spin_loop();
        }
        // SAFETY: the data register of the console UART, which only this module writes
        // (besides the panic path, after flushing).
        unsafe { Port::<u8>::new(self.port).write(self.bytes[self.head]) };
        self.head = (self.head + 1) % BUFFER_SIZE;
        self.len -= 1;
    }

    fn push(&mut self, byte: u8) {
        if self.len == BUFFER_SIZE {
            self.send_one();
        }
        self.bytes[(self.head + self.len) % BUFFER_SIZE] = byte;
        self.len += 1;
    }
}

impl Write for OutputBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.push(b));
        Ok(())
    }
}

/// Sends the buffer to the UART at `port` from now on (the UART is programmed by
/// crates/baremetal).
pub fn init(port: u16) {
    OUTPUT.lock().port = port;
    baremetal::panic::set_panic_hook(flush);
}

/// Appends bytes from a user task, showing invalid UTF-8 as U+FFFD.
pub fn write_bytes(bytes: &[u8]) {
    let mut out = OUTPUT.lock();
    for chunk in bytes.utf8_chunks() {
        let _ = out.write_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            let _ = out.write_str("\u{FFFD}");
        }
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = OUTPUT.lock().write_fmt(args);
}

/// Prints a kernel line through the console buffer.
macro_rules! kprintln {
    ($($arg:tt)*) => ($crate::drivers::console::_print(format_args!("{}\n", format_args!($($arg)*))));
}

/// The idle loop's share: sends one byte if any waits; `false` when the buffer is empty.
/// Waits for the UART with interrupts on (an interrupt may abandon the idle loop at
/// any point), and takes the buffer only with interrupts off.
pub fn send_pending_byte() -> bool {
    if !interrupts::without_interrupts(|| OUTPUT.lock().len > 0) {
        return false;
    }
    let port = interrupts::without_interrupts(|| OUTPUT.lock().port);
    while !OutputBuffer::transmitter_ready(port) {
        core::hint::spin_loop();
    }
    interrupts::without_interrupts(|| {
        let mut out = OUTPUT.lock();
        if out.len > 0 {
            out.send_one();
        }
    });
    true
}

/// Sends everything still buffered (the end of the run, a panic).
pub fn flush() {
    // SAFETY: on the end or panic path, nothing else runs: a lock held by an abandoned
    // context must not stop the last lines.
    if OUTPUT.is_locked() {
        unsafe { OUTPUT.force_unlock() };
    }
    let mut out = OUTPUT.lock();
    while out.len > 0 {
        out.send_one();
    }
}
