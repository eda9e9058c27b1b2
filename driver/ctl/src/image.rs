//! Image checksums and the test-image maker (valid images, and images broken in one
//! chosen way, for the driver's in-guest tests).

use crate::abi::{self, ImageHeader};

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`), bitwise: images are small.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The header's checksum: CRC-32 of the image with the checksum field read as zero.
pub fn image_checksum(image: &[u8]) -> u32 {
    let mut copy = image.to_vec();
    copy[abi::CHECKSUM_OFFSET..abi::CHECKSUM_OFFSET + 4].fill(0);
    crc32(&copy)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A hypervisor image (magic CRTOS-HV), for `enable`.
    Hv,
    /// An RTOS image (magic CRTOS-RT), for `start-rtos`.
    Rtos,
}

/// One way to break an image; each trips exactly one of the driver's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Corruption {
    /// A valid image.
    None,
    /// Wrong magic.
    Magic,
    /// Unknown header version.
    Version,
    /// header_size other than 64.
    HeaderSize,
    /// image_size larger than the file (as if truncated).
    ImageSize,
    /// entry_offset beyond the image.
    Entry,
    /// percpu_size not page-aligned.
    Percpu,
    /// Per-CPU data larger than the whole range.
    TooBig,
    /// One body byte flipped after the checksum was computed.
    Checksum,
    /// A nonzero flags field.
    Flags,
    /// Only 32 bytes: shorter than a header.
    Truncated,
    /// Not broken: a valid image whose entry spins forever (`jmp $`), so an RTOS
    /// started from it never says it entered: START_RTOS must time out (lab 2).
    Hang,
}

/// `jmp $` (EB FE): the entry of a [`Corruption::Hang`] image.
const JMP_SELF: [u8; 2] = [0xEB, 0xFE];

/// Builds a test image: a header and `body_len` bytes of a recognisable pattern
/// (the entry points at the body's start; nothing executes it yet).
pub fn make_test_image(kind: Kind, corruption: Corruption, body_len: usize) -> Vec<u8> {
    let size = abi::HEADER_SIZE + body_len;
    let mut header = ImageHeader {
        magic: match kind {
            Kind::Hv => abi::HV_MAGIC,
            Kind::Rtos => abi::RTOS_MAGIC,
        },
        version: abi::IMAGE_VERSION,
        header_size: abi::HEADER_SIZE as u32,
        image_size: size as u64,
        entry_offset: abi::HEADER_SIZE as u64,
        percpu_size: if kind == Kind::Hv { 4 * 4096 } else { 0 },
        ..Default::default()
    };
    let range = if kind == Kind::Hv {
        abi::HV_SIZE
    } else {
        abi::RTOS_SIZE
    };
    match corruption {
        Corruption::Magic => header.magic = *b"NOT-CRTS",
        Corruption::Version => header.version = 99,
        Corruption::HeaderSize => header.header_size = 128,
        Corruption::ImageSize => header.image_size = size as u64 + 4096,
        Corruption::Entry => header.entry_offset = size as u64 + 16,
        Corruption::Percpu => header.percpu_size = 1000,
        Corruption::TooBig => header.percpu_size = range,
        Corruption::Flags => header.flags = 1,
        Corruption::None | Corruption::Checksum | Corruption::Truncated | Corruption::Hang => {}
    }
    let mut image = header.to_bytes().to_vec();
    image.extend((0..body_len).map(|i| (i % 251) as u8));
    if corruption == Corruption::Hang && body_len >= JMP_SELF.len() {
        image[abi::HEADER_SIZE..abi::HEADER_SIZE + JMP_SELF.len()].copy_from_slice(&JMP_SELF);
    }
    let checksum = image_checksum(&image);
    image[abi::CHECKSUM_OFFSET..abi::CHECKSUM_OFFSET + 4].copy_from_slice(&checksum.to_le_bytes());
    match corruption {
        Corruption::Checksum => image[abi::HEADER_SIZE + 7] ^= 0x01,
        Corruption::Truncated => image.truncate(32),
        _ => {}
    }
    image
}

/// Packs a linked image: its loadable segments, placed by physical address from the
/// image's base, make the image (its first 64 bytes the header). The hypervisor is
/// linked at 0, position-independent, in one segment; the link leaves its header's
/// image_size and entry_offset zero, and they are filled in from the ELF. The RTOS is
/// linked to run in the RTOS's range (its kernel high, loaded low): its header already
/// names its size and its 64-bit entry, and they must agree with the segments.
pub fn pack(kind: Kind, elf: &[u8]) -> Result<Vec<u8>, String> {
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    let u16_at = |o: usize| u64_at(o).map(|v| v as u16);
    let bad = || "not a 64-bit little-endian ELF file".to_string();
    if elf.get(0..6) != Some(&[0x7F, b'E', b'L', b'F', 2, 1][..]) {
        return Err(bad());
    }
    let elf_entry = u64_at(24).ok_or_else(bad)?;
    let (phoff, phentsize, phnum) = (
        u64_at(32).ok_or_else(bad)? as usize,
        u16_at(54).ok_or_else(bad)? as usize,
        u16_at(56).ok_or_else(bad)? as usize,
    );
    let base = match kind {
        Kind::Hv => 0,
        Kind::Rtos => crtos_abi::rtos::RTOS_BASE,
    };
    let mut image = Vec::new();
    for ph in (0..phnum).map(|i| phoff + i * phentsize) {
        if u64_at(ph).map(|v| v as u32) != Some(1) {
            continue; // not PT_LOAD
        }
        let (offset, paddr, filesz) = (
            u64_at(ph + 8).ok_or_else(bad)? as usize,
            u64_at(ph + 24).ok_or_else(bad)?,
            u64_at(ph + 32).ok_or_else(bad)? as usize,
        );
        let at = paddr
            .checked_sub(base)
            .filter(|&at| at < abi::RTOS_SIZE.max(abi::HV_SIZE))
            .ok_or(format!(
                "a segment is loaded at {paddr:#x}: the image must be linked at {base:#x}"
            ))? as usize;
        let bytes = elf
            .get(offset..offset + filesz)
            .ok_or("a loadable segment lies outside the file")?;
        if image.len() < at + filesz {
            image.resize(at + filesz, 0);
        }
        image[at..at + filesz].copy_from_slice(bytes);
    }
    let magic = match kind {
        Kind::Hv => abi::HV_MAGIC,
        Kind::Rtos => abi::RTOS_MAGIC,
    };
    if image.len() < abi::HEADER_SIZE || image[..8] != magic {
        return Err("the image does not start with this kind's image header".into());
    }
    let size = image.len() as u64;
    let header_u64 =
        |image: &[u8], o: usize| u64::from_le_bytes(image[o..o + 8].try_into().unwrap());
    let entry = match kind {
        Kind::Hv => elf_entry,
        Kind::Rtos => {
            // Its ELF entry is the multiboot one; the header names the 64-bit entry.
            if header_u64(&image, 16) != size {
                return Err(format!(
                    "the header says {:#x} bytes, the segments hold {size:#x}",
                    header_u64(&image, 16)
                ));
            }
            header_u64(&image, 24)
        }
    };
    if entry < abi::HEADER_SIZE as u64 || entry >= size {
        return Err(format!("the entry point {entry:#x} lies outside the image"));
    }
    image[16..24].copy_from_slice(&size.to_le_bytes());
    image[24..32].copy_from_slice(&entry.to_le_bytes());
    let checksum = image_checksum(&image);
    image[abi::CHECKSUM_OFFSET..abi::CHECKSUM_OFFSET + 4].copy_from_slice(&checksum.to_le_bytes());
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn valid_image_checksum_verifies() {
        let image = make_test_image(Kind::Hv, Corruption::None, 4000);
        let stored = u32::from_le_bytes(image[40..44].try_into().unwrap());
        assert_eq!(stored, image_checksum(&image));
        assert_eq!(image.len(), 4064);
    }

    #[test]
    fn checksum_corruption_breaks_only_the_checksum() {
        let image = make_test_image(Kind::Rtos, Corruption::Checksum, 100);
        let stored = u32::from_le_bytes(image[40..44].try_into().unwrap());
        assert_ne!(stored, image_checksum(&image));
        assert_eq!(&image[0..8], b"CRTOS-RT");
    }
}
