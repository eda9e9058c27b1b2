//! The same ping-pong as `pingpong`, through the kernel: two eventfds, each thread
//! blocked in read(2) until the other's write(2). What a user interrupt saves, for
//! the book's table (a one-way trip is about half a round trip).
//!
//!   uintr-test eventfd-pingpong N   eventfd-pingpong: n=<N> median=<cycles> p99=<cycles>

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;

use crate::cpu;

fn eventfd() -> io::Result<File> {
    // SAFETY: a new descriptor, owned by the File from here on.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is ours and open.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// One eventfd "message": write 1; the reader's read takes the count and resets it.
fn post(mut fd: &File) -> io::Result<()> {
    fd.write_all(&1u64.to_ne_bytes())
}

fn take(mut fd: &File) -> io::Result<()> {
    let mut count = [0u8; 8];
    fd.read_exact(&mut count)
}

/// A on CPU 0 posts to B and blocks until B posts back, N times; B on CPU 1 echoes.
pub fn pingpong(n: u64) -> io::Result<Vec<u64>> {
    let (to_b, to_a) = (eventfd()?, eventfd()?);
    std::thread::scope(|s| {
        let echo = s.spawn(|| -> io::Result<()> {
            cpu::pin_to(1)?;
            for _ in 0..n {
                take(&to_b)?;
                post(&to_a)?;
            }
            Ok(())
        });
        let samples = (|| {
            cpu::pin_to(0)?;
            (0..n)
                .map(|_| {
                    let start = cpu::rdtsc();
                    post(&to_b)?;
                    take(&to_a)?;
                    Ok(cpu::rdtsc() - start)
                })
                .collect::<io::Result<Vec<u64>>>()
        })();
        if samples.is_err() {
            // Unblock the echo thread: it reads until it has seen N posts.
            for _ in 0..n {
                let _ = post(&to_b);
            }
        }
        echo.join().expect("the echo thread panicked")?;
        samples
    })
}
