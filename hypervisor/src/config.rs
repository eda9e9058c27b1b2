//! The hypervisor's own constants: its version and CPUID signature (which Linux user
//! space reads), its per-CPU and heap sizes. Numbers shared with the driver and
//! `crtosctl` (hypercall codes, errno values, the memory map) live in `crtos_abi`.

/// The hypervisor's version, answered by CPUID 0x40000001 and the QUERY hypercall.
pub const HV_VERSION: u64 = 1;

/// CPUID 0x40000000 returns this in EBX, ECX, EDX: 12 ASCII bytes.
pub const CPUID_SIGNATURE: &[u8; 12] = b"crtos-lab-hv";
/// The highest hypervisor CPUID leaf.
pub const CPUID_MAX_LEAF: u32 = 0x4000_0001;

/// Per-CPU area: host stack, VMXON region, VMCS, MSR bitmap (see `percpu.rs`).
pub const PERCPU_SIZE: u64 = 128 * 1024;
/// The most CPUs the hypervisor manages.
pub const MAX_CPUS: usize = baremetal::acpi::MAX_CPUS;

/// Sizes of the ranges that follow the hypervisor's in the reservation.
pub use crtos_abi::{RTOS_SIZE, SHARED_SIZE};

/// Bytes of the hypervisor's heap (buddy_system_allocator), taken from its range.
pub const HEAP_SIZE: u64 = 1 << 20;
