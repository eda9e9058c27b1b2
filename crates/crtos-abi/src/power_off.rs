//! How the hypervisor powers the machine off after a panic of its own, when Linux
//! cannot any more: the ACPI PM1a control port and the value that enters S5
//! (`SLP_TYP << 10 | SLP_EN`), which the driver reads from Linux's ACPI tables and
//! passes as `hv_entry`'s last argument, packed as crtos.h's `CRTOS_POWER_OFF`.

/// Bit positions of the packed argument (crtos.h: CRTOS_POWER_OFF_*_SHIFT).
pub const POWER_OFF_PORT_SHIFT: u32 = 0;
pub const POWER_OFF_VALUE_SHIFT: u32 = 16;

/// Where to write what, to power off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerOff {
    pub port: u16,
    pub value: u16,
}

impl PowerOff {
    /// The packed entry argument; 0 means "unknown" (no I/O port is 0).
    pub fn from_entry_arg(arg: u64) -> Option<PowerOff> {
        let port = (arg >> POWER_OFF_PORT_SHIFT) as u16;
        let value = (arg >> POWER_OFF_VALUE_SHIFT) as u16;
        (port != 0).then_some(PowerOff { port, value })
    }

    pub fn to_entry_arg(self) -> u64 {
        (self.port as u64) << POWER_OFF_PORT_SHIFT | (self.value as u64) << POWER_OFF_VALUE_SHIFT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packed_argument_round_trips_and_zero_is_unknown() {
        let p = PowerOff {
            port: 0xB004,
            value: 0x2000,
        };
        assert_eq!(p.to_entry_arg(), 0x2000_B004);
        assert_eq!(PowerOff::from_entry_arg(p.to_entry_arg()), Some(p));
        assert_eq!(PowerOff::from_entry_arg(0), None);
    }
}
