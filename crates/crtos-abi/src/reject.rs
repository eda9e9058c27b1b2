//! Why the driver refused an image: `enum crtos_reject_reason` in
//! driver/include/crtos.h, which the driver writes into `crtos_image_arg.reject_reason`
//! next to its -EINVAL. The C header spells the same list once, as the X-macro
//! `CRTOS_REJECT_REASONS`, from which the driver builds its enum and its log names; a
//! host test checks that list against this one, number and name.

numeric_enum! {
    /// Why the driver refused an image (the short name is what it logs and what
    /// `crtosctl` prints in brackets for scripts).
    pub enum RejectReason: u32 {
        None = 0 => "none",
        TooSmall = 1 => "too-small",
        Magic = 2 => "magic",
        Version = 3 => "version",
        HeaderSize = 4 => "header-size",
        ImageSize = 5 => "image-size",
        TooBig = 6 => "too-big",
        Entry = 7 => "entry",
        Percpu = 8 => "percpu",
        Checksum = 9 => "checksum",
        Flags = 10 => "flags",
        NotCode = 11 => "not-code",
    }
}

impl RejectReason {
    /// A sentence a student can act on.
    pub fn text(self) -> &'static str {
        match self {
            RejectReason::None => "the driver gave no reason",
            RejectReason::TooSmall => "the file is shorter than the 64-byte image header",
            RejectReason::Magic => "its magic is wrong: it is not an image of this kind (hypervisor images start with CRTOS-HV, RTOS images with CRTOS-RT)",
            RejectReason::Version => "its header version is not the one this driver understands",
            RejectReason::HeaderSize => "its header_size field is not 64",
            RejectReason::ImageSize => "its image_size field does not match the file's size (truncated or padded file?)",
            RejectReason::TooBig => "the image and its per-CPU data do not fit in the reserved range",
            RejectReason::Entry => "its entry_offset does not point inside the image body",
            RejectReason::Percpu => "its percpu_size is not a multiple of 4096",
            RejectReason::Checksum => "its checksum does not match its contents (corrupted or edited after linking?)",
            RejectReason::Flags => "its flags or reserved header fields are not zero",
            RejectReason::NotCode => "its entry is not an ENDBR64 instruction: it is not a hypervisor built by this project (build one with `make hypervisor`)",
        }
    }

    /// The reason the driver wrote; an unknown number reads as [`RejectReason::None`].
    pub fn from_driver(n: u32) -> RejectReason {
        RejectReason::try_from(n).unwrap_or(RejectReason::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_dense_and_unknown_ones_read_as_none() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(
                r.number() as usize,
                i,
                "{r}: the C log table is indexed by number"
            );
        }
        assert_eq!(RejectReason::from_driver(9), RejectReason::Checksum);
        assert_eq!(RejectReason::from_driver(999), RejectReason::None);
    }
}
