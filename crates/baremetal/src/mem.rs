//! The symbols the precompiled `core`/`alloc` of the host target expect from a libc.
//!
//! The host target's `compiler_builtins` is built without its `mem` feature, so
//! memcpy & co. normally come from glibc, which a kernel does not link. Simple byte
//! loops are enough here, and `rep movsb`/`rep stosb` are fast on CPUs with ERMS.
//! These must not be written with `core::ptr::copy*`: the compiler turns those back
//! into calls to memcpy, and the function would call itself.

use core::arch::asm;

/// Copies `n` bytes from `src` to `dst`.
///
/// # Safety
/// C's contract: both ranges valid for `n` bytes and not overlapping.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _,
         options(nostack, preserves_flags));
    dst
}

/// Copies `n` bytes from `src` to `dst`; the ranges may overlap.
///
/// # Safety
/// C's contract: both ranges valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize) + n {
        return memcpy(dst, src, n);
    }
    // Overlapping with dst above src: copy backwards (direction flag set, then cleared,
    // since the ABI requires DF = 0 at every call boundary).
    asm!("std", "rep movsb", "cld",
         inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
         options(nostack));
    dst
}

/// Fills `n` bytes at `dst` with the byte `value`.
///
/// # Safety
/// C's contract: `dst` valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, value: i32, n: usize) -> *mut u8 {
    asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") value as u8,
         options(nostack, preserves_flags));
    dst
}

/// Compares `n` bytes: negative, zero or positive like C's memcmp.
///
/// # Safety
/// C's contract: both ranges valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (*a.add(i), *b.add(i));
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// Zero when the `n` bytes are equal.
///
/// # Safety
/// C's contract: both ranges valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

/// The length of a NUL-terminated string.
///
/// # Safety
/// C's contract: `s` points to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    while *s.add(n) != 0 {
        n += 1;
    }
    n
}

// The precompiled `alloc` is built with panic=unwind and references the unwinder even
// though our kernels abort on panic. Neither symbol is ever called.
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    panic!("_Unwind_Resume called in a panic=abort kernel");
}

#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
