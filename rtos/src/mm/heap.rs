//! The kernel heap: a buddy allocator over a static array in the kernel's .bss (so it
//! lies inside the RTOS's range by construction).

use buddy_system_allocator::LockedHeap;

use crate::config::HEAP_SIZE;

/// Order 32: blocks up to 2^31 bytes, far more than the heap.
#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

#[repr(C, align(4096))]
struct HeapSpace([u8; HEAP_SIZE]);
static mut HEAP_SPACE: HeapSpace = HeapSpace([0; HEAP_SIZE]);

pub fn init() {
    // SAFETY: the array is used by nothing else, and `init` runs once, first.
    unsafe { HEAP.lock().init((&raw mut HEAP_SPACE) as usize, HEAP_SIZE) };
}
