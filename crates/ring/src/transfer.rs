//! Splitting one `read`/`write`-like call into requests that each fit a payload buffer.
//!
//! A task may `write` 1 MiB at once; one request carries at most `payload_slot_size`
//! bytes. The client sends the call as several requests, **one at a time**: the next
//! chunk leaves only after the previous one was answered in full. That is what keeps
//! Linux's semantics: a short `read` (a terminal line, the end of a file) or a short or
//! failed `write` ends the call there, with the bytes done so far, exactly as a single
//! call would have; sending every chunk at once could write data past a failed chunk,
//! or block a terminal read waiting for input nobody asked for.
//!
//! This is a state machine, not a loop, so the RTOS can block the task between
//! chunks and serve other tasks' responses meanwhile.

use core::ops::Range;

use crate::{Call, RingError};

// ANCHOR: chunk
/// One request of a transfer. On the wire, a data call carries `args[0]` = fd,
/// `args[2]` = this request's byte count and, for a positional call, `args[3]` = its
/// file offset; pointer arguments are 0 (the bytes are in the payload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub call: Call,
    /// The part of the task's buffer this request sends (a write) or fills (a read).
    pub range: Range<usize>,
}
// ANCHOR_END: chunk

/// A data call of `len` bytes on its way through the ring.
#[derive(Clone, Debug)]
pub struct Transfer {
    task: u32,
    nr: u32,
    fd: u64,
    /// File offset of byte 0 for `pread64`/`pwrite64`; `None` for the file position.
    offset: Option<u64>,
    len: usize,
    chunk_len: usize,
    /// Bytes Linux has confirmed so far.
    done: usize,
    /// The call's result, once it is over.
    result: Option<i64>,
}

impl Transfer {
    /// System call `nr` of task `task` on `fd`, moving `len` bytes, `chunk_len`
    /// (the ring's payload slot size, at least 1) at a time.
    pub fn new(
        task: u32,
        nr: u32,
        fd: u64,
        offset: Option<u64>,
        len: usize,
        chunk_len: u32,
    ) -> Self {
        Self {
            task,
            nr,
            fd,
            offset,
            len,
            chunk_len: (chunk_len as usize).max(1),
            done: 0,
            result: None,
        }
    }

    // ANCHOR: next_chunk
    /// The request to send now, or `None` once the call is over. A zero-length call
    /// is still sent once: `write(fd, buf, 0)` checks `fd` on Linux.
    pub fn next_chunk(&self) -> Option<Chunk> {
        if self.result.is_some() {
            return None;
        }
        let count = (self.len - self.done).min(self.chunk_len);
        let position = self.offset.map_or(0, |base| base + self.done as u64);
        Some(Chunk {
            call: Call::syscall(
                self.task,
                self.nr,
                [self.fd, 0, count as u64, position, 0, 0],
            ),
            range: self.done..self.done + count,
        })
    }
    // ANCHOR_END: next_chunk

    // ANCHOR: complete
    /// Takes Linux's result for the chunk just sent. `Ok(Some(ret))` when the call is
    /// over, with what the task's system call returns: the bytes moved, or the error
    /// if nothing moved (an error after some progress returns the progress, as Linux
    /// does). `Ok(None)`: send the next chunk. `ResultOutOfRange` if the daemon claims
    /// more bytes than the chunk held; the call then ends with the bytes confirmed.
    pub fn complete(&mut self, ret: i64) -> Result<Option<i64>, RingError> {
        let Some(chunk) = self.next_chunk() else {
            return Ok(self.result);
        };
        let asked = chunk.range.len();
        let finished = if ret < 0 {
            Some(if self.done > 0 { self.done as i64 } else { ret })
        } else if ret as u64 > asked as u64 {
            self.result = Some(self.done as i64);
            return Err(RingError::ResultOutOfRange);
        } else {
            self.done += ret as usize;
            // Short (end of file, a terminal line, a full disk) or everything: over.
            ((ret as usize) < asked || self.done == self.len).then_some(self.done as i64)
        };
        self.result = finished;
        Ok(finished)
    }
    // ANCHOR_END: complete
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a transfer against `linux`, which answers each chunk's count with a result.
    fn run(mut transfer: Transfer, mut linux: impl FnMut(&Chunk) -> i64) -> (i64, usize) {
        let mut requests = 0;
        while let Some(chunk) = transfer.next_chunk() {
            requests += 1;
            if let Some(ret) = transfer.complete(linux(&chunk)).unwrap() {
                assert!(transfer.next_chunk().is_none());
                return (ret, requests);
            }
        }
        panic!("transfer ended without a result");
    }

    #[test]
    fn a_large_write_is_split_into_slot_sized_chunks_and_never_truncated() {
        let mut ranges = std::vec::Vec::new();
        let transfer = Transfer::new(7, 1, 3, None, 10_000, 4096);
        let (ret, requests) = run(transfer, |chunk| {
            assert_eq!(chunk.call.task, 7);
            assert_eq!(chunk.call.args[2] as usize, chunk.range.len());
            ranges.push(chunk.range.clone());
            chunk.range.len() as i64
        });
        assert_eq!((ret, requests), (10_000, 3));
        assert_eq!(ranges, [0..4096, 4096..8192, 8192..10_000]);
    }

    #[test]
    fn positional_chunks_advance_the_offset() {
        let mut offsets = std::vec::Vec::new();
        let transfer = Transfer::new(1, 17, 4, Some(100), 300, 128);
        run(transfer, |chunk| {
            offsets.push(chunk.call.args[3]);
            chunk.range.len() as i64
        });
        assert_eq!(offsets, [100, 228, 356]);
    }

    #[test]
    fn a_short_result_ends_the_call_with_the_bytes_done() {
        // End of file in the second chunk: no third request (it could block a terminal).
        let transfer = Transfer::new(1, 0, 0, None, 10_000, 4096);
        let (ret, requests) = run(
            transfer,
            |chunk| {
                if chunk.range.start == 0 {
                    4096
                } else {
                    10
                }
            },
        );
        assert_eq!((ret, requests), (4106, 2));
    }

    #[test]
    fn an_error_returns_the_progress_or_the_error() {
        let transfer = Transfer::new(1, 1, 3, None, 9000, 4096);
        let (ret, _) = run(
            transfer,
            |chunk| if chunk.range.start == 0 { 4096 } else { -28 },
        );
        assert_eq!(ret, 4096);
        let transfer = Transfer::new(1, 1, 3, None, 9000, 4096);
        assert_eq!(run(transfer, |_| -9), (-9, 1));
    }

    #[test]
    fn a_zero_length_call_is_sent_once() {
        let transfer = Transfer::new(1, 1, 3, None, 0, 4096);
        assert_eq!(run(transfer, |chunk| chunk.range.len() as i64), (0, 1));
    }

    #[test]
    fn a_result_larger_than_the_chunk_is_refused() {
        let mut transfer = Transfer::new(1, 0, 3, None, 100, 64);
        assert_eq!(transfer.complete(64), Ok(None));
        assert_eq!(transfer.complete(37), Err(RingError::ResultOutOfRange));
        assert_eq!(transfer.next_chunk(), None);
        assert_eq!(transfer.complete(0), Ok(Some(64)));
    }
}
