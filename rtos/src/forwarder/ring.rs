//! The ring as the RTOS owns it for one daemon generation: laid out afresh when a
//! daemon attaches, dropped (every call in flight failed) when it goes. What is in
//! flight: each request's waiter, and each waiting task's call.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crtos_abi::forwarding::{RING_MAX_SIZE, RING_OFFSET};
use crtos_abi::rtos::BootBlock;
use rtos::forward::call::ForwardedCall;
use syscall_ring::{Call, Client, RingConfig, RingError, SharedRegion};
use x86_64::PhysAddr;

use crate::mm::phys_to_virt;
use crate::task::tcb::Tid;

pub struct Ring {
    pub client: Client<'static>,
    /// Request id -> the task waiting for its answer (`None`: nobody waits, e.g. a
    /// `TaskStart` or a dead task's `exit_group`).
    pub waiters: BTreeMap<u64, Option<Tid>>,
    /// The call each waiting task is in.
    pub calls: BTreeMap<Tid, ForwardedCall>,
    /// Where an answer's payload is copied before it goes to the task.
    pub reply: Vec<u8>,
}

/// Where the ring starts, in the kernel's map of the shared region.
fn base(boot: &BootBlock) -> *mut u8 {
    phys_to_virt(PhysAddr::new(boot.shared_base + RING_OFFSET))
}

impl Ring {
    // ANCHOR: lay_out
    /// Lays the ring out afresh at RING_OFFSET of the shared region (empty queues,
    /// header last), with the default configuration both sides agree on.
    pub fn lay_out(boot: &BootBlock) -> Result<Ring, RingError> {
        // SAFETY: the region is mapped for good, and nobody uses this part of it until
        // `ring_generation` says it is laid out; the old client is dropped already.
        let region = unsafe {
            SharedRegion::init(base(boot), RING_MAX_SIZE as usize, RingConfig::default())
        }?;
        Ring::new(region)
    }
    // ANCHOR_END: lay_out

    /// Takes over the ring an earlier run of the RTOS laid out for the daemon that is
    /// still attached (Linux stopped and restarted the RTOS under it): laying it out
    /// again would move the queues' indices under the daemon's feet, and the daemon
    /// has no reason to look again (`ring_generation` is its own). The queues carry
    /// on where they are; answers to the earlier run's requests match nothing and are
    /// rejected.
    pub fn take_over(boot: &BootBlock) -> Result<Ring, RingError> {
        // SAFETY: as in `lay_out`; the header is validated before use.
        let region = unsafe { SharedRegion::attach(base(boot), RING_MAX_SIZE as usize) }?;
        Ring::new(region)
    }

    fn new(region: SharedRegion<'static>) -> Result<Ring, RingError> {
        let client = region.into_client()?;
        let slot = client.payload_slot_size() as usize;
        Ok(Ring {
            client,
            waiters: BTreeMap::new(),
            calls: BTreeMap::new(),
            reply: vec![0; slot],
        })
    }

    /// Pushes one request; `waiter` will get its answer.
    pub fn submit(
        &mut self,
        call: Call,
        payload: &[u8],
        waiter: Option<Tid>,
    ) -> Result<(), RingError> {
        let id = self.client.submit(call, payload)?;
        self.waiters.insert(id.0, waiter);
        Ok(())
    }

    /// Requests in flight (sent, not answered).
    pub fn in_flight(&self) -> usize {
        self.waiters.len()
    }

    /// The tasks waiting for an answer, taken out (their calls forgotten): the ring is
    /// about to go.
    pub fn take_waiting(&mut self) -> Vec<Tid> {
        self.calls.clear();
        let tasks = self.waiters.values().flatten().copied().collect();
        self.waiters.clear();
        tasks
    }
}
