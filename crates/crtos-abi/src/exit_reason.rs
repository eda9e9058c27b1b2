//! Basic VM-exit reasons (SDM Vol. 3D, Appendix C "VMX Basic Exit Reasons"): bits 15:0
//! of the VMCS exit-reason field. The hypervisor dispatches on them; the QUERY
//! statistics and `crtosctl exits` name them.

/// How many basic exit reasons the statistics count (0..EXIT_REASONS).
pub const EXIT_REASONS: usize = 80;

numeric_enum! {
    /// A basic VM-exit reason.
    pub enum ExitReason: u16 {
        ExceptionOrNmi = 0 => "exception or NMI",
        ExternalInterrupt = 1 => "external interrupt",
        TripleFault = 2 => "triple fault",
        InitSignal = 3 => "INIT signal",
        StartupIpi = 4 => "start-up IPI",
        IoSmi = 5 => "I/O SMI",
        OtherSmi = 6 => "other SMI",
        InterruptWindow = 7 => "interrupt window",
        NmiWindow = 8 => "NMI window",
        TaskSwitch = 9 => "task switch",
        Cpuid = 10 => "CPUID",
        Getsec = 11 => "GETSEC",
        Hlt = 12 => "HLT",
        Invd = 13 => "INVD",
        Invlpg = 14 => "INVLPG",
        Rdpmc = 15 => "RDPMC",
        Rdtsc = 16 => "RDTSC",
        Rsm = 17 => "RSM",
        Vmcall = 18 => "VMCALL",
        Vmclear = 19 => "VMCLEAR",
        Vmlaunch = 20 => "VMLAUNCH",
        Vmptrld = 21 => "VMPTRLD",
        Vmptrst = 22 => "VMPTRST",
        Vmread = 23 => "VMREAD",
        Vmresume = 24 => "VMRESUME",
        Vmwrite = 25 => "VMWRITE",
        Vmxoff = 26 => "VMXOFF",
        Vmxon = 27 => "VMXON",
        CrAccess = 28 => "control-register access",
        DrAccess = 29 => "debug-register access",
        IoInstruction = 30 => "I/O instruction",
        Rdmsr = 31 => "RDMSR",
        Wrmsr = 32 => "WRMSR",
        EntryFailureGuestState = 33 => "VM-entry failure: invalid guest state",
        EntryFailureMsrLoading = 34 => "VM-entry failure: MSR loading",
        Mwait = 36 => "MWAIT",
        MonitorTrapFlag = 37 => "monitor trap flag",
        Monitor = 39 => "MONITOR",
        Pause = 40 => "PAUSE",
        EntryFailureMachineCheck = 41 => "VM-entry failure: machine check",
        TprBelowThreshold = 43 => "TPR below threshold",
        ApicAccess = 44 => "APIC access",
        VirtualizedEoi = 45 => "virtualized EOI",
        GdtrIdtrAccess = 46 => "GDTR or IDTR access",
        LdtrTrAccess = 47 => "LDTR or TR access",
        EptViolation = 48 => "EPT violation",
        EptMisconfiguration = 49 => "EPT misconfiguration",
        Invept = 50 => "INVEPT",
        Rdtscp = 51 => "RDTSCP",
        PreemptionTimer = 52 => "VMX-preemption timer",
        Invvpid = 53 => "INVVPID",
        Wbinvd = 54 => "WBINVD",
        Xsetbv = 55 => "XSETBV",
        ApicWrite = 56 => "APIC write",
        Rdrand = 57 => "RDRAND",
        Invpcid = 58 => "INVPCID",
        Vmfunc = 59 => "VMFUNC",
        Encls = 60 => "ENCLS",
        Rdseed = 61 => "RDSEED",
        PmlFull = 62 => "page-modification log full",
        Xsaves = 63 => "XSAVES",
        Xrstors = 64 => "XRSTORS",
        Pconfig = 65 => "PCONFIG",
        SppEvent = 66 => "SPP-related event",
        Umwait = 67 => "UMWAIT",
        Tpause = 68 => "TPAUSE",
        Loadiwkey = 69 => "LOADIWKEY",
        Enclv = 70 => "ENCLV",
        EnqcmdPasidFailure = 72 => "ENQCMD PASID translation failure",
        EnqcmdsPasidFailure = 73 => "ENQCMDS PASID translation failure",
        BusLock = 74 => "bus lock",
        InstructionTimeout = 75 => "instruction timeout",
        Seamcall = 76 => "SEAMCALL",
        Tdcall = 77 => "TDCALL",
        Rdmsrlist = 78 => "RDMSRLIST",
        Wrmsrlist = 79 => "WRMSRLIST",
    }
}

/// Bit 31 of the exit-reason field: the VM entry failed (SDM Vol. 3C §28.8).
pub const EXIT_REASON_ENTRY_FAILURE: u64 = 1 << 31;

impl ExitReason {
    /// The basic reason in an exit-reason field (its bits 15:0); `Err` holds a number
    /// this list does not know. (On every VM exit: inlined across the crate boundary.)
    #[inline]
    pub fn from_field(field: u64) -> Result<ExitReason, u16> {
        ExitReason::try_from(field as u16)
    }
}

/// The name of basic exit reason `reason` (an index into `HvStats::exits`).
pub fn exit_reason_name(reason: usize) -> Option<&'static str> {
    let n = u16::try_from(reason).ok()?;
    ExitReason::try_from(n).ok().map(ExitReason::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_fits_the_statistics_and_has_one_name() {
        let mut names = std::collections::BTreeSet::new();
        for &r in ExitReason::ALL {
            assert!((r.number() as usize) < EXIT_REASONS, "{r}");
            assert!(names.insert(r.name()), "{r} named twice");
            assert_eq!(ExitReason::try_from(r.number()), Ok(r));
        }
    }

    #[test]
    fn the_field_decodes_to_its_basic_reason() {
        assert_eq!(ExitReason::from_field(10), Ok(ExitReason::Cpuid));
        // Bit 31 (entry failure) and others above bit 15 do not change the basic reason.
        assert_eq!(
            ExitReason::from_field(EXIT_REASON_ENTRY_FAILURE | 33),
            Ok(ExitReason::EntryFailureGuestState)
        );
        assert_eq!(ExitReason::from_field(35), Err(35)); // not assigned
        assert_eq!(exit_reason_name(48), Some("EPT violation"));
        assert_eq!(exit_reason_name(1 << 20), None);
    }
}
