//! Arbitrary bytes as the shared region, then arbitrary operations on both ends,
//! including bytes flipped mid-run as a hostile peer would. Any panic, and any write
//! outside the region (checked with canary bytes), is a finding.
#![no_main]

#[path = "../../tests/common/fuzz.rs"]
mod fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: how much of the input is region bytes; the rest drives operations.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = (split as usize * 8).min(rest.len());
    let (region, ops) = rest.split_at(at);
    // Half the time start from a valid header, so the run gets past attach.
    if split & 1 == 0 {
        fuzz::drive(region, ops);
    } else {
        let noise: Vec<(u16, u8)> = region
            .chunks_exact(3)
            .map(|c| (u16::from_le_bytes([c[0], c[1]]), c[2]))
            .collect();
        fuzz::drive(&fuzz::valid_region_with_noise(&noise), ops);
    }
});
