//! START_RTOS's inputs, read from Linux's memory and checked before anything changes:
//! the request block and the image it points to. Linux's EPT closes the RTOS's range,
//! so Linux cannot put the image there itself: the hypervisor copies it, through
//! Linux's page tables (the driver's buffer is virtually contiguous only).

use core::ops::Range;

use crtos_abi::rtos::StartRequest;
use crtos_abi::{Errno, ImageHeader, HEADER_SIZE, IMAGE_VERSION, RTOS_MAGIC};

use crate::guest_memory::GuestPhysMemory;

/// Reads the [`StartRequest`] at guest-virtual `gva`.
pub fn read_request(memory: &GuestPhysMemory, cr3: u64, gva: u64) -> Result<StartRequest, Errno> {
    let mut bytes = [0u8; core::mem::size_of::<StartRequest>()];
    memory
        .read(cr3, gva, &mut bytes)
        .map_err(|_| Errno::Fault)?;
    // SAFETY: StartRequest is plain data; every bit pattern is a value.
    Ok(unsafe { core::ptr::read_unaligned(bytes.as_ptr() as *const StartRequest) })
}

/// Checks the image's header against the request and the RTOS's range; returns the
/// entry's physical address.
pub fn check_header(
    memory: &GuestPhysMemory,
    cr3: u64,
    req: &StartRequest,
    range: &Range<u64>,
) -> Result<u64, Errno> {
    let mut bytes = [0u8; HEADER_SIZE];
    memory
        .read(cr3, req.image_addr, &mut bytes)
        .map_err(|_| Errno::Fault)?;
    // SAFETY: ImageHeader is plain data of HEADER_SIZE bytes.
    let h = unsafe { core::ptr::read_unaligned(bytes.as_ptr() as *const ImageHeader) };
    let room = range.end - range.start;
    if req.image_size > room || h.image_size > room {
        return Err(Errno::TooBig);
    }
    let sane = h.magic == RTOS_MAGIC
        && h.version == IMAGE_VERSION
        && h.header_size as usize == HEADER_SIZE
        && h.image_size == req.image_size
        && h.entry_offset >= HEADER_SIZE as u64
        && h.entry_offset < h.image_size;
    if !sane {
        return Err(Errno::Inval);
    }
    Ok(range.start + h.entry_offset)
}

/// Copies the image into the RTOS's range (identity-mapped in the host) and zeroes
/// the rest of the range: the RTOS finds no stale data from an earlier run.
pub fn load(
    memory: &GuestPhysMemory,
    cr3: u64,
    req: &StartRequest,
    range: &Range<u64>,
) -> Result<(), Errno> {
    // SAFETY: the RTOS's range lies in the host's identity map, is closed to Linux
    // and is not running: nothing else touches it now.
    let dst = unsafe {
        core::slice::from_raw_parts_mut(range.start as *mut u8, (range.end - range.start) as usize)
    };
    let (image, rest) = dst.split_at_mut(req.image_size as usize);
    memory
        .read(cr3, req.image_addr, image)
        .map_err(|_| Errno::Fault)?;
    rest.fill(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_memory::synthetic::{Guest, CR3, RW};

    const IMAGE_GVA: u64 = 0x7000_0000;
    const IMAGE_GPA: u64 = 0x30_0000;
    const RANGE: Range<u64> = 0x1100_0000..0x1100_0000 + (32 << 20);

    /// A guest holding an RTOS image header (with `edit` applied) at IMAGE_GVA, and a
    /// request for it.
    fn guest_with(edit: impl Fn(&mut ImageHeader)) -> (Guest, StartRequest) {
        let mut h = ImageHeader {
            magic: RTOS_MAGIC,
            version: IMAGE_VERSION,
            header_size: HEADER_SIZE as u32,
            image_size: 0x2000,
            entry_offset: 0x100,
            ..Default::default()
        };
        edit(&mut h);
        let mut g = Guest::new();
        g.map(IMAGE_GVA, IMAGE_GPA, 1, RW);
        g.map(IMAGE_GVA + 0x1000, IMAGE_GPA + 0x1000, 1, RW);
        g.memory[IMAGE_GPA as usize..][..HEADER_SIZE].copy_from_slice(&h.to_bytes());
        let req = StartRequest {
            image_addr: IMAGE_GVA,
            image_size: 0x2000,
            tsc_khz: 200_000,
            realtime_ns: 0,
            cmdline: [0; crtos_abi::rtos::START_CMDLINE_LEN],
        };
        (g, req)
    }

    #[test]
    fn a_good_header_gives_the_entry_in_the_rtos_range() {
        let (mut g, req) = guest_with(|_| {});
        assert_eq!(
            check_header(&g.phys(), CR3, &req, &RANGE),
            Ok(RANGE.start + 0x100)
        );
    }

    /// One change to a good header.
    type Edit = fn(&mut ImageHeader);

    #[test]
    fn each_bad_field_is_refused() {
        let cases: [(Edit, Errno); 6] = [
            (|h| h.magic = crtos_abi::HV_MAGIC, Errno::Inval),
            (|h| h.version = 2, Errno::Inval),
            (|h| h.header_size = 32, Errno::Inval),
            (|h| h.image_size = 0x3000, Errno::Inval), // not the size the driver sent
            (|h| h.entry_offset = 0x2000, Errno::Inval),
            (|h| h.image_size = 64 << 20, Errno::TooBig),
        ];
        for (edit, want) in cases {
            let (mut g, req) = guest_with(edit);
            assert_eq!(check_header(&g.phys(), CR3, &req, &RANGE), Err(want));
        }
    }

    #[test]
    fn an_unmapped_image_is_a_fault() {
        let (mut g, mut req) = guest_with(|_| {});
        req.image_addr = 0x5000_0000;
        assert_eq!(
            check_header(&g.phys(), CR3, &req, &RANGE),
            Err(Errno::Fault)
        );
        assert_eq!(
            read_request(&g.phys(), CR3, 0x5000_0000).err(),
            Some(Errno::Fault)
        );
    }
}
