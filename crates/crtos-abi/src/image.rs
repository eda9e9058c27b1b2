//! The image header: the first 64 bytes of every image the driver loads
//! (`struct crtos_image_header` in driver/include/crtos.h, which says what each field
//! means). The size is checked at compile time, the numbers by the header test.

/// Header magic of a hypervisor image.
pub const HV_MAGIC: [u8; 8] = *b"CRTOS-HV";
/// Header magic of an RTOS image.
pub const RTOS_MAGIC: [u8; 8] = *b"CRTOS-RT";
pub const IMAGE_VERSION: u32 = 1;
pub const HEADER_SIZE: usize = 64;
pub const CHECKSUM_OFFSET: usize = 40;

/// `struct crtos_image_header`: the first 64 bytes of every image.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageHeader {
    pub magic: [u8; 8],
    pub version: u32,
    pub header_size: u32,
    pub image_size: u64,
    pub entry_offset: u64,
    pub percpu_size: u64,
    pub checksum: u32,
    pub flags: u32,
    pub reserved: [u64; 2],
}
const _: () = assert!(core::mem::size_of::<ImageHeader>() == HEADER_SIZE);
const _: () = assert!(core::mem::offset_of!(ImageHeader, checksum) == CHECKSUM_OFFSET);

impl ImageHeader {
    pub fn to_bytes(self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(&self.magic);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.header_size.to_le_bytes());
        b[16..24].copy_from_slice(&self.image_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.entry_offset.to_le_bytes());
        b[32..40].copy_from_slice(&self.percpu_size.to_le_bytes());
        b[40..44].copy_from_slice(&self.checksum.to_le_bytes());
        b[44..48].copy_from_slice(&self.flags.to_le_bytes());
        b[48..56].copy_from_slice(&self.reserved[0].to_le_bytes());
        b[56..64].copy_from_slice(&self.reserved[1].to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_bytes_puts_each_field_at_its_offset() {
        let h = ImageHeader {
            magic: HV_MAGIC,
            version: IMAGE_VERSION,
            header_size: HEADER_SIZE as u32,
            image_size: 0x1122,
            entry_offset: 0x40,
            percpu_size: 0x2_0000,
            checksum: 0xDEAD_BEEF,
            flags: 0,
            reserved: [0, 7],
        };
        let b = h.to_bytes();
        assert_eq!(&b[..8], b"CRTOS-HV");
        assert_eq!(b[12], 64);
        assert_eq!(u64::from_le_bytes(b[16..24].try_into().unwrap()), 0x1122);
        assert_eq!(
            u32::from_le_bytes(b[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4].try_into().unwrap()),
            0xDEAD_BEEF
        );
        assert_eq!(b[56], 7);
    }
}
