//! Physical 4 KiB frames for page tables and user memory, taken from the RTOS's own
//! range only: from the end of the kernel image to the end of the range. Free frames
//! form a list threaded through the frames themselves (the range is mapped high in
//! every address space), so allocating and freeing are O(1) and need no heap.

use spin::Mutex;
use x86_64::PhysAddr;

use super::{phys_to_virt, virt_to_phys};

use crate::config::PAGE_SIZE;

extern "C" {
    /// The end of the kernel image, .bss included (rtos/kernel.ld; a high address).
    static __image_end: u8;
}

struct FrameAllocator {
    /// The first free frame; each free frame holds the address of the next (0 = end).
    head: u64,
    free: usize,
    total: usize,
}

static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator {
    head: 0,
    free: 0,
    total: 0,
});

/// Hands the frames between the kernel image's end and `base + size` to the allocator.
pub fn init(base: u64, size: u64) {
    let start = virt_to_phys(&raw const __image_end as u64)
        .as_u64()
        .next_multiple_of(PAGE_SIZE);
    let end = base + size;
    assert!(
        start > base && start < end,
        "the kernel image does not fit its range"
    );
    let mut frames = FRAMES.lock();
    // Pushed from the top down, so that allocation starts at low addresses.
    let mut frame = end - PAGE_SIZE;
    while frame >= start {
        // SAFETY: a frame of our range, mapped high, that nothing uses yet.
        unsafe { (phys_to_virt(PhysAddr::new(frame)) as *mut u64).write(frames.head) };
        frames.head = frame;
        frames.free += 1;
        frame -= PAGE_SIZE;
    }
    frames.total = frames.free;
}

/// A zeroed frame, or `None` when the range is used up.
pub fn alloc() -> Option<PhysAddr> {
    let mut frames = FRAMES.lock();
    let frame = frames.head;
    if frame == 0 {
        return None;
    }
    let virt = phys_to_virt(PhysAddr::new(frame));
    // SAFETY: a free frame of the list, mapped high; it leaves the list here.
    unsafe {
        frames.head = (virt as *const u64).read();
        core::ptr::write_bytes(virt, 0, PAGE_SIZE as usize);
    }
    frames.free -= 1;
    Some(PhysAddr::new(frame))
}

/// Gives `frame` back. It must come from [`alloc`] and be used no more.
pub fn free(frame: PhysAddr) {
    let mut frames = FRAMES.lock();
    // SAFETY: per the contract, the frame is ours and unused.
    unsafe { (phys_to_virt(frame) as *mut u64).write(frames.head) };
    frames.head = frame.as_u64();
    frames.free += 1;
}

/// (free, total) frames.
pub fn stats() -> (usize, usize) {
    let frames = FRAMES.lock();
    (frames.free, frames.total)
}
