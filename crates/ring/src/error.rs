//! Everything that can go wrong on the ring, as values: nothing the peer writes can
//! make this crate panic, loop or read outside the region.

use core::fmt;

/// Why a ring operation did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The queue has no free slot (or, for a client, every request tag is in flight).
    /// Not a fault: try again after the peer has made progress.
    Full,
    /// The queue has nothing to pop. Not a fault either.
    Empty,
    /// The region does not start with [`crate::RING_MAGIC`].
    BadMagic,
    /// The region was laid out by another version of this crate.
    BadVersion,
    /// A header field (capacity, sizes, offsets) disagrees with the layout this crate
    /// computes from it, or the region is too small or misaligned for it.
    BadHeader,
    /// The peer published a head/tail more than `capacity` apart from ours: it wrote an
    /// index no correct peer could have written.
    IndexOutOfRange,
    /// A descriptor names a payload outside its payload buffer, or longer than one.
    PayloadOutOfBounds,
    /// The caller's payload does not fit in one payload buffer.
    PayloadTooLarge,
    /// A request carries an opcode this crate does not know.
    UnknownOpcode,
    /// A descriptor's status field is not valid for its direction.
    BadStatus,
    /// A response names a request that is not in flight (wrong tag, stale generation,
    /// or already completed).
    UnknownRequest,
    /// A response claims more bytes than its request carried or asked for.
    ResultOutOfRange,
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            RingError::Full => "ring full",
            RingError::Empty => "ring empty",
            RingError::BadMagic => "shared region has a bad magic number",
            RingError::BadVersion => "shared region has an unsupported version",
            RingError::BadHeader => "shared region header is inconsistent",
            RingError::IndexOutOfRange => "peer published an out-of-range ring index",
            RingError::PayloadOutOfBounds => "descriptor payload outside its buffer",
            RingError::PayloadTooLarge => "payload larger than one payload buffer",
            RingError::UnknownOpcode => "unknown opcode",
            RingError::BadStatus => "invalid descriptor status",
            RingError::UnknownRequest => "response for a request that is not in flight",
            RingError::ResultOutOfRange => "response claims more bytes than were asked for",
        };
        f.write_str(text)
    }
}

impl core::error::Error for RingError {}
