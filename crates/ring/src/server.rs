//! The Linux daemon end of the ring: takes forwarded system calls, answers them.

use crate::{validate, Call, Consumer, Descriptor, PayloadArea, Producer, RequestId};
use crate::{RingError, RingLayout, Status};

/// A validated request. The payload reference is private so that it stays the
/// validated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// To be echoed in the response (opaque to the server).
    pub id: u64,
    pub call: Call,
    payload_offset: u32,
    payload_len: u32,
}

impl Request {
    /// Bytes of payload the client sent.
    pub fn payload_len(&self) -> u32 {
        self.payload_len
    }
}

// ANCHOR: server
/// Requests in, responses out.
pub struct Server<'a> {
    requests: Consumer<'a>,
    responses: Producer<'a>,
    payload: PayloadArea<'a>,
    layout: RingLayout,
}
// ANCHOR_END: server

impl<'a> Server<'a> {
    pub(crate) fn new(
        requests: Consumer<'a>,
        responses: Producer<'a>,
        payload: PayloadArea<'a>,
        layout: RingLayout,
    ) -> Self {
        Self {
            requests,
            responses,
            payload,
            layout,
        }
    }

    // ANCHOR: next_request
    /// Takes the next request. `Empty` when there is none. A malformed request (unknown
    /// opcode, bad status, payload out of bounds) is answered with status `Rejected`,
    /// so the client's matching frees its tag, and returned as the error. (Only a client
    /// with more than `capacity` requests in flight can fill the response queue; then
    /// the rejection is dropped and `Full` is returned instead.)
    pub fn next_request(&mut self) -> Result<Request, RingError> {
        let descriptor = self.requests.pop()?;
        match validate::request(&descriptor, &self.layout) {
            Ok(opcode) => Ok(Request {
                id: descriptor.id,
                call: Call {
                    opcode,
                    task: descriptor.task,
                    nr: descriptor.nr,
                    args: descriptor.args,
                },
                payload_offset: descriptor.payload_offset,
                payload_len: descriptor.payload_len,
            }),
            Err(error) => {
                self.reject(&descriptor)?;
                Err(error)
            }
        }
    }
    // ANCHOR_END: next_request

    fn reject(&mut self, request: &Descriptor) -> Result<(), RingError> {
        let tag = RequestId(request.id).tag();
        // Point at the tag's own buffer if the tag is plausible (the client checks it).
        let payload_offset = if tag < self.layout.capacity {
            self.layout.payload_buffer(tag)
        } else {
            0
        };
        self.responses.push(&Descriptor {
            id: request.id,
            opcode: request.opcode,
            status: Status::Rejected as u32,
            task: request.task,
            nr: request.nr,
            args: [0; 6],
            ret: 0,
            payload_offset,
            payload_len: 0,
            reserved: 0,
        })
    }

    /// Whether a request (valid or not) is waiting, without taking it: the daemon's
    /// last look at the queue after it said it is about to sleep.
    pub fn has_request(&self) -> bool {
        !self.requests.is_empty()
    }

    /// Copies up to `out.len()` bytes of the request's payload into `out`; returns how
    /// many.
    pub fn read_payload(&self, request: &Request, out: &mut [u8]) -> Result<usize, RingError> {
        self.payload
            .read(request.payload_offset, request.payload_len, out)
    }

    /// Answers `request` with `ret` and (for calls that return data) `data`, which is
    /// written into the request's buffer. `Full` only if the client broke the protocol
    /// (it cannot have more than `capacity` requests in flight); retry later.
    pub fn respond(&mut self, request: &Request, ret: i64, data: &[u8]) -> Result<(), RingError> {
        self.payload.write(request.payload_offset, data)?;
        self.responses.push(&Descriptor {
            id: request.id,
            opcode: request.call.opcode as u32,
            status: Status::Done as u32,
            task: request.call.task,
            nr: request.call.nr,
            args: [0; 6],
            ret,
            payload_offset: request.payload_offset,
            payload_len: data.len() as u32,
            reserved: 0,
        })
    }
}
