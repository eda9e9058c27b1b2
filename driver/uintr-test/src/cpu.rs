//! The CPU things the tests need besides user interrupts: the TSC, and pinning.

pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is allowed at CPL 3 on Linux.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Pins the calling thread to `cpu`.
pub fn pin_to(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is valid; the call reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
