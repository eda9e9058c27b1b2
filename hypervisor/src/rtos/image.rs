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
