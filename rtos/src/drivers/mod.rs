//! The devices the RTOS drives: its console UART, the TSC (its clock) and the local
//! APIC timer (its only interrupt source).

#[macro_use]
pub mod console;
pub mod apic_timer;
pub mod tsc;
