//! Hypercall numbers: `VMCALL` with RAX = number, RDI/RSI/RDX = arguments, the result
//! in RAX (a negative [`Errno`](crate::Errno) on error). The C side is
//! `enum crtos_hypercall` in driver/include/crtos.h (checked by a host test).

numeric_enum! {
    /// What a `VMCALL` asks the hypervisor for (its RAX).
    pub enum HypercallCode: u64 {
        /// Leave VMX on the calling CPU and return it to bare metal.
        Disable = 0 => "DISABLE",
        /// Start the RTOS on a CPU Linux gave up (lab 2): RDI = that CPU (Linux's
        /// number), RSI = guest-virtual address of a
        /// [`StartRequest`](crate::rtos::StartRequest).
        StartRtos = 1 => "START_RTOS",
        /// Notify the other cell (lab 3).
        Notify = 2 => "NOTIFY",
        /// The version in RAX; with RDI != 0, also [`HvStats`](crate::HvStats) written
        /// at guest-virtual address RDI.
        Query = 3 => "QUERY",
        /// Stop the RTOS: its CPU is reset (INIT) and waits for Linux to start it
        /// again (lab 2). RAX = the CPU's Linux number.
        StopRtos = 4 => "STOP_RTOS",
    }
}
