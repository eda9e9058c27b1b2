//! `crtosctl ring-garbage` (hidden; lab 3's stage and grader): a broken daemon, on
//! purpose. It attaches as the daemon, waits for the RTOS to lay the ring out for it,
//! then posts two answers into the response queue that no correct daemon would: one to
//! a request that was never made, one with a status that does not exist. The RTOS must
//! reject both, count them (`rejected` in the control page) and serve on. Then it
//! exits, and the driver tells the RTOS that this "daemon" is gone.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crtos_abi::forwarding::{ControlPage, NotifyMode, RING_MAX_SIZE, RING_OFFSET};
use syscall_ring::{Descriptor, Opcode, RingLayout, SharedRegion, Status, INDEX_PADDING};

use crate::device::Device;

/// How long to wait for the RTOS: to lay the ring out, then to reject the answers.
const PATIENCE: Duration = Duration::from_secs(10);

/// The answers no request asked for: an id whose tag and generation were never given
/// out, and a status no daemon writes.
fn forgeries() -> [Descriptor; 2] {
    let answer = Descriptor {
        opcode: Opcode::Syscall as u32,
        status: Status::Done as u32,
        ..Descriptor::default()
    };
    [
        Descriptor {
            id: u64::MAX,
            ..answer
        },
        Descriptor {
            status: 7,
            ..answer
        },
    ]
}

pub fn run(dev: &Device) -> Result<(), String> {
    let generation = dev
        .daemon_attach(NotifyMode::Poll.number())
        .map_err(|e| format!("DAEMON_ATTACH: {e} (is crtosd running? stop it first)"))?;
    let mut map = dev
        .map_shared(0, crtos_abi::SHARED_SIZE as usize)
        .map_err(|e| format!("mmap of the shared region: {e}"))?;
    let base = map.as_mut_slice().as_mut_ptr();
    // SAFETY: the mapping starts with the control page and outlives this function;
    // every field another party writes is atomic.
    let page = unsafe { &*(base as *const ControlPage) };
    wait_for("the RTOS to lay the ring out", || {
        page.ring_generation.load(Ordering::Acquire) == generation
    })?;
    // SAFETY: RING_MAX_SIZE bytes at RING_OFFSET are in the mapping.
    let ring = unsafe { base.add(RING_OFFSET as usize) };
    let layout = *unsafe { SharedRegion::attach(ring, RING_MAX_SIZE as usize) }
        .map_err(|e| format!("the ring's header: {e}"))?
        .layout();
    let before = page.rejected.load(Ordering::Acquire);
    // SAFETY: the layout was validated against RING_MAX_SIZE; we are the daemon, the
    // response queue's only producer.
    unsafe { post(ring, &layout, &forgeries()) };
    let wanted = before + forgeries().len() as u64;
    wait_for("the RTOS to reject the answers", || {
        page.rejected.load(Ordering::Acquire) >= wanted
    })?;
    println!(
        "posted {} forged answers (one to no request, one with status 7): the RTOS's rejected count went {before} -> {}",
        forgeries().len(),
        page.rejected.load(Ordering::Acquire)
    );
    Ok(())
}

/// Writes `answers` into the response queue's next slots and publishes them with one
/// release store of the tail, as the ring's producer does (crates/ring/src/queue.rs).
///
/// # Safety
/// `ring` is a ring laid out as `layout`, and nobody else produces responses.
unsafe fn post(ring: *mut u8, layout: &RingLayout, answers: &[Descriptor]) {
    // SAFETY: the tail index is an atomic u32 inside the response indices.
    let tail = unsafe {
        &*(ring.add(layout.response_indices as usize + INDEX_PADDING) as *const AtomicU32)
    };
    let first = tail.load(Ordering::Relaxed);
    for (i, answer) in answers.iter().enumerate() {
        let slot = (first.wrapping_add(i as u32) & (layout.capacity - 1)) as usize;
        // SAFETY: slot < capacity, inside the response slots.
        unsafe {
            ring.add(layout.response_slots as usize + slot * size_of::<Descriptor>())
                .cast::<Descriptor>()
                .write_volatile(*answer);
        }
    }
    tail.store(first.wrapping_add(answers.len() as u32), Ordering::Release);
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > PATIENCE {
            return Err(format!("gave up waiting for {what} after {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
