//! Request/response matching (lab 3's PendingTable) and the client/server pair.
// Under `--cfg loom` only tests/loom.rs is built (the region code is compiled out).
#![cfg(not(loom))]

mod common;

use std::collections::HashMap;

use proptest::prelude::*;
use syscall_ring::{Call, HeapRegion, PendingTable, RequestId, RingConfig, RingError, Status};

#[test]
fn tags_run_out_and_come_back() {
    let mut table = PendingTable::new(4);
    let ids: Vec<RequestId> = (0..4).map(|_| table.begin().unwrap()).collect();
    let mut tags: Vec<u32> = ids.iter().map(|id| id.tag()).collect();
    tags.sort();
    assert_eq!(tags, [0, 1, 2, 3]);
    assert_eq!(table.begin(), Err(RingError::Full));
    assert_eq!(table.in_flight(), 4);
    // Out of order is fine.
    assert_eq!(table.complete(ids[2].0), Ok(ids[2]));
    assert_eq!(table.complete(ids[0].0), Ok(ids[0]));
    assert_eq!(table.in_flight(), 2);
    let again = table.begin().unwrap();
    assert!(again.tag() == ids[0].tag() || again.tag() == ids[2].tag());
}

#[test]
fn nothing_matches_on_a_fresh_table() {
    let mut table = PendingTable::new(4);
    for tag in 0..4 {
        for generation in [0, 1] {
            let id = RequestId::new(tag, generation);
            assert_eq!(table.complete(id.0), Err(RingError::UnknownRequest));
        }
    }
    assert_eq!(table.in_flight(), 0);
}

#[test]
fn a_response_matches_once() {
    let mut table = PendingTable::new(4);
    let id = table.begin().unwrap();
    assert_eq!(table.complete(id.0), Ok(id));
    assert_eq!(table.complete(id.0), Err(RingError::UnknownRequest));
}

#[test]
fn stale_generation_does_not_match() {
    let mut table = PendingTable::new(2);
    let first = table.begin().unwrap();
    table.complete(first.0).unwrap();
    let mut reused = table.begin().unwrap();
    while reused.tag() != first.tag() {
        reused = table.begin().unwrap();
    }
    assert_ne!(reused.generation(), first.generation());
    // A late duplicate of the first response must not complete the new request.
    assert_eq!(table.complete(first.0), Err(RingError::UnknownRequest));
    assert_eq!(table.complete(reused.0), Ok(reused));
}

#[test]
fn out_of_range_tag_is_unknown() {
    let mut table = PendingTable::new(4);
    let id = table.begin().unwrap();
    for tag in [4, 1023, 1024, u32::MAX] {
        let forged = RequestId::new(tag, id.generation());
        assert_eq!(table.complete(forged.0), Err(RingError::UnknownRequest));
    }
    assert_eq!(table.in_flight(), 1);
}

#[test]
fn request_and_response_round_trip_with_payload() {
    let mut region = HeapRegion::new(RingConfig {
        capacity: 4,
        payload_slot_size: 256,
    })
    .unwrap();
    let mut shared = region.attach().unwrap();
    let (mut client, mut server) = shared.split().unwrap();

    let open = client
        .submit(Call::syscall(1, 2, [0, 0o644, 0, 0, 0, 0]), b"/tmp/x")
        .unwrap();
    let read = client
        .submit(Call::syscall(1, 0, [3, 0, 5, 0, 0, 0]), b"")
        .unwrap();

    let request = server.next_request().unwrap();
    assert_eq!((request.id, request.call.nr), (open.0, 2));
    let mut path = [0u8; 64];
    let n = server.read_payload(&request, &mut path).unwrap();
    assert_eq!(&path[..n], b"/tmp/x");
    let read_request = server.next_request().unwrap();
    assert_eq!(read_request.call.nr, 0);
    assert_eq!(read_request.call.args[2], 5);
    // Answer out of order.
    server.respond(&read_request, 5, b"hello").unwrap();
    server.respond(&request, 3, b"").unwrap();
    assert_eq!(server.next_request(), Err(RingError::Empty));

    let mut data = [0u8; 16];
    let done = client.poll(&mut data).unwrap();
    assert_eq!((done.id, done.status, done.ret), (read, Status::Done, 5));
    assert_eq!(&data[..done.payload_len as usize], b"hello");
    let done = client.poll(&mut data).unwrap();
    assert_eq!((done.id, done.ret, done.payload_len), (open, 3, 0));
    assert_eq!(client.poll(&mut data), Err(RingError::Empty));
    assert_eq!(client.in_flight(), 0);
}

