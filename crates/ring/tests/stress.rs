//! Two threads, many messages, checksums on everything that crosses.
// Under `--cfg loom` only tests/loom.rs is built (the region code is compiled out).
#![cfg(not(loom))]

mod common;

use std::collections::HashMap;

use common::{is_message, message, retry, HeapQueue};
use syscall_ring::{Call, HeapRegion, RingConfig, RingError, Status};

/// Raw queue: one producer thread, one consumer thread, a small ring so both Full and
/// Empty happen all the time. Every descriptor is checked field by field, in order.
#[test]
fn two_threads_queue_keeps_order_and_contents() {
    const MESSAGES: u64 = 300_000;
    let mut queue = HeapQueue::new(16);
    let (mut producer, mut consumer) = queue.ends().unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut seq = 0;
            while seq < MESSAGES {
                // Mix single pushes and batches.
                if seq % 3 == 0 {
                    let batch: Vec<_> = (seq..(seq + 5).min(MESSAGES)).map(message).collect();
                    seq += retry(|| match producer.push_batch(&batch) {
                        Ok(0) => Err(RingError::Full),
                        other => other,
                    }) as u64;
                } else {
                    retry(|| producer.push(&message(seq)));
                    seq += 1;
                }
            }
        });
        let mut expected = 0;
        let mut batch = [syscall_ring::Descriptor::default(); 7];
        while expected < MESSAGES {
            let got = if expected % 2 == 0 {
                let d = retry(|| consumer.pop());
                batch[0] = d;
                1
            } else {
                retry(|| match consumer.pop_batch(&mut batch) {
                    Ok(0) => Err(RingError::Empty),
                    other => other,
                })
            };
            for d in &batch[..got] {
                assert!(
                    is_message(d, expected),
                    "message {expected} corrupted: {d:?}"
                );
                expected += 1;
            }
        }
        assert_eq!(consumer.pop(), Err(RingError::Empty));
    });
}

fn checksum(bytes: &[u8]) -> i64 {
    // FNV-1a: order-sensitive, so a reordered or torn payload changes it.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    }) as i64
}

/// The whole client/server path: a client thread forwards `write`s with payloads, a
/// daemon thread checksums each payload and sends back the checksum and the payload
/// reversed. Every request must come back once, with the right checksum and data.
#[test]
fn two_threads_client_server_round_trips_with_checksums() {
    const REQUESTS: u64 = 50_000;
    let mut region = HeapRegion::new(RingConfig {
        capacity: 8,
        payload_slot_size: 256,
    })
    .unwrap();
    let mut shared = region.attach().unwrap();
    let (mut client, mut server) = shared.split().unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut payload = [0u8; 256];
            let mut answered = 0;
            while answered < REQUESTS {
                match server.next_request() {
                    Ok(request) => {
                        assert_eq!(request.call.nr, 1);
                        let n = server.read_payload(&request, &mut payload).unwrap();
                        assert_eq!(n as u64, request.call.args[1]);
                        payload[..n].reverse();
                        let sum = checksum(&payload[..n]);
                        retry(|| server.respond(&request, sum, &payload[..n]));
                        answered += 1;
                    }
                    Err(RingError::Empty) => std::thread::yield_now(),
                    Err(error) => panic!("daemon: {error}"),
                }
            }
        });
        let mut outstanding: HashMap<u64, Vec<u8>> = HashMap::new();
        let mut sent = 0u64;
        let mut received = 0u64;
        let mut out = [0u8; 256];
        while received < REQUESTS {
            if sent < REQUESTS {
                let len = (sent * 37 % 257) as usize;
                let data: Vec<u8> = (0..len).map(|i| (sent as usize * 31 + i) as u8).collect();
                match client.submit(Call::syscall(1, 1, [sent, len as u64, 0, 0, 0, 0]), &data) {
                    Ok(id) => {
                        assert!(outstanding.insert(id.0, data).is_none());
                        sent += 1;
                    }
                    Err(RingError::Full) => {}
                    Err(error) => panic!("submit: {error}"),
                }
            }
            match client.poll(&mut out) {
                Ok(done) => {
                    assert_eq!(done.status, Status::Done);
                    let mut data = outstanding
                        .remove(&done.id.0)
                        .expect("unknown or duplicate id");
                    data.reverse();
                    assert_eq!(done.ret, checksum(&data));
                    assert_eq!(&out[..done.payload_len as usize], &data[..]);
                    received += 1;
                }
                // The host may have fewer free cores than busy threads: let the daemon run.
                Err(RingError::Empty) => std::thread::yield_now(),
                Err(error) => panic!("poll: {error}"),
            }
        }
        assert!(outstanding.is_empty());
    });
}
