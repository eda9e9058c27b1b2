//! One forwarded system call: from the task's registers to the requests it sends,
//! and from the responses back to what the task's memory and RAX get.
//!
//! On the wire (driver/daemon/src/calls): Linux's number in `nr`, the integer
//! arguments in `args` with every pointer argument 0, a path as NUL-terminated bytes
//! in the payload (two back to back for `rename`), the bytes to write as the payload,
//! and what Linux returns (data read, a `struct stat`, directory records, the working
//! directory) as the reply's payload. Data calls larger than one payload slot go as
//! several requests, one after the other ([`syscall_ring::Transfer`]), never truncated.
//!
//! Pure: user memory is reached through [`UserMemory`], so the host tests the packing
//! against the real ring server; the kernel gives it the calling task's memory.

use alloc::vec::Vec;
use core::ops::Range;

use syscall_ring::{Call, RingError, Transfer};

use crate::errno::Errno;
use crate::iovec::{IoVec, IOV_MAX};
use crate::syscall_numbers as nr;

/// PATH_MAX (limits.h): a path is at most this long, its NUL included.
pub const PATH_MAX: usize = 4096;
/// `sizeof(struct stat)` on x86-64 Linux: what `stat` and friends copy back.
pub const STAT_SIZE: usize = 144;

/// A task's user memory, as the kernel checks and copies it.
pub trait UserMemory {
    /// Copies `out.len()` bytes from `addr`; `EFAULT` unless all are readable.
    fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno>;
    /// Copies `data` to `addr`; `EFAULT` unless all of it is writable.
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno>;
    /// Whether `len` bytes from `addr` are mapped (and writable, if `write`).
    fn check(&self, addr: u64, len: u64, write: bool) -> bool;
}

/// Whether system call `nr` is one a forwarded task sends to the daemon (contract
/// step 6; `exit`/`exit_group` end the task on both sides and are sent when it ends).
pub fn is_forwarded(number: u64) -> bool {
    matches!(
        number,
        nr::READ
            | nr::WRITE
            | nr::OPEN
            | nr::CLOSE
            | nr::STAT
            | nr::FSTAT
            | nr::LSTAT
            | nr::LSEEK
            | nr::PREAD64
            | nr::PWRITE64
            | nr::READV
            | nr::WRITEV
            | nr::ACCESS
            | nr::FSYNC
            | nr::GETCWD
            | nr::CHDIR
            | nr::RENAME
            | nr::MKDIR
            | nr::RMDIR
            | nr::UNLINK
            | nr::GETDENTS64
            | nr::OPENAT
            | nr::MKDIRAT
            | nr::NEWFSTATAT
            | nr::UNLINKAT
            | nr::RENAMEAT
    )
}

// ANCHOR: forwarded_call
/// A forwarded call in progress: what it sends next and where its answer goes.
pub struct ForwardedCall {
    kind: Kind,
    /// The payload of the request to send now.
    payload: Vec<u8>,
}

enum Kind {
    /// One request; the reply's bytes (at most `len`) go to user address `addr`.
    Single {
        call: Call,
        out: Option<(u64, usize)>,
    },
    /// A data call, chunk by chunk, over the task's buffers flattened into one range.
    Data {
        transfer: Transfer,
        buffers: Vec<IoVec>,
        /// `write`-like (the payload carries data out) or `read`-like (the reply in).
        outgoing: bool,
    },
}
// ANCHOR_END: forwarded_call

