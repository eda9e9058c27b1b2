//! The console: the UART the boot block names (COM2 by default), programmed by
//! crates/baremetal. Kernel lines use `baremetal::println!`; user `write`s come here as
//! bytes, which need not be UTF-8.

use baremetal::print;

/// Writes bytes from a user task to the console, showing invalid UTF-8 as U+FFFD.
pub fn write_bytes(bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        print!("{}", chunk.valid());
        if !chunk.invalid().is_empty() {
            print!("\u{FFFD}");
        }
    }
}
