//! The helpers a kernel that keeps its client for good uses: `into_client` (the
//! region consumed, one end only) and `response_waiting` (the idle loop's look).
#![cfg(not(loom))]

use syscall_ring::{Call, HeapRegion, RingConfig, RingError};

#[test]
fn a_consumed_region_gives_one_client_that_sees_responses_arrive() {
    let mut region = HeapRegion::new(RingConfig::default()).unwrap();
    let (base, len) = (region.as_ptr(), region.len());
    // SAFETY: the heap region outlives both views; one client and one server.
    let mut client = unsafe { syscall_ring::SharedRegion::attach(base, len) }
        .unwrap()
        .into_client()
        .unwrap();
    let mut mapping = region.attach().unwrap();
    let mut server = mapping.server().unwrap();

    assert!(!client.response_waiting());
    let id = client.submit(Call::syscall(3, 39, [0; 6]), b"").unwrap();
    assert!(!client.response_waiting(), "a request is not a response");
    let request = server.next_request().unwrap();
    server.respond(&request, 42, b"ok").unwrap();
    assert!(client.response_waiting());
    let mut out = [0u8; 8];
    let done = client.poll(&mut out).unwrap();
    assert_eq!((done.id, done.ret, &out[..2]), (id, 42, &b"ok"[..]));
    assert!(!client.response_waiting());
    assert_eq!(client.poll(&mut out), Err(RingError::Empty));
}
