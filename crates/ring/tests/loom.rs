//! loom model of the queue protocol: every interleaving (up to a preemption bound) of
//! a producer and a consumer, with loom checking that each slot access is ordered
//! after the last conflicting one. A Relaxed where the protocol needs Release/Acquire
//! shows up here as a data race on a slot.
//!
//! Run with:
//! `CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" cargo test -p syscall-ring --test loom`
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use syscall_ring::sync::SlotCell;
use syscall_ring::{Consumer, Descriptor, PendingTable, Producer, QueueIndices, RingError};

struct Queue {
    indices: QueueIndices,
    slots: Vec<SlotCell<Descriptor>>,
}

fn queue(capacity: usize) -> Arc<Queue> {
    Arc::new(Queue {
        indices: QueueIndices::new(),
        slots: (0..capacity)
            .map(|_| SlotCell::new(Descriptor::default()))
            .collect(),
    })
}

fn message(seq: u64) -> Descriptor {
    Descriptor {
        id: seq,
        args: [seq; 6],
        ret: !seq as i64,
        ..Descriptor::default()
    }
}

/// Spins the loom way: every failed attempt yields, so loom can schedule the peer.
fn retry<T>(mut f: impl FnMut() -> Result<T, RingError>) -> T {
    loop {
        match f() {
            Ok(value) => return value,
            Err(RingError::Full | RingError::Empty) => thread::yield_now(),
            Err(error) => panic!("ring error: {error}"),
        }
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // Bounded so the suite stays in seconds (LOOM_MAX_PREEMPTIONS overrides). Two
    // preemptions already find each wrong ordering in push/pop (see the book).
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(5);
    }
    builder.check(f);
}

/// Three messages through a 2-slot queue: the producer hits Full and the indices wrap.
#[test]
fn push_pop_delivers_in_order() {
    model(|| {
        let q = queue(2);
        let producer_q = Arc::clone(&q);
        let producer = thread::spawn(move || {
            // SAFETY: the only producer of this queue.
            let mut producer =
                unsafe { Producer::new(&producer_q.indices, &producer_q.slots) }.unwrap();
            for seq in 0..3 {
                retry(|| producer.push(&message(seq)));
            }
        });
        // SAFETY: the only consumer of this queue.
        let mut consumer = unsafe { Consumer::new(&q.indices, &q.slots) }.unwrap();
        for seq in 0..3 {
            assert_eq!(retry(|| consumer.pop()), message(seq));
        }
        producer.join().unwrap();
        assert_eq!(consumer.pop(), Err(RingError::Empty));
    });
}

/// The batched forms publish and free several slots with one store.
#[test]
fn batches_deliver_in_order() {
    model(|| {
        let q = queue(2);
        let producer_q = Arc::clone(&q);
        let producer = thread::spawn(move || {
            // SAFETY: the only producer of this queue.
            let mut producer =
                unsafe { Producer::new(&producer_q.indices, &producer_q.slots) }.unwrap();
            let batch = [message(0), message(1), message(2)];
            let mut sent = 0;
            while sent < batch.len() {
                sent += retry(|| match producer.push_batch(&batch[sent..]) {
                    Ok(0) => Err(RingError::Full),
                    other => other,
                });
            }
        });
        // SAFETY: the only consumer of this queue.
        let mut consumer = unsafe { Consumer::new(&q.indices, &q.slots) }.unwrap();
        let mut got = Vec::new();
        while got.len() < 3 {
            let mut out = [Descriptor::default(); 2];
            let n = retry(|| match consumer.pop_batch(&mut out) {
                Ok(0) => Err(RingError::Empty),
                other => other,
            });
            got.extend_from_slice(&out[..n]);
        }
        assert_eq!(got, [message(0), message(1), message(2)]);
        producer.join().unwrap();
    });
}

/// The forwarding protocol: a client sends two requests, a server thread answers
/// them in reverse order on the response queue, the client matches both by id.
#[test]
fn responses_match_their_requests() {
    model(|| {
        let requests = queue(2);
        let responses = queue(2);
        let (server_requests, server_responses) = (Arc::clone(&requests), Arc::clone(&responses));
        let server = thread::spawn(move || {
            // SAFETY: the server is the only consumer of requests, producer of responses.
            let (mut inbox, mut outbox) = unsafe {
                (
                    Consumer::new(&server_requests.indices, &server_requests.slots).unwrap(),
                    Producer::new(&server_responses.indices, &server_responses.slots).unwrap(),
                )
            };
            let first = retry(|| inbox.pop());
            let second = retry(|| inbox.pop());
            for request in [second, first] {
                let response = Descriptor {
                    ret: request.args[0] as i64 * 10,
                    ..request
                };
                retry(|| outbox.push(&response));
            }
        });
        // SAFETY: the client is the only producer of requests, consumer of responses.
        let (mut outbox, mut inbox) = unsafe {
            (
                Producer::new(&requests.indices, &requests.slots).unwrap(),
                Consumer::new(&responses.indices, &responses.slots).unwrap(),
            )
        };
        let mut pending = PendingTable::new(2);
        let mut sent = Vec::new();
        for arg in [1u64, 2] {
            let id = pending.begin().unwrap();
            let request = Descriptor {
                id: id.0,
                args: [arg; 6],
                ..Descriptor::default()
            };
            retry(|| outbox.push(&request));
            sent.push((id, arg));
        }
        for _ in 0..2 {
            let response = retry(|| inbox.pop());
            let id = pending.complete(response.id).unwrap();
            let arg = sent.iter().find(|(sent_id, _)| *sent_id == id).unwrap().1;
            assert_eq!(response.ret, arg as i64 * 10);
        }
        assert_eq!(pending.in_flight(), 0);
        server.join().unwrap();
    });
}