impl ForwardedCall {
    /// Packs system call `number` of task `task`: checks its pointers and copies its
    /// paths now (`EFAULT`, `ENAMETOOLONG` before anything is sent). `slot` is the
    /// ring's payload slot size. `Ok(None)`: not a forwarded call.
    pub fn new(
        task: u32,
        number: u64,
        a: &[u64; 6],
        mem: &impl UserMemory,
        slot: u32,
    ) -> Result<Option<Self>, Errno> {
        let slot_len = slot as usize;
        let data = |fd: u64, buffers: Vec<IoVec>, offset: Option<u64>, outgoing: bool| {
            let len = buffers.iter().map(|v| v.len).sum::<u64>() as usize;
            let transfer = Transfer::new(task, number as u32, fd, offset, len, slot);
            Kind::Data {
                transfer,
                buffers,
                outgoing,
            }
        };
        let single = |args: [u64; 6], out: Option<(u64, usize)>| Kind::Single {
            call: Call::syscall(task, number as u32, args),
            out,
        };
        let mut paths = Vec::new();
        let kind = match number {
            nr::READ | nr::WRITE | nr::PREAD64 | nr::PWRITE64 => {
                let outgoing = matches!(number, nr::WRITE | nr::PWRITE64);
                let buffers = checked_buffers(
                    mem,
                    &[IoVec {
                        base: a[1],
                        len: a[2],
                    }],
                    !outgoing,
                )?;
                let offset = matches!(number, nr::PREAD64 | nr::PWRITE64).then_some(a[3]);
                data(a[0], buffers, offset, outgoing)
            }
            nr::READV | nr::WRITEV => {
                let outgoing = number == nr::WRITEV;
                let iovecs = read_iovecs(mem, a[1], a[2])?;
                data(
                    a[0],
                    checked_buffers(mem, &iovecs, !outgoing)?,
                    None,
                    outgoing,
                )
            }
            nr::CLOSE | nr::FSYNC => single([a[0], 0, 0, 0, 0, 0], None),
            nr::LSEEK => single([a[0], a[1], a[2], 0, 0, 0], None),
            nr::FSTAT => single([a[0], 0, 0, 0, 0, 0], Some(out(mem, a[1], STAT_SIZE)?)),
            nr::STAT | nr::LSTAT => {
                paths.push(a[0]);
                single([0; 6], Some(out(mem, a[1], STAT_SIZE)?))
            }
            nr::NEWFSTATAT => {
                paths.push(a[1]);
                single([a[0], 0, 0, a[3], 0, 0], Some(out(mem, a[2], STAT_SIZE)?))
            }
            nr::GETDENTS64 | nr::GETCWD => {
                // One slot's worth at most: both calls may return less than asked
                // (whole records; a path is shorter than PATH_MAX anyway).
                let (buf, count) = if number == nr::GETCWD {
                    (a[0], a[1])
                } else {
                    (a[1], a[2])
                };
                let count = count.min(slot as u64);
                let dest = Some(out(mem, buf, count as usize)?);
                match number {
                    nr::GETCWD => single([0, count, 0, 0, 0, 0], dest),
                    _ => single([a[0], 0, count, 0, 0, 0], dest),
                }
            }
            nr::OPEN | nr::ACCESS | nr::CHDIR | nr::MKDIR | nr::RMDIR | nr::UNLINK => {
                paths.push(a[0]);
                single([0, a[1], a[2], 0, 0, 0], None)
            }
            nr::OPENAT | nr::MKDIRAT | nr::UNLINKAT => {
                paths.push(a[1]);
                single([a[0], 0, a[2], a[3], 0, 0], None)
            }
            nr::RENAME => {
                paths.extend([a[0], a[1]]);
                single([0; 6], None)
            }
            nr::RENAMEAT => {
                paths.extend([a[1], a[3]]);
                single([a[0], 0, a[2], 0, 0, 0], None)
            }
            _ => return Ok(None),
        };
        let mut payload = Vec::new();
        for &path in &paths {
            read_path(mem, path, &mut payload)?;
        }
        if payload.len() > slot_len {
            return Err(Errno::NameTooLong);
        }
        Ok(Some(Self { kind, payload }))
    }

    // ANCHOR: request
    /// The request to send now and its payload (for a write, the next chunk of the
    /// task's data, read from its memory now). `None` once the call is over.
    pub fn request(&mut self, mem: &impl UserMemory) -> Result<Option<(Call, &[u8])>, Errno> {
        match &self.kind {
            Kind::Single { call, .. } => Ok(Some((*call, &self.payload))),
            Kind::Data {
                transfer,
                buffers,
                outgoing,
            } => {
                let Some(chunk) = transfer.next_chunk() else {
                    return Ok(None);
                };
                self.payload.clear();
                if *outgoing {
                    self.payload.resize(chunk.range.len(), 0);
                    let payload = &mut self.payload;
                    for_each_piece(buffers, chunk.range.clone(), |addr, part| {
                        mem.read(
                            addr,
                            &mut payload[part.start - chunk.range.start..][..part.len()],
                        )
                    })?;
                }
                Ok(Some((chunk.call, &self.payload)))
            }
        }
    }
    // ANCHOR_END: request

