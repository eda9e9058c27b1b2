//! The RTOS end of the ring: submits forwarded system calls, collects their results.

use crate::{validate, Call, Consumer, Descriptor, PayloadArea, PendingTable, Producer};
use crate::{RequestId, RingError, RingLayout, Status};

/// A finished request, as [`Client::poll`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    pub id: RequestId,
    /// `Done` (the call ran, see `ret`) or `Rejected` (the daemon refused the request).
    pub status: Status,
    /// The call's result on Linux: a negative errno on failure.
    pub ret: i64,
    /// Payload bytes the daemon returned (e.g. the data of a `read`); the part that fit
    /// was copied into `poll`'s buffer.
    pub payload_len: u32,
}

// ANCHOR: client
/// Requests out, responses in. Owns the request producer, the response consumer and
/// the table of requests in flight.
pub struct Client<'a> {
    requests: Producer<'a>,
    responses: Consumer<'a>,
    pending: PendingTable,
    payload: PayloadArea<'a>,
    layout: RingLayout,
}
// ANCHOR_END: client

impl<'a> Client<'a> {
    pub(crate) fn new(
        requests: Producer<'a>,
        responses: Consumer<'a>,
        payload: PayloadArea<'a>,
        layout: RingLayout,
    ) -> Self {
        Self {
            requests,
            responses,
            pending: PendingTable::new(layout.capacity),
            payload,
            layout,
        }
    }

    /// Bytes one request can carry each way: larger transfers are split
    /// ([`crate::Transfer`]).
    pub fn payload_slot_size(&self) -> u32 {
        self.layout.payload_slot_size
    }

    /// Whether a response waits in the response queue (an idle loop's look before it
    /// sleeps; [`Client::poll`] takes it).
    pub fn response_waiting(&self) -> bool {
        !self.responses.is_empty()
    }

    /// Requests submitted and not yet completed.
    pub fn in_flight(&self) -> u32 {
        self.pending.in_flight()
    }

    // ANCHOR: submit
    /// Forwards one system call. `payload` (a path, data to write) is copied into the
    /// request's own buffer; it may be at most `payload_slot_size` bytes. For a call
    /// that returns data (`read`), pass an empty payload: the answer comes back in the
    /// same buffer. `Full` when `capacity` requests are already in flight.
    pub fn submit(&mut self, call: Call, payload: &[u8]) -> Result<RequestId, RingError> {
        if payload.len() > self.layout.payload_slot_size as usize {
            return Err(RingError::PayloadTooLarge);
        }
        let id = self.pending.begin()?;
        let payload_offset = self.layout.payload_buffer(id.tag());
        let descriptor = Descriptor {
            id: id.0,
            opcode: call.opcode as u32,
            status: Status::Request as u32,
            task: call.task,
            nr: call.nr,
            args: call.args,
            ret: 0,
            payload_offset,
            payload_len: payload.len() as u32,
            reserved: 0,
        };
        // The tag owns the buffer from `begin` on; the Release in `push` publishes the
        // payload bytes together with the descriptor.
        let pushed = self
            .payload
            .write(payload_offset, payload)
            .and_then(|()| self.requests.push(&descriptor));
        if let Err(error) = pushed {
            // Give the tag back: the request never left.
            self.pending.complete(id.0)?;
            return Err(error);
        }
        Ok(id)
    }
    // ANCHOR_END: submit

    // ANCHOR: poll
    /// Takes one response, matches it to its request and copies the returned payload
    /// (as much as fits) into `out`. `Empty` when no response is waiting. A response
    /// that fails validation is consumed and reported as an error; its request, if
    /// any, stays in flight.
    pub fn poll(&mut self, out: &mut [u8]) -> Result<Completion, RingError> {
        let response = self.responses.pop()?;
        let status = validate::response(&response, &self.layout)?;
        let id = RequestId(response.id);
        // The payload must be the buffer this client lent to that very tag; check it
        // before `complete` so that a bad response leaves the table unchanged.
        if id.tag() < self.layout.capacity
            && response.payload_offset != self.layout.payload_buffer(id.tag())
        {
            return Err(RingError::PayloadOutOfBounds);
        }
        let id = self.pending.complete(response.id)?;
        self.payload
            .read(response.payload_offset, response.payload_len, out)?;
        Ok(Completion {
            id,
            status,
            ret: response.ret,
            payload_len: response.payload_len,
        })
    }
    // ANCHOR_END: poll
}
