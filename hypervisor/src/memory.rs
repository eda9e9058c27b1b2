//! Memory for the hypervisor itself, all from the frame pool of its range: 4 KiB
//! frames for page tables (never freed while the hypervisor runs) and a heap.

use buddy_system_allocator::LockedHeap;
use spin::Mutex;

use crate::config::HEAP_SIZE;
use crate::layout::Region;

#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Hands out zeroed 4 KiB frames from the pool, front to back.
pub struct FramePool {
    region: Region,
    next: u64,
    end: u64,
}

static POOL: Mutex<Option<FramePool>> = Mutex::new(None);

/// Sets up the pool and the heap (first CPU, at every enable).
pub fn init(region: &Region) -> Result<(), &'static str> {
    let heap_start = region.virt + region.pool_start();
    if region.pool_start() + HEAP_SIZE > region.size {
        return Err("the range is too small for the heap");
    }
    // SAFETY: the heap range is ours alone; a re-enable starts a fresh heap.
    unsafe {
        *HEAP.lock() = buddy_system_allocator::Heap::empty();
        HEAP.lock().init(heap_start as usize, HEAP_SIZE as usize);
    }
    *POOL.lock() = Some(FramePool {
        region: *region,
        next: region.pool_start() + HEAP_SIZE,
        end: region.size,
    });
    Ok(())
}

/// A zeroed frame: its physical address and a pointer to it.
pub fn alloc_frame() -> Option<(u64, *mut u8)> {
    let mut pool = POOL.lock();
    let pool = pool.as_mut()?;
    if pool.next + 4096 > pool.end {
        return None;
    }
    let virt = pool.region.virt + pool.next;
    pool.next += 4096;
    // SAFETY: the frame is in our range and was never handed out.
    unsafe { core::ptr::write_bytes(virt as *mut u8, 0, 4096) };
    Some((pool.region.virt_to_phys(virt), virt as *mut u8))
}

/// Frames still free in the pool.
pub fn frames_left() -> u64 {
    POOL.lock().as_ref().map_or(0, |p| (p.end - p.next) / 4096)
}
