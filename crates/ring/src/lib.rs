//! The shared ring that carries forwarded system calls between the RTOS and the Linux
//! daemon (lab 3; the book's architecture chapter draws the picture).
//!
//! One region of shared memory, mapped at a different address on each side, holds a
//! header, a request queue (RTOS → Linux), a response queue (Linux → RTOS) and one
//! payload buffer per request in flight. Each queue is a bounded single-producer
//! single-consumer ring with acquire/release indices and no locks. Everything read
//! from the peer is validated before use, so a broken peer yields a [`RingError`],
//! never undefined behaviour, a panic or an access outside the region.
//!
//! The core API needs neither `std` nor `alloc`. The `std` feature adds
//! `HeapRegion` and `HeapQueue` for host tests and benchmarks.

#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
// The lab 3 skeleton leaves the helpers it is meant to call unused until written.
#![cfg_attr(lab_student, allow(dead_code))]

mod descriptor;
mod error;
mod layout;
mod pending;
mod queue;
pub mod sync;
pub mod validate;

#[cfg(not(loom))]
mod client;
#[cfg(all(feature = "std", not(loom)))]
mod heap;
#[cfg(not(loom))]
mod payload;
#[cfg(not(loom))]
mod region;
#[cfg(not(loom))]
mod server;
#[cfg(not(loom))]
mod transfer;

// ANCHOR: lab_selection
// LAB 3: push/pop with their memory ordering. The student's version is labs/lab3/ring_queue.rs.
// (`cfg(lab_student)`: the `lab3-student` feature, or a handout without solutions; build.rs.)
#[cfg_attr(lab_student, path = "../../../labs/lab3/ring_queue.rs")]
#[cfg_attr(not(lab_student), path = "../../../solutions/lab3/ring_queue.rs")]
mod ring_queue;

// LAB 3: request/response matching. The student's version is labs/lab3/ring_matching.rs.
#[cfg_attr(lab_student, path = "../../../labs/lab3/ring_matching.rs")]
#[cfg_attr(not(lab_student), path = "../../../solutions/lab3/ring_matching.rs")]
mod ring_matching;
// ANCHOR_END: lab_selection

pub use descriptor::{Call, Descriptor, Opcode, Status};
pub use error::RingError;
pub use layout::{CachePadded, QueueIndices, RingConfig, RingHeader, RingLayout};
pub use layout::{INDEX_PADDING, MAX_CAPACITY, MAX_PAYLOAD_SLOT, MIN_PAYLOAD_SLOT};
pub use layout::{REGION_ALIGN, RING_MAGIC, RING_VERSION};
pub use pending::{PendingTable, RequestId};
pub use queue::{Consumer, Producer};

#[cfg(not(loom))]
pub use client::{Client, Completion};
#[cfg(all(feature = "std", not(loom)))]
pub use heap::{HeapQueue, HeapRegion};
#[cfg(not(loom))]
pub use payload::PayloadArea;
#[cfg(not(loom))]
pub use region::SharedRegion;
#[cfg(not(loom))]
pub use server::{Request, Server};
#[cfg(not(loom))]
pub use transfer::{Chunk, Transfer};
