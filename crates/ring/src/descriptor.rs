//! The message that travels in both queues: one forwarded system call or its answer.

use crate::RingError;

// ANCHOR: descriptor
/// One request or response, copied whole into and out of a queue slot.
///
/// Plain integers only, so any bit pattern the peer leaves is a valid `Descriptor`
/// and can be validated after the copy. No padding, and 16-aligned, so a slot is
/// copied in six 16-byte moves (see `sync::SlotCell`).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Chosen by the client ([`crate::RequestId`]); the server copies it into the response.
    pub id: u64,
    /// An [`Opcode`] (requests) or the opcode being answered (responses).
    pub opcode: u32,
    /// A [`Status`]: who wrote the descriptor and how the request ended.
    pub status: u32,
    /// The RTOS task the request acts for: the daemon keys its shadow contexts by it.
    pub task: u32,
    /// For [`Opcode::Syscall`]: the x86-64 Linux system-call number, Linux's own
    /// (arch/x86/entry/syscalls/syscall_64.tbl), so no second numbering exists.
    pub nr: u32,
    /// System call arguments. Pointers mean nothing on Linux: data travels in the
    /// payload, and the daemon reads only the integer arguments (see the book's table).
    pub args: [u64; 6],
    /// System call result on Linux (a negative errno on failure).
    pub ret: i64,
    /// Byte offset of the payload from the start of the payload area.
    pub payload_offset: u32,
    /// Payload length in bytes (0: no payload).
    pub payload_len: u32,
    /// Zero. Pads the descriptor to whole 16-byte blocks.
    pub reserved: u64,
}

// Both sides must agree on every byte: 8 + 4 + 4 + 4 + 4 + 48 + 8 + 4 + 4 + 8 = 96,
// no padding.
const _: () = assert!(core::mem::size_of::<Descriptor>() == 96);
const _: () = assert!(core::mem::align_of::<Descriptor>() == 16);
const _: () = assert!(core::mem::offset_of!(Descriptor, task) == 16);
const _: () = assert!(core::mem::offset_of!(Descriptor, args) == 24);
const _: () = assert!(core::mem::offset_of!(Descriptor, ret) == 72);
const _: () = assert!(core::mem::offset_of!(Descriptor, payload_offset) == 80);
// ANCHOR_END: descriptor

// ANCHOR: opcode
/// What a request is. The ring knows two kinds only; which system call a `Syscall`
/// is rides in [`Descriptor::nr`] as Linux's number, so the ring never needs a table
/// of calls, and a call Linux does not know gets Linux's answer (`-ENOSYS`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// A forwarded system call (`exit`/`exit_group` included: they end the shadow).
    Syscall = 1,
    /// The RTOS created task `task`: the daemon creates its shadow context
    /// (`args[0]`: the launch that created it, 0 if none).
    TaskStart = 2,
}

impl TryFrom<u32> for Opcode {
    type Error = RingError;

    fn try_from(value: u32) -> Result<Self, RingError> {
        Ok(match value {
            1 => Opcode::Syscall,
            2 => Opcode::TaskStart,
            _ => return Err(RingError::UnknownOpcode),
        })
    }
}
// ANCHOR_END: opcode

// ANCHOR: call
/// What a client asks for: the part of a request descriptor it chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub opcode: Opcode,
    pub task: u32,
    /// Linux's system-call number (`Opcode::Syscall` only; 0 otherwise).
    pub nr: u32,
    pub args: [u64; 6],
}

impl Call {
    /// System call `nr` of task `task`.
    pub const fn syscall(task: u32, nr: u32, args: [u64; 6]) -> Self {
        Self {
            opcode: Opcode::Syscall,
            task,
            nr,
            args,
        }
    }

    /// Task `task` exists from now on. `launch` is the launch mailbox's `launch_seq`
    /// that created it (`crtosctl run`: the daemon gives its shadow the caller's
    /// terminal), 0 for a task of the RTOS's own run list.
    pub const fn task_start(task: u32, launch: u32) -> Self {
        Self {
            opcode: Opcode::TaskStart,
            task,
            nr: 0,
            args: [launch as u64, 0, 0, 0, 0, 0],
        }
    }
}
// ANCHOR_END: call

/// Who wrote a descriptor and how its request ended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A request from the client, not yet answered.
    Request = 0,
    /// The daemon ran the call; `ret` holds its result.
    Done = 1,
    /// The daemon refused the request as malformed (it never ran).
    Rejected = 2,
}

impl TryFrom<u32> for Status {
    type Error = RingError;

    fn try_from(value: u32) -> Result<Self, RingError> {
        Ok(match value {
            0 => Status::Request,
            1 => Status::Done,
            2 => Status::Rejected,
            _ => return Err(RingError::BadStatus),
        })
    }
}
