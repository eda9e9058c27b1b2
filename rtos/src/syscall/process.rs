//! Calls about the task itself: `set_tid_address` and `arch_prctl` (both from musl's
//! start code). `getpid`/`gettid` and `exit`/`exit_group` are answered in the dispatcher.

use x86_64::registers::model_specific::FsBase;
use x86_64::VirtAddr;

use super::errno::Errno;
use crate::config::USER_CANONICAL_END;
use crate::mm::user_memory;
use crate::task::tcb::Task;

const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

pub fn set_tid_address(task: &mut Task, ptr: u64) -> Result<i64, Errno> {
    task.clear_child_tid = ptr;
    Ok(task.tid as i64)
}

/// `ARCH_SET_FS` sets the thread pointer musl's TLS uses; `ARCH_GET_FS` reads it.
pub fn arch_prctl(task: &mut Task, code: u64, addr: u64) -> Result<i64, Errno> {
    match code {
        ARCH_SET_FS => {
            if addr >= USER_CANONICAL_END {
                return Err(Errno::Perm);
            }
            task.context.fs_base = addr;
            FsBase::write(VirtAddr::new(addr));
            Ok(0)
        }
        ARCH_GET_FS => user_memory::write(&task.space, addr, task.context.fs_base).map(|_| 0),
        _ => Err(Errno::Inval),
    }
}
