//! LAB 2, part 1: the page tables the started CPU turns paging on with. Long mode
//! needs paging (SDM Vol. 3A §10.8.5 "Initializing IA-32e Mode"): the trampoline loads
//! CR3 with these tables' PML4 while still running from the start-up page, so they
//! must map that page at its own address (identity), and the RTOS's entry and boot
//! block too. Identity-mapping the first 4 GiB with 2 MiB pages covers all of it.

use crate::rtos::BootPageTables;

/// Present (bit 0), writable (bit 1), and PS (bit 7: a 2 MiB page in a directory).
const PRESENT_WRITABLE: u64 = 0b11;
const HUGE_PAGE: u64 = 1 << 7;
const TWO_MIB: u64 = 2 << 20;

// ANCHOR: build
/// Fills `t`: PML4[0] → PDPT; PDPT[i] → PD i (i < 4); PD i maps GiB i with 512
/// pages of 2 MiB, identity (physical = virtual).
pub fn build_boot_page_tables(t: &mut BootPageTables) {
    t.pml4.entries.fill(0);
    t.pdpt.entries.fill(0);
    t.pml4.entries[0] = t.pdpt.phys | PRESENT_WRITABLE;
    for (gib, pd) in t.pds.iter_mut().enumerate() {
        t.pdpt.entries[gib] = pd.phys | PRESENT_WRITABLE;
        for (i, entry) in pd.entries.iter_mut().enumerate() {
            let phys = (gib as u64 * 512 + i as u64) * TWO_MIB;
            *entry = phys | PRESENT_WRITABLE | HUGE_PAGE;
        }
    }
}
// ANCHOR_END: build
