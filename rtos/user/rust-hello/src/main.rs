//! rust-hello: a Rust program on the Linux system-call ABI with no libc at all, built
//! for the host target (`x86_64-unknown-linux-gnu`) as `#![no_std]`. It prints
//!
//! ```text
//! rust-hello: pid=<pid> nonce=<N>
//! ```
//!
//! where N is the environment variable NONCE (or `none`), and exits 0. The same binary
//! runs as a Linux process and as an RTOS task: the kernel only has to start it the
//! Linux way (argc, argv, envp on the stack) and answer `getpid`, `writev` and
//! `exit_group` with Linux's numbers.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

/// Linux x86-64 system-call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
mod nr {
    pub const WRITEV: usize = 20;
    pub const GETPID: usize = 39;
    pub const EXIT_GROUP: usize = 231;
}
const STDOUT: usize = 1;

// The kernel enters here with RSP pointing at argc; argv[], a null, envp[] and a null
// follow (then the auxiliary vector, which this program does not need). RSP is 16-byte
// aligned at entry, as the ABI says; `call` then leaves the callee the usual
// misalignment by 8. RBP = 0 marks the outermost frame for debuggers.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym start,
);

/// A system call with up to three arguments; returns the raw result (negative errno).
///
/// # Safety
/// The arguments must be valid for the call `n` (pointers the kernel will follow).
unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller vouches for the arguments; `syscall` clobbers RCX (return
    // RIP) and R11 (RFLAGS), and the kernel preserves every other register.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

fn exit(code: usize) -> ! {
    // SAFETY: exit_group takes no pointer and never returns.
    unsafe {
        asm!("syscall", in("rax") nr::EXIT_GROUP, in("rdi") code, options(noreturn, nostack));
    }
}

/// One element of `writev`'s array (`struct iovec`).
#[repr(C)]
struct IoVec {
    base: *const u8,
    len: usize,
}

impl IoVec {
    fn new(bytes: &[u8]) -> Self {
        IoVec {
            base: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

/// Writes the pieces as one line with a single `writev`: no buffer to copy into (so
/// no memcpy, which a libc-free program would have to provide), and one system call,
/// so the line never tears when another task writes at the same time.
fn write_line(pieces: &[&[u8]]) {
    let mut iov: [IoVec; 8] = core::array::from_fn(|_| IoVec::new(b""));
    let n = pieces.len().min(iov.len());
    for (slot, piece) in iov.iter_mut().zip(pieces) {
        *slot = IoVec::new(piece);
    }
    // SAFETY: iov[..n] describes live slices.
    unsafe { syscall3(nr::WRITEV, STDOUT, iov.as_ptr() as usize, n) };
}

/// `value` in decimal, in the tail of `buf`.
fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buf[start..];
        }
    }
}

/// The C string at `p` as a byte slice (without its terminating zero).
///
/// # Safety
/// `p` must point at a zero-terminated string that outlives the program.
unsafe fn c_str(p: *const u8) -> &'static [u8] {
    let mut len = 0;
    // A volatile read: LLVM turns a plain "count up to the zero" loop into a call to
    // strlen, which a program without libc does not have.
    // SAFETY: the string is zero-terminated, so every byte read up to the zero is in it.
    while unsafe { p.add(len).read_volatile() } != 0 {
        len += 1;
    }
    // SAFETY: `len` bytes from `p` were just read.
    unsafe { core::slice::from_raw_parts(p, len) }
}

/// The value of environment variable `name` (bytes before the '='), if set.
///
/// # Safety
/// `envp` must be the process's null-terminated environment array.
unsafe fn getenv(mut envp: *const *const u8, name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: the array ends with a null pointer; every entry is a C string.
    unsafe {
        while !(*envp).is_null() {
            let entry = c_str(*envp);
            if entry.len() > name.len() && entry.starts_with(name) && entry[name.len()] == b'=' {
                return Some(&entry[name.len() + 1..]);
            }
            envp = envp.add(1);
        }
    }
    None
}

/// Called from `_start` with the initial stack pointer.
extern "C" fn start(stack: *const usize) -> ! {
    // SAFETY: the kernel built this stack: argc, then argc argv pointers and a null,
    // then the environment pointers and a null.
    let nonce = unsafe {
        let argc = *stack;
        let envp = stack.add(1 + argc + 1) as *const *const u8;
        getenv(envp, b"NONCE").filter(|n| !n.is_empty())
    };
    // SAFETY: getpid takes no arguments.
    let pid = unsafe { syscall3(nr::GETPID, 0, 0, 0) };
    let mut digits = [0u8; 20];
    write_line(&[
        b"rust-hello: pid=",
        decimal(pid as u64, &mut digits),
        b" nonce=",
        nonce.unwrap_or(b"none"),
        b"\n",
    ]);
    exit(0)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}
