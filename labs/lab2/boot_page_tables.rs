//! LAB 2, part 1: the page tables the started CPU turns paging on with. Long mode
//! needs paging (SDM Vol. 3A §10.8.5 "Initializing IA-32e Mode"): the trampoline loads
//! CR3 with these tables' PML4 while still running from the start-up page, so they
//! must map that page at its own address (identity), and the RTOS's entry and boot
//! block too. Identity-mapping the first 4 GiB with 2 MiB pages covers all of it.
//!
//! Read first: SDM Vol. 3A §5.5 "4-Level Paging" (Figure 5-9 and Table 5-17: a PDE
//! that maps a 2 MiB page).

#[allow(unused_imports)]
use crate::rtos::BootPageTables;

/// Fills `t` so that virtual address = physical address for the first 4 GiB:
/// - `t.pml4.entries[0]` points to the PDPT (`t.pdpt.phys`), present and writable;
/// - `t.pdpt.entries[i]` (i = 0..4) points to the page directory `t.pds[i]`;
/// - each entry j of `t.pds[i]` maps the 2 MiB page at physical `(i * 512 + j) << 21`:
///   present (bit 0), writable (bit 1) and PS (bit 7, a 2 MiB page).
///
/// Every other entry of the PML4 and the PDPT must be 0 (not present).
pub fn build_boot_page_tables(t: &mut BootPageTables) {
    // LAB 2: write this function.
    let _ = t;
    todo!("LAB 2: boot_page_tables.rs: build_boot_page_tables (identity, 2 MiB pages)")
}