#[test]
fn has_request_looks_without_taking() {
    let mut region = HeapRegion::new(RingConfig {
        capacity: 4,
        payload_slot_size: 64,
    })
    .unwrap();
    let mut shared = region.attach().unwrap();
    let (mut client, mut server) = shared.split().unwrap();
    assert!(!server.has_request());
    let id = client.submit(Call::syscall(1, 3, [1; 6]), b"").unwrap();
    assert!(server.has_request());
    assert!(server.has_request(), "looking takes nothing");
    let request = server.next_request().unwrap();
    assert_eq!(request.id, id.0);
    assert!(!server.has_request());
    assert_eq!(server.next_request(), Err(RingError::Empty));
}

#[test]
fn client_is_full_at_capacity_requests_in_flight() {
    let mut region = HeapRegion::new(RingConfig {
        capacity: 2,
        payload_slot_size: 64,
    })
    .unwrap();
    let mut shared = region.attach().unwrap();
    let (mut client, _server) = shared.split().unwrap();
    client.submit(Call::syscall(1, 3, [1; 6]), b"").unwrap();
    client.submit(Call::syscall(1, 3, [2; 6]), b"").unwrap();
    assert_eq!(
        client.submit(Call::syscall(1, 3, [3; 6]), b""),
        Err(RingError::Full)
    );
    assert_eq!(
        client.submit(Call::syscall(1, 1, [0; 6]), &[0u8; 65]),
        Err(RingError::PayloadTooLarge)
    );
}

#[derive(Clone, Debug)]
enum Step {
    Submit(Vec<u8>),
    Serve,
    Poll,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Step::Submit),
        Just(Step::Serve),
        Just(Step::Poll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Through the whole client/server path: every request is answered exactly once,
    /// with its own payload (the server echoes it reversed, and returns its length).
    #[test]
    fn every_request_completes_once_with_its_payload(steps in proptest::collection::vec(step(), 0..120)) {
        let mut region = HeapRegion::new(RingConfig { capacity: 4, payload_slot_size: 64 }).unwrap();
        let mut shared = region.attach().unwrap();
        let (mut client, mut server) = shared.split().unwrap();
        let mut outstanding: HashMap<u64, Vec<u8>> = HashMap::new();
        let mut served = 0usize;
        let drain = |client: &mut syscall_ring::Client<'_>, outstanding: &mut HashMap<u64, Vec<u8>>| -> Result<bool, TestCaseError> {
            let mut out = [0u8; 64];
            match client.poll(&mut out) {
                Ok(done) => {
                    let sent = outstanding.remove(&done.id.0);
                    prop_assert!(sent.is_some(), "completion for an unknown or finished id");
                    let mut expected = sent.unwrap();
                    expected.reverse();
                    prop_assert_eq!(done.ret, expected.len() as i64);
                    prop_assert_eq!(&out[..done.payload_len as usize], &expected[..]);
                    Ok(true)
                }
                Err(RingError::Empty) => Ok(false),
                Err(e) => Err(TestCaseError::fail(format!("poll: {e}"))),
            }
        };
        for step in steps {
            match step {
                Step::Submit(payload) => match client.submit(Call::syscall(1, 1, [0; 6]), &payload) {
                    Ok(id) => { prop_assert!(outstanding.insert(id.0, payload).is_none()); }
                    Err(RingError::Full) => prop_assert_eq!(outstanding.len(), 4),
                    Err(e) => return Err(TestCaseError::fail(format!("submit: {e}"))),
                },
                Step::Serve => match server.next_request() {
                    Ok(request) => {
                        let mut data = [0u8; 64];
                        let n = server.read_payload(&request, &mut data).unwrap();
                        data[..n].reverse();
                        server.respond(&request, n as i64, &data[..n]).unwrap();
                        served += 1;
                    }
                    Err(RingError::Empty) => {}
                    Err(e) => return Err(TestCaseError::fail(format!("serve: {e}"))),
                },
                Step::Poll => { drain(&mut client, &mut outstanding)?; }
            }
        }
        while let Ok(request) = server.next_request() {
            let mut data = [0u8; 64];
            let n = server.read_payload(&request, &mut data).unwrap();
            data[..n].reverse();
            server.respond(&request, n as i64, &data[..n]).unwrap();
            served += 1;
        }
        while drain(&mut client, &mut outstanding)? {}
        prop_assert!(outstanding.is_empty(), "lost requests: {:?}", outstanding.keys());
        prop_assert!(served <= 120);
    }
}
