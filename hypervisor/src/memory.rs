//! Memory for the hypervisor itself, all from the frame pool of its range: 4 KiB
//! frames for page tables (never freed while the hypervisor runs) and a heap.

use buddy_system_allocator::LockedHeap;
use spin::Mutex;

use crate::config::HEAP_SIZE;
use crate::layout::Region;

// The image's heap; a host test build keeps std's allocator.
#[cfg_attr(not(test), global_allocator)]
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

#[cfg(test)]
pub(crate) mod tests {
    use std::alloc::{alloc_zeroed, dealloc, Layout};
    use std::sync::{Mutex, MutexGuard};

    use super::*;
    use crate::entry::EntryArgs;

    /// The frame pool is one global, as in the image: tests that use it take turns.
    static POOL_USERS: Mutex<()> = Mutex::new(());

    /// A hypervisor range in host memory, with the frame pool set up over it: what
    /// `global_init` has at enable. Frames' "physical" addresses start at `PHYS`.
    pub struct TestRange {
        pub region: Region,
        layout: Layout,
        _turn: MutexGuard<'static, ()>,
    }

    impl TestRange {
        pub const PHYS: u64 = 0x1000_0000;
        const SIZE: u64 = 4 << 20;

        pub fn new() -> TestRange {
            let turn = POOL_USERS.lock().unwrap_or_else(|e| e.into_inner());
            let layout = Layout::from_size_align(Self::SIZE as usize, 4096).unwrap();
            // SAFETY: a non-zero size.
            let virt = unsafe { alloc_zeroed(layout) } as u64;
            assert_ne!(virt, 0, "out of host memory");
            let args = EntryArgs::for_test(0, 1, 1, Self::PHYS, Self::SIZE, virt);
            let region = Region::new(&args, 0..0).expect("a valid test range");
            init(&region).expect("pool");
            TestRange {
                region,
                layout,
                _turn: turn,
            }
        }
    }

    impl Drop for TestRange {
        fn drop(&mut self) {
            *POOL.lock() = None;
            // SAFETY: allocated in new() with this layout.
            unsafe { dealloc(self.region.virt as *mut u8, self.layout) };
        }
    }

    #[test]
    fn frames_are_zeroed_page_aligned_and_run_out_cleanly() {
        let range = TestRange::new();
        let (phys, virt) = alloc_frame().unwrap();
        assert_eq!(phys % 4096, 0);
        assert_eq!(range.region.virt_to_phys(virt as u64), phys);
        assert!(range.region.contains_phys(phys));
        // SAFETY: a frame of the test range.
        assert!(unsafe { core::slice::from_raw_parts(virt, 4096) }
            .iter()
            .all(|&b| b == 0));
        let left = frames_left();
        for _ in 0..left {
            assert!(alloc_frame().is_some());
        }
        assert_eq!(alloc_frame(), None, "the pool ends at the range's end");
        assert_eq!(frames_left(), 0);
    }
}
