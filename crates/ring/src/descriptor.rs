//! The message that travels in both queues: one forwarded system call or its answer.

use crate::RingError;

// ANCHOR: descriptor
/// One request or response, copied whole into and out of a queue slot.
///
/// Plain integers only, so any bit pattern the peer leaves is a valid `Descriptor`
/// and can be validated after the copy. No padding, and 16-aligned, so a slot is
/// copied in five 16-byte moves (see `sync::SlotCell`).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Chosen by the client ([`crate::RequestId`]); the server copies it into the response.
    pub id: u64,
    /// An [`Opcode`] (requests) or the opcode being answered (responses).
    pub opcode: u32,
    /// A [`Status`]: who wrote the descriptor and how the request ended.
    pub status: u32,
    /// System call arguments, as the RTOS task passed them.
    pub args: [u64; 6],
    /// System call result on Linux (a negative errno on failure).
    pub ret: i64,
    /// Byte offset of the payload from the start of the payload area.
    pub payload_offset: u32,
    /// Payload length in bytes (0: no payload).
    pub payload_len: u32,
}

// Both sides must agree on every byte: 8 + 4 + 4 + 48 + 8 + 4 + 4 = 80, no padding.
const _: () = assert!(core::mem::size_of::<Descriptor>() == 80);
const _: () = assert!(core::mem::align_of::<Descriptor>() == 16);
const _: () = assert!(core::mem::offset_of!(Descriptor, args) == 16);
const _: () = assert!(core::mem::offset_of!(Descriptor, ret) == 64);
const _: () = assert!(core::mem::offset_of!(Descriptor, payload_offset) == 72);
// ANCHOR_END: descriptor

// ANCHOR: opcode
/// The system calls that may be forwarded (the cRTOS "remote" class, plus `exit`,
/// which is dual-side: the daemon tears down the task's shadow context).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    Open = 1,
    Close = 2,
    Read = 3,
    Write = 4,
    Lseek = 5,
    Fstat = 6,
    Exit = 7,
}

impl TryFrom<u32> for Opcode {
    type Error = RingError;

    fn try_from(value: u32) -> Result<Self, RingError> {
        Ok(match value {
            1 => Opcode::Open,
            2 => Opcode::Close,
            3 => Opcode::Read,
            4 => Opcode::Write,
            5 => Opcode::Lseek,
            6 => Opcode::Fstat,
            7 => Opcode::Exit,
            _ => return Err(RingError::UnknownOpcode),
        })
    }
}
// ANCHOR_END: opcode

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
