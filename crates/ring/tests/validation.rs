//! Everything the peer writes is validated: corrupted headers, impossible indices,
//! bad descriptors. Each must give an error value, never a panic or a stray access.
//! The last tests are the bounded, always-run twin of the cargo-fuzz target.
// Under `--cfg loom` only tests/loom.rs is built (the region code is compiled out).
#![cfg(not(loom))]

mod common;

use common::fuzz::{drive, valid_region_with_noise};
use proptest::prelude::*;
use syscall_ring::{Call, Descriptor, HeapRegion, Opcode, RequestId, RingConfig, RingError};
use syscall_ring::{RingLayout, SharedRegion, Status, INDEX_PADDING, RING_VERSION};

const SMALL: RingConfig = RingConfig {
    capacity: 4,
    payload_slot_size: 128,
};

/// Byte offset of each header field, as laid out by `RingHeader`.
const MAGIC: usize = 0;
const VERSION: usize = 8;
const CAPACITY: usize = 12;
const DESCRIPTOR_SIZE: usize = 16;
const PAYLOAD_SLOT_SIZE: usize = 20;
const REQUEST_SLOTS: usize = 32;
const PAYLOAD_AREA_LEN: usize = 44;
const REGION_LEN: usize = 48;

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn attach_error(region: &mut HeapRegion) -> RingError {
    match region.attach() {
        Ok(_) => panic!("a corrupted header was accepted"),
        Err(error) => error,
    }
}

#[test]
fn a_fresh_region_attaches() {
    let mut region = HeapRegion::new(SMALL).unwrap();
    let shared = region.attach().unwrap();
    assert_eq!(*shared.layout(), RingLayout::new(SMALL).unwrap());
}