    // ANCHOR: complete
    /// Takes the daemon's answer to the request just sent: copies the reply into the
    /// task's memory. `Ok(Some(ret))`: the call is over and returns `ret`;
    /// `Ok(None)`: send the next request. An answer no correct daemon gives (more
    /// bytes than asked, a reply shorter than its count) is an error: the caller
    /// rejects it and ends the call.
    pub fn complete(
        &mut self,
        ret: i64,
        reply: &[u8],
        mem: &impl UserMemory,
    ) -> Result<Option<i64>, RingError> {
        match &mut self.kind {
            Kind::Single { out, .. } => {
                if let (Some((addr, len)), true) = (*out, ret >= 0) {
                    if reply.len() > len {
                        return Err(RingError::ResultOutOfRange);
                    }
                    // Checked writable when the call was packed; the task is blocked
                    // since, so its memory has not changed.
                    mem.write(addr, reply)
                        .map_err(|_| RingError::PayloadOutOfBounds)?;
                }
                Ok(Some(ret))
            }
            Kind::Data {
                transfer,
                buffers,
                outgoing,
            } => {
                let Some(chunk) = transfer.next_chunk() else {
                    return Ok(None);
                };
                if !*outgoing && ret > 0 {
                    let got = ret as usize;
                    if got > chunk.range.len() || got > reply.len() {
                        return Err(RingError::ResultOutOfRange);
                    }
                    let start = chunk.range.start;
                    for_each_piece(buffers, start..start + got, |addr, part| {
                        mem.write(addr, &reply[part.start - start..][..part.len()])
                    })
                    .map_err(|_| RingError::PayloadOutOfBounds)?;
                }
                transfer.complete(ret)
            }
        }
    }
    // ANCHOR_END: complete
}

/// A reply destination: `len` writable bytes at `addr`.
fn out(mem: &impl UserMemory, addr: u64, len: usize) -> Result<(u64, usize), Errno> {
    if len > 0 && !mem.check(addr, len as u64, true) {
        return Err(Errno::Fault);
    }
    Ok((addr, len))
}

/// Every buffer checked (writable for a read), as Linux fails the whole call on a bad one.
fn checked_buffers(
    mem: &impl UserMemory,
    buffers: &[IoVec],
    write: bool,
) -> Result<Vec<IoVec>, Errno> {
    let mut total = 0u64;
    for v in buffers {
        if v.len > 0 && !mem.check(v.base, v.len, write) {
            return Err(Errno::Fault);
        }
        total = total.checked_add(v.len).ok_or(Errno::Inval)?;
    }
    // Linux moves at most MAX_RW_COUNT (2 GiB less a page) per call.
    if total > i32::MAX as u64 {
        return Err(Errno::Inval);
    }
    Ok(buffers.iter().copied().filter(|v| v.len > 0).collect())
}

/// A `readv`/`writev` iovec array, copied out of the task.
fn read_iovecs(mem: &impl UserMemory, iov: u64, count: u64) -> Result<Vec<IoVec>, Errno> {
    if count > IOV_MAX {
        return Err(Errno::Inval);
    }
    let mut iovecs = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut raw = [0u8; size_of::<IoVec>()];
        mem.read(iov + i * raw.len() as u64, &mut raw)?;
        let (base, len) = raw.split_at(8);
        iovecs.push(IoVec {
            base: u64::from_le_bytes(base.try_into().unwrap()),
            len: u64::from_le_bytes(len.try_into().unwrap()),
        });
    }
    Ok(iovecs)
}

/// Appends the NUL-terminated path at `addr` (NUL included) to `payload`.
fn read_path(mem: &impl UserMemory, addr: u64, payload: &mut Vec<u8>) -> Result<(), Errno> {
    for i in 0..PATH_MAX as u64 {
        let mut byte = [0u8];
        mem.read(addr.checked_add(i).ok_or(Errno::Fault)?, &mut byte)?;
        payload.push(byte[0]);
        if byte[0] == 0 {
            return Ok(());
        }
    }
    Err(Errno::NameTooLong)
}

/// Calls `f(user address, part)` for each piece of the flattened range `range` of
/// `buffers` (the buffers one after the other, as `readv`/`writev` see them).
fn for_each_piece(
    buffers: &[IoVec],
    range: Range<usize>,
    mut f: impl FnMut(u64, Range<usize>) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let mut start = 0usize;
    for v in buffers {
        let end = start + v.len as usize;
        let (from, to) = (range.start.max(start), range.end.min(end));
        if from < to {
            f(v.base + (from - start) as u64, from..to)?;
        }
        start = end;
    }
    Ok(())
}
