//! Which signal Linux would send a task for a CPU exception (arch/x86/kernel/traps.c):
//! a task the RTOS kills for a fault ends with status `KILLED_STATUS_BASE + signal`,
//! as a shell reports a killed Linux process (SIGSEGV: 139).

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGBUS: i32 = 7;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;

/// The signal for exception `vector` (SDM Vol. 3A §6.15 names them).
pub fn for_exception(vector: u64) -> i32 {
    match vector {
        0 | 16 | 19 => SIGFPE, // #DE, #MF, #XM
        1 | 3 => SIGTRAP,      // #DB, #BP
        6 => SIGILL,           // #UD
        17 => SIGBUS,          // #AC
        _ => SIGSEGV,          // #GP, #PF, #SS, #NP and the rest
    }
}

/// The exit status of a task killed by exception `vector`.
pub fn killed_status(vector: u64) -> i32 {
    crtos_abi::forwarding::KILLED_STATUS_BASE + for_exception(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_fault_ends_like_a_segfault_on_linux() {
        assert_eq!(killed_status(14), 139);
        assert_eq!(killed_status(13), 139);
        assert_eq!(killed_status(0), 136);
        assert_eq!(killed_status(6), 132);
    }
}
