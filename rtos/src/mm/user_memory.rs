//! Reading and writing user memory from a system call. Every access is checked first
//! against the calling task's regions ([`AddressSpace::check`]): a bad pointer gives
//! `EFAULT`, never a kernel fault. The caller's space is the active one during its
//! system call, so checked user addresses are used as they are.

use super::address_space::AddressSpace;
use crate::syscall::errno::Errno;

/// `len` bytes at user address `addr`, readable.
pub fn slice(space: &AddressSpace, addr: u64, len: usize) -> Result<&'static [u8], Errno> {
    if len == 0 {
        return Ok(&[]);
    }
    if !space.check(addr, len as u64, false) {
        return Err(Errno::Fault);
    }
    // SAFETY: checked: mapped user memory of the active space.
    Ok(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
}

/// Reads a `T` (plain data) at user address `addr`.
pub fn read<T: Copy>(space: &AddressSpace, addr: u64) -> Result<T, Errno> {
    if !space.check(addr, size_of::<T>() as u64, false) {
        return Err(Errno::Fault);
    }
    // SAFETY: checked; user memory may be unaligned.
    Ok(unsafe { (addr as *const T).read_unaligned() })
}

/// Writes `value` (plain data) at user address `addr`, which must be writable.
pub fn write<T: Copy>(space: &AddressSpace, addr: u64, value: T) -> Result<(), Errno> {
    if !space.check(addr, size_of::<T>() as u64, true) {
        return Err(Errno::Fault);
    }
    // SAFETY: checked writable; user memory may be unaligned.
    unsafe { (addr as *mut T).write_unaligned(value) };
    Ok(())
}

/// Copies `data` to user address `addr`, which must be writable.
pub fn write_bytes(space: &AddressSpace, addr: u64, data: &[u8]) -> Result<(), Errno> {
    if data.is_empty() {
        return Ok(());
    }
    if !space.check(addr, data.len() as u64, true) {
        return Err(Errno::Fault);
    }
    // SAFETY: checked writable, in the active space.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
    Ok(())
}