#[test]
fn corrupted_header_is_refused() {
    type Corruption = (&'static str, fn(&mut [u8]), RingError);
    let cases: [Corruption; 9] = [
        ("magic", |b| b[MAGIC] ^= 1, RingError::BadMagic),
        (
            "version",
            |b| put_u32(b, VERSION, RING_VERSION + 1),
            RingError::BadVersion,
        ),
        (
            "capacity not a power of two",
            |b| put_u32(b, CAPACITY, 3),
            RingError::BadHeader,
        ),
        (
            "capacity too large",
            |b| put_u32(b, CAPACITY, 1 << 20),
            RingError::BadHeader,
        ),
        (
            "descriptor size",
            |b| put_u32(b, DESCRIPTOR_SIZE, 64),
            RingError::BadHeader,
        ),
        (
            "payload slot size",
            |b| put_u32(b, PAYLOAD_SLOT_SIZE, 100),
            RingError::BadHeader,
        ),
        (
            "slot offset",
            |b| put_u32(b, REQUEST_SLOTS, 8),
            RingError::BadHeader,
        ),
        (
            "payload length",
            |b| put_u32(b, PAYLOAD_AREA_LEN, u32::MAX),
            RingError::BadHeader,
        ),
        (
            "region length",
            |b| put_u32(b, REGION_LEN, 1 << 30),
            RingError::BadHeader,
        ),
    ];
    for (what, corrupt, expected) in cases {
        let mut region = HeapRegion::new(SMALL).unwrap();
        corrupt(region.bytes_mut());
        assert_eq!(attach_error(&mut region), expected, "{what}");
    }
}

#[test]
fn header_claiming_more_than_the_mapping_is_refused() {
    // A valid header for a big ring, in a mapping only one page long.
    let big = RingLayout::new(RingConfig::default()).unwrap();
    let mut bytes = vec![0u8; 4096];
    let header = big.header();
    // SAFETY: RingHeader is plain integers; the copy is byte-for-byte.
    let raw = unsafe {
        std::slice::from_raw_parts(
            (&header as *const syscall_ring::RingHeader).cast::<u8>(),
            128,
        )
    };
    bytes[..128].copy_from_slice(raw);
    let mut region = HeapRegion::from_bytes(&bytes);
    assert_eq!(attach_error(&mut region), RingError::BadHeader);
}

#[test]
fn misaligned_or_short_mapping_is_refused() {
    let region = HeapRegion::new(SMALL).unwrap();
    let base = region.as_ptr();
    let len = region.len();
    // SAFETY: in-bounds pointers into the live allocation.
    unsafe {
        assert!(SharedRegion::attach(base.add(64), len - 64).is_err());
        assert!(SharedRegion::attach(base, 100).is_err());
        assert!(SharedRegion::attach(std::ptr::null_mut(), len).is_err());
        assert!(SharedRegion::init(base.add(8), len - 8, SMALL).is_err());
    }
}

/// A region with both ends, plus raw access to play a misbehaving peer.
struct Peer {
    base: *mut u8,
    layout: RingLayout,
}

impl Peer {
    fn slot(&self, slots: u32, index: u32) -> *mut Descriptor {
        let slot = (index & (self.layout.capacity - 1)) as usize;
        // SAFETY: in bounds of the region (validated layout).
        unsafe {
            self.base
                .add(slots as usize + slot * size_of::<Descriptor>())
                .cast()
        }
    }

    /// Rewrites the request at queue position `index` the way a broken client would.
    fn corrupt_request(&self, index: u32, change: impl FnOnce(&mut Descriptor)) {
        let slot = self.slot(self.layout.request_slots, index);
        // SAFETY: single-threaded; nothing holds a reference into the slot.
        unsafe {
            let mut descriptor = slot.read_volatile();
            change(&mut descriptor);
            slot.write_volatile(descriptor);
        }
    }

    /// Publishes `descriptor` as the response at position `index`, as a broken daemon.
    fn forge_response(&self, index: u32, descriptor: Descriptor) {
        // SAFETY: single-threaded; the tail is an atomic in shared memory.
        unsafe {
            self.slot(self.layout.response_slots, index)
                .write_volatile(descriptor);
            let tail = self
                .base
                .add(self.layout.response_indices as usize + INDEX_PADDING)
                .cast::<u32>();
            tail.write_volatile(index + 1);
        }
    }

    fn set_request_tail(&self, value: u32) {
        // SAFETY: as above.
        unsafe {
            self.base
                .add(self.layout.request_indices as usize + INDEX_PADDING)
                .cast::<u32>()
                .write_volatile(value)
        }
    }
}

fn with_ends(
    test: impl FnOnce(&Peer, &mut syscall_ring::Client<'_>, &mut syscall_ring::Server<'_>),
) {
    let mut region = HeapRegion::new(SMALL).unwrap();
    let base = region.as_ptr();
    let mut shared = region.attach().unwrap();
    let peer = Peer {
        base,
        layout: *shared.layout(),
    };
    let (mut client, mut server) = shared.split().unwrap();
    test(&peer, &mut client, &mut server);
}

#[test]
fn oversize_payload_length_is_rejected() {
    with_ends(|peer, client, server| {
        let id = client.submit(Call::syscall(1, 1, [1; 6]), b"data").unwrap();
        peer.corrupt_request(0, |d| d.payload_len = SMALL.payload_slot_size + 1);
        assert_eq!(server.next_request(), Err(RingError::PayloadOutOfBounds));
        // The daemon answered "rejected", so the client's tag comes back.
        let done = client.poll(&mut []).unwrap();
        assert_eq!((done.id, done.status), (id, Status::Rejected));
        assert_eq!(client.in_flight(), 0);
    });
}

#[test]
fn payload_outside_its_buffer_is_rejected() {
    let layout = RingLayout::new(SMALL).unwrap();
    for offset in [8, layout.payload_area_len, u32::MAX - 3] {
        with_ends(|peer, client, server| {
            client.submit(Call::syscall(1, 1, [0; 6]), b"x").unwrap();
            peer.corrupt_request(0, |d| d.payload_offset = offset);
            assert_eq!(server.next_request(), Err(RingError::PayloadOutOfBounds));
        });
    }
}

#[test]
fn unknown_opcode_and_bad_status_are_rejected() {
    with_ends(|peer, client, server| {
        client.submit(Call::syscall(1, 3, [0; 6]), b"").unwrap();
        client.submit(Call::syscall(1, 3, [0; 6]), b"").unwrap();
        peer.corrupt_request(0, |d| d.opcode = 999);
        peer.corrupt_request(1, |d| d.status = Status::Done as u32);
        assert_eq!(server.next_request(), Err(RingError::UnknownOpcode));
        assert_eq!(server.next_request(), Err(RingError::BadStatus));
        assert_eq!(client.poll(&mut []).unwrap().status, Status::Rejected);
        assert_eq!(client.poll(&mut []).unwrap().status, Status::Rejected);
    });
}

#[test]
fn out_of_range_request_index_is_an_error() {
    with_ends(|peer, client, server| {
        client.submit(Call::syscall(1, 3, [0; 6]), b"").unwrap();
        peer.set_request_tail(1 + SMALL.capacity);
        assert_eq!(server.next_request(), Err(RingError::IndexOutOfRange));
        peer.set_request_tail(u32::MAX);
        assert_eq!(server.next_request(), Err(RingError::IndexOutOfRange));
    });
}

#[test]
fn forged_responses_are_errors() {
    with_ends(|peer, client, _server| {
        let id = client.submit(Call::syscall(1, 0, [0; 6]), b"").unwrap();
        let layout = peer.layout;
        let good = Descriptor {
            id: id.0,
            opcode: Opcode::Syscall as u32,
            status: Status::Done as u32,
            payload_offset: layout.payload_buffer(id.tag()),
            payload_len: 4,
            ..Descriptor::default()
        };
        let forgeries = [
            (Descriptor { status: 7, ..good }, RingError::BadStatus),
            (Descriptor { status: 0, ..good }, RingError::BadStatus),
            (
                Descriptor {
                    payload_len: 129,
                    ..good
                },
                RingError::PayloadOutOfBounds,
            ),
            (
                Descriptor {
                    payload_offset: layout.payload_buffer(id.tag() + 1),
                    ..good
                },
                RingError::PayloadOutOfBounds,
            ),
            (
                Descriptor {
                    id: id.0 + (1 << 32),
                    ..good
                },
                RingError::UnknownRequest,
            ),
            (
                Descriptor {
                    id: RequestId::new(77, id.generation()).0,
                    ..good
                },
                RingError::UnknownRequest,
            ),
        ];
        for (index, (forged, expected)) in forgeries.into_iter().enumerate() {
            peer.forge_response(index as u32, forged);
            assert_eq!(client.poll(&mut [0; 8]), Err(expected), "{forged:?}");
            assert_eq!(
                client.in_flight(),
                1,
                "a bad response must not free the tag"
            );
        }
        // And the real answer still completes the request.
        peer.forge_response(6, good);
        assert_eq!(client.poll(&mut [0; 8]).unwrap().id, id);
    });
}

// ---- bounded fuzzing: the always-run twin of fuzz/fuzz_targets/validators.rs ----

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), ops in proptest::collection::vec(any::<u8>(), 0..64)) {
        drive(&bytes, &ops);
    }

    #[test]
    fn corrupted_queues_never_panic(noise in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..64), ops in proptest::collection::vec(any::<u8>(), 0..128)) {
        drive(&valid_region_with_noise(&noise), &ops);
    }
}
