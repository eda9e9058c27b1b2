//! The fuzz driver, shared by `tests/validation.rs` (a bounded proptest run on every
//! `cargo test`) and `fuzz/fuzz_targets/validators.rs` (open-ended cargo-fuzz runs).

use syscall_ring::{Call, HeapRegion, RingConfig, RingLayout, SharedRegion};

/// The ring the fuzzer drives: small, so random indices often land in range.
pub const SMALL: RingConfig = RingConfig {
    capacity: 4,
    payload_slot_size: 128,
};

/// Bytes past the region, checked after the run: any write outside it shows here.
const CANARY: u8 = 0xA5;

/// Drives both ends over a region whose bytes are arbitrary, and asserts only that
/// nothing panics and nothing outside the region is written.
pub fn drive(region_bytes: &[u8], ops: &[u8]) {
    let layout = RingLayout::new(SMALL).unwrap();
    let len = layout.region_len as usize;
    let mut memory = vec![CANARY; len + 4096];
    memory[..region_bytes.len().min(len)]
        .copy_from_slice(&region_bytes[..region_bytes.len().min(len)]);
    let mut region = HeapRegion::from_bytes(&memory);
    let base = region.as_ptr();
    {
        // SAFETY: the allocation is live for the block; we pass only the region's part.
        let Ok(mut shared) = (unsafe { SharedRegion::attach(base, len) }) else {
            return;
        };
        let Ok((mut client, mut server)) = shared.split() else {
            return;
        };
        let mut buffer = [0u8; 256];
        for &op in ops {
            match op % 4 {
                0 => {
                    let _ = client.submit(
                        Call::syscall(1, 1, [op as u64; 6]),
                        &buffer[..op as usize % 200],
                    );
                }
                1 => {
                    if let Ok(request) = server.next_request() {
                        let n = server.read_payload(&request, &mut buffer).unwrap_or(0);
                        let _ = server.respond(&request, n as i64, &buffer[..n]);
                    }
                }
                2 => {
                    let _ = client.poll(&mut buffer);
                }
                _ => {
                    // Play the peer: flip a byte anywhere in the region mid-run.
                    let at = (op as usize * 7919) % len;
                    // SAFETY: `at < len`; single-threaded.
                    unsafe { *base.add(at) ^= op };
                }
            }
        }
    }
    assert!(region.bytes_mut()[len..len + 4096]
        .iter()
        .all(|&b| b == CANARY));
}

/// A valid region with its indices and descriptors overwritten by `noise`.
pub fn valid_region_with_noise(noise: &[(u16, u8)]) -> Vec<u8> {
    let mut region = HeapRegion::new(SMALL).unwrap();
    let len = RingLayout::new(SMALL).unwrap().region_len as usize;
    let bytes = region.bytes_mut();
    for &(at, value) in noise {
        // Skip the header (offsets 0..128): the point is to get past attach.
        let at = 128 + at as usize % (len - 128);
        bytes[at] = value;
    }
    bytes[..len].to_vec()
}
