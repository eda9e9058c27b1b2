//! What user space sees of the hypervisor without the driver: CPUID on each CPU, and
//! VMCALL from user mode.

use std::arch::asm;

/// CPUID leaf 0x4000_0000's vendor signature (EBX, ECX, EDX), or None when none.
// `__cpuid` became safe in newer Rust; the workspace's MSRV still needs `unsafe`.
#[allow(unused_unsafe)]
pub fn hypervisor_signature() -> Option<String> {
    // SAFETY: CPUID exists on every x86-64 CPU.
    let leaf1 = unsafe { std::arch::x86_64::__cpuid(1) };
    if leaf1.ecx & (1 << 31) == 0 {
        return None; // "hypervisor present" is clear
    }
    // SAFETY: as above.
    let r = unsafe { std::arch::x86_64::__cpuid(0x4000_0000) };
    let bytes: Vec<u8> = [r.ebx, r.ecx, r.edx]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn pin_to(cpu: usize) -> Result<(), String> {
    // SAFETY: a zeroed cpu_set_t with one bit set, for this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(format!(
                "cannot run on CPU {cpu}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// Runs CPUID 0x4000_0000 on each online CPU in turn and prints what it sees.
pub fn cpuid_on_each_cpu(tag: &str) -> Result<(), String> {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map_err(|e| format!("cannot read the online CPUs: {e}"))?;
    for cpu in parse_cpu_list(online.trim())? {
        pin_to(cpu)?;
        let sig = hypervisor_signature();
        println!(
            "cpu {cpu}: CPUID 0x40000000 = {}{}{tag}",
            sig.as_deref().unwrap_or("(no hypervisor)"),
            if tag.is_empty() { "" } else { " " }
        );
    }
    Ok(())
}

/// "0-1,3" -> [0, 1, 3]
fn parse_cpu_list(list: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        let num = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| format!("bad CPU list `{list}`"))
        };
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(num(a)?..=num(b)?),
            None => cpus.push(num(part)?),
        }
    }
    Ok(cpus)
}

/// VMCALL from user mode. Under the hypervisor it exits at any privilege level, so the
/// hypervisor itself must refuse it (-EPERM); on bare metal it would raise #UD, so
/// this refuses to try when no hypervisor signature is visible.
pub fn user_vmcall(nr: u64) -> Result<i64, String> {
    if hypervisor_signature().is_none() {
        return Err("no hypervisor is running: VMCALL would raise #UD (SIGILL)".into());
    }
    // SAFETY: a hypervisor runs (its signature is visible).
    Ok(unsafe { vmcall(nr) })
}

/// VMCALL with RAX = `nr` and no arguments: a VM exit answered in RAX.
///
/// # Safety
/// Only under the hypervisor: on bare metal VMCALL raises #UD.
unsafe fn vmcall(nr: u64) -> i64 {
    let ret: i64;
    asm!("vmcall", inlateout("rax") nr as i64 => ret, in("rdi") 0, in("rsi") 0, in("rdx") 0);
    ret
}

/// Average TSC cycles of `f` over `n` runs, pinned to CPU 0.
fn cycles(n: u64, mut f: impl FnMut()) -> u64 {
    // SAFETY: RDTSC is allowed in user mode unless CR4.TSD is set (Linux leaves it clear).
    let start = unsafe { std::arch::x86_64::_rdtsc() };
    for _ in 0..n {
        f();
    }
    // SAFETY: as above.
    (unsafe { std::arch::x86_64::_rdtsc() } - start) / n
}

/// The cost of CPUID and, under the hypervisor, of a VMCALL from user mode (the
/// hypervisor refuses it with -EPERM: a complete VM exit and entry, doing nothing).
#[allow(unused_unsafe)]
pub fn bench(tag: &str) -> Result<(), String> {
    const N: u64 = 2000;
    pin_to(0)?;
    let sep = if tag.is_empty() { "" } else { " " };
    // SAFETY: CPUID exists on every x86-64 CPU.
    let cpuid = cycles(N, || {
        std::hint::black_box(unsafe { std::arch::x86_64::__cpuid(0) });
    });
    let under = if hypervisor_signature().is_some() {
        "under the hypervisor"
    } else {
        "on bare metal"
    };
    println!("bench: CPUID {under}: {cpuid} TSC cycles{sep}{tag}");
    if hypervisor_signature().is_some() {
        // SAFETY: under the hypervisor (checked above).
        let null = cycles(N, || {
            std::hint::black_box(unsafe { vmcall(crtos_abi::HypercallCode::Query.into()) });
        });
        println!("bench: null hypercall (user-mode VMCALL) {under}: {null} TSC cycles{sep}{tag}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists() {
        assert_eq!(super::parse_cpu_list("0-1,3").unwrap(), vec![0, 1, 3]);
        assert_eq!(super::parse_cpu_list("0").unwrap(), vec![0]);
        assert!(super::parse_cpu_list("x").is_err());
    }
}
