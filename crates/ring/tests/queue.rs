//! The SPSC queue (lab 3's push/pop): unit tests and a model-based property test.
// Under `--cfg loom` only tests/loom.rs is built (the region code is compiled out).
#![cfg(not(loom))]

mod common;

use std::collections::VecDeque;

use common::{ends_shared, message, HeapQueue};
use proptest::prelude::*;
use syscall_ring::sync::Ordering;
use syscall_ring::{Descriptor, RingError};

#[test]
fn push_until_full_then_pop_in_order() {
    let mut queue = HeapQueue::new(4);
    let (mut producer, mut consumer) = queue.ends().unwrap();
    assert_eq!(consumer.pop(), Err(RingError::Empty));
    for seq in 0..4 {
        producer.push(&message(seq)).unwrap();
    }
    assert_eq!(producer.push(&message(4)), Err(RingError::Full));
    for seq in 0..4 {
        assert_eq!(consumer.pop(), Ok(message(seq)));
    }
    assert_eq!(consumer.pop(), Err(RingError::Empty));
    // Room again after the consumer freed the slots.
    producer.push(&message(5)).unwrap();
    assert_eq!(consumer.pop(), Ok(message(5)));
}

#[test]
fn indices_wrap_around_u32() {
    let queue = HeapQueue::new(4);
    queue.indices.head.0.store(u32::MAX - 2, Ordering::Relaxed);
    queue.indices.tail.0.store(u32::MAX - 2, Ordering::Relaxed);
    let (mut producer, mut consumer) = ends_shared(&queue);
    for round in 0..5u64 {
        for i in 0..3 {
            producer.push(&message(round * 3 + i)).unwrap();
        }
        for i in 0..3 {
            assert_eq!(consumer.pop(), Ok(message(round * 3 + i)));
        }
    }
}

#[test]
fn batches_move_what_fits() {
    let mut queue = HeapQueue::new(8);
    let (mut producer, mut consumer) = queue.ends().unwrap();
    let batch: Vec<Descriptor> = (0..11).map(message).collect();
    assert_eq!(producer.push_batch(&batch), Ok(8));
    assert_eq!(producer.push_batch(&batch[8..]), Ok(0));
    let mut out = [Descriptor::default(); 5];
    assert_eq!(consumer.pop_batch(&mut out), Ok(5));
    assert_eq!(out.to_vec(), batch[..5].to_vec());
    assert_eq!(producer.push_batch(&batch[8..]), Ok(3));
    let mut rest = [Descriptor::default(); 16];
    assert_eq!(consumer.pop_batch(&mut rest), Ok(6));
    assert_eq!(rest[..6].to_vec(), batch[5..].to_vec());
    assert_eq!(consumer.pop_batch(&mut rest), Ok(0));
}

#[test]
fn out_of_range_tail_from_peer_is_an_error() {
    let queue = HeapQueue::new(4);
    let (mut producer, mut consumer) = ends_shared(&queue);
    producer.push(&message(0)).unwrap();
    assert_eq!(consumer.pop(), Ok(message(0)));
    // A producer that claims 5 descriptors in a 4-slot queue.
    queue.indices.tail.0.store(1 + 5, Ordering::Release);
    assert_eq!(consumer.pop(), Err(RingError::IndexOutOfRange));
    let mut out = [Descriptor::default(); 2];
    assert_eq!(
        consumer.pop_batch(&mut out),
        Err(RingError::IndexOutOfRange)
    );
    // A tail behind our head is as impossible.
    queue.indices.tail.0.store(0, Ordering::Release);
    assert_eq!(consumer.pop(), Err(RingError::IndexOutOfRange));
}

#[test]
fn out_of_range_head_from_peer_is_an_error() {
    let queue = HeapQueue::new(2);
    let (mut producer, _consumer) = ends_shared(&queue);
    producer.push(&message(0)).unwrap();
    producer.push(&message(1)).unwrap();
    // A consumer that claims to have read past our tail.
    queue.indices.head.0.store(7, Ordering::Release);
    assert_eq!(producer.push(&message(2)), Err(RingError::IndexOutOfRange));
    assert_eq!(
        producer.push_batch(&[message(2)]),
        Err(RingError::IndexOutOfRange)
    );
}

#[test]
fn ends_refuse_inconsistent_indices_at_creation() {
    let queue = HeapQueue::new(4);
    queue.indices.tail.0.store(9, Ordering::Relaxed);
    // SAFETY: single ends, only created to be refused.
    unsafe {
        assert!(syscall_ring::Producer::new(&queue.indices, &queue.slots).is_err());
        assert!(syscall_ring::Consumer::new(&queue.indices, &queue.slots).is_err());
    }
    let odd = HeapQueue::new(3);
    // SAFETY: as above.
    unsafe { assert!(syscall_ring::Producer::new(&odd.indices, &odd.slots).is_err()) };
}

#[derive(Clone, Debug)]
enum Op {
    Push,
    Pop,
    PushBatch(usize),
    PopBatch(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Push),
        3 => Just(Op::Pop),
        1 => (0usize..12).prop_map(Op::PushBatch),
        1 => (0usize..12).prop_map(Op::PopBatch),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any sequence of operations behaves like a bounded FIFO: nothing lost, nothing
    /// duplicated, nothing reordered, Full and Empty exactly when the model says so.
    #[test]
    fn queue_is_a_bounded_fifo(
        log2_capacity in 1u32..5,
        start in any::<u32>(),
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let capacity = 1usize << log2_capacity;
        let queue = HeapQueue::new(capacity);
        // Start anywhere in the counter space, so wrap-around is covered too.
        queue.indices.head.0.store(start, Ordering::Relaxed);
        queue.indices.tail.0.store(start, Ordering::Relaxed);
        let (mut producer, mut consumer) = ends_shared(&queue);
        let mut model = VecDeque::new();
        let mut next = 0u64;
        for op in ops {
            match op {
                Op::Push => {
                    let result = producer.push(&message(next));
                    if model.len() < capacity {
                        prop_assert_eq!(result, Ok(()));
                        model.push_back(next);
                        next += 1;
                    } else {
                        prop_assert_eq!(result, Err(RingError::Full));
                    }
                }
                Op::Pop => match model.pop_front() {
                    Some(seq) => prop_assert_eq!(consumer.pop(), Ok(message(seq))),
                    None => prop_assert_eq!(consumer.pop(), Err(RingError::Empty)),
                },
                Op::PushBatch(n) => {
                    let batch: Vec<Descriptor> = (next..next + n as u64).map(message).collect();
                    let expected = n.min(capacity - model.len());
                    prop_assert_eq!(producer.push_batch(&batch), Ok(expected));
                    for _ in 0..expected {
                        model.push_back(next);
                        next += 1;
                    }
                }
                Op::PopBatch(n) => {
                    let mut out = vec![Descriptor::default(); n];
                    let expected = n.min(model.len());
                    prop_assert_eq!(consumer.pop_batch(&mut out), Ok(expected));
                    for got in &out[..expected] {
                        prop_assert_eq!(*got, message(model.pop_front().unwrap()));
                    }
                }
            }
        }
        // Drain: exactly what the model still holds, in order.
        for seq in model {
            prop_assert_eq!(consumer.pop(), Ok(message(seq)));
        }
        prop_assert_eq!(consumer.pop(), Err(RingError::Empty));
    }
}
