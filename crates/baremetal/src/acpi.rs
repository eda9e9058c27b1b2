//! Just enough ACPI to find the CPUs (MADT) and to power the machine off (FADT + the
//! DSDT's `\_S5_` object). Both emulators' firmware (Bochs's BIOS, QEMU's SeaBIOS)
//! publish these tables in low memory, which the boot stub identity-maps.

use core::ptr::read_unaligned;

/// The largest number of CPUs the lab's kernels track.
pub const MAX_CPUS: usize = 8;

/// What the firmware's tables say about this machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Platform {
    /// APIC IDs of the enabled processors, from the MADT; the boot CPU is among them.
    pub apic_ids: [u8; MAX_CPUS],
    pub cpu_count: usize,
    /// Physical address of the local APIC registers (MADT), usually 0xFEE0_0000.
    pub local_apic: u64,
    /// The PM1a control port and the S5 sleep type: writing
    /// `SLP_TYP << 10 | SLP_EN` there powers the machine off.
    pub pm1a_control: u16,
    pub s5_sleep_type: u16,
}

/// Reads the tables. `None` when the firmware published no RSDP.
pub fn discover() -> Option<Platform> {
    let rsdp = find_rsdp()?;
    // SAFETY: the RSDP checksum passed; the tables live in identity-mapped low memory.
    unsafe {
        let rsdt = read_unaligned((rsdp + 16) as *const u32) as u64;
        let mut p = Platform {
            local_apic: 0xFEE0_0000,
            ..Platform::default()
        };
        let len = read_unaligned((rsdt + 4) as *const u32) as u64;
        let mut entry = rsdt + 36;
        while entry < rsdt + len {
            let table = read_unaligned(entry as *const u32) as u64;
            match &*(table as *const [u8; 4]) {
                b"APIC" => read_madt(table, &mut p),
                b"FACP" => read_fadt(table, &mut p),
                _ => {}
            }
            entry += 4;
        }
        Some(p)
    }
}

/// The RSDP sits on a 16-byte boundary in the BIOS area 0xE0000..0xFFFFF (or the
/// first KiB of the EBDA), starts with "RSD PTR " and its first 20 bytes sum to 0.
fn find_rsdp() -> Option<u64> {
    // SAFETY: the BDA word at 0x40E holds the EBDA segment; low memory is mapped.
    let ebda = unsafe { read_unaligned(0x40E as *const u16) } as u64 * 16;
    let ranges = [(ebda, ebda + 1024), (0xE0000, 0x100000)];
    for (start, end) in ranges {
        let mut a = start;
        while a + 20 <= end {
            // SAFETY: inside the firmware's identity-mapped area.
            let bytes = unsafe { &*(a as *const [u8; 20]) };
            if &bytes[..8] == b"RSD PTR " && bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b)) == 0
            {
                return Some(a);
            }
            a += 16;
        }
    }
    None
}

/// MADT: after the 44-byte header, variable-length entries {type, length, ...}.
/// Type 0 = processor local APIC {ACPI id, APIC id, flags (bit 0 enabled)}.
unsafe fn read_madt(table: u64, p: &mut Platform) {
    p.local_apic = read_unaligned((table + 36) as *const u32) as u64;
    let end = table + read_unaligned((table + 4) as *const u32) as u64;
    let mut e = table + 44;
    while e + 2 <= end {
        let (kind, len) = (*(e as *const u8), *((e + 1) as *const u8) as u64);
        if len < 2 {
            break; // a malformed entry: stop rather than loop forever
        }
        if kind == 0 {
            let apic_id = *((e + 3) as *const u8);
            let flags = read_unaligned((e + 4) as *const u32);
            if flags & 1 != 0 && p.cpu_count < MAX_CPUS {
                p.apic_ids[p.cpu_count] = apic_id;
                p.cpu_count += 1;
            }
        }
        e += len;
    }
}

/// FADT: DSDT address at offset 40, PM1a_CNT_BLK port at offset 64.
unsafe fn read_fadt(table: u64, p: &mut Platform) {
    p.pm1a_control = read_unaligned((table + 64) as *const u32) as u16;
    let dsdt = read_unaligned((table + 40) as *const u32) as u64;
    if let Some(t) = s5_sleep_type(dsdt) {
        p.s5_sleep_type = t;
    }
}

/// Finds `Name(\_S5_, Package(){SLP_TYPa, ...})` in the DSDT's AML bytes:
/// NameOp(08) "_S5_" PackageOp(12) PkgLength NumElements, then the first element,
/// a ZeroOp(00), OneOp(01) or BytePrefix(0A) + byte.
unsafe fn s5_sleep_type(dsdt: u64) -> Option<u16> {
    let len = read_unaligned((dsdt + 4) as *const u32) as u64;
    let aml = core::slice::from_raw_parts(dsdt as *const u8, len as usize);
    let at = aml.windows(4).position(|w| w == b"_S5_")?;
    let rest = aml.get(at + 4..)?;
    if *rest.first()? != 0x12 {
        return None;
    }
    let pkg_len_bytes = 1 + (*rest.get(1)? >> 6) as usize; // PkgLength: bits 7:6 = extra bytes
    let first = rest.get(1 + pkg_len_bytes + 1..)?; // skip PkgLength and NumElements
    match *first.first()? {
        0x00 => Some(0),
        0x01 => Some(1),
        0x0A => first.get(1).map(|&b| b as u16),
        _ => None,
    }
}
