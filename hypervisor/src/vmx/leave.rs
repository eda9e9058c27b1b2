//! Leaving VMX on one CPU (the DISABLE hypercall, or a failed VMLAUNCH): the guest's
//! state, which the VMCS holds, goes back into the real registers, and the CPU continues
//! the guest's code on bare metal. Linux never notices that it was a guest.

use core::arch::asm;

use x86::msr::{self, wrmsr};
use x86::vmx::vmcs::guest;
use x86_64::instructions::tables::{lgdt, lidt};
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use super::vcpu::GeneralRegisters;
use super::vmcs::read;
use crate::percpu::PerCpu;

/// Restores the guest's state on this CPU and jumps to it with RAX = `rax`.
pub fn leave_vmx(regs: &GeneralRegisters, cpu: &mut PerCpu, rax: u64) -> ! {
    let g = |f| read(f);
    let (cr0, cr3, cr4) = (g(guest::CR0), g(guest::CR3), g(guest::CR4));
    let (rip, rsp, rflags) = (g(guest::RIP), g(guest::RSP), g(guest::RFLAGS));
    let (cs, ss, ds, es) = (
        g(guest::CS_SELECTOR),
        g(guest::SS_SELECTOR),
        g(guest::DS_SELECTOR),
        g(guest::ES_SELECTOR),
    );
    let (fs, gs, tr, ldtr) = (
        g(guest::FS_SELECTOR),
        g(guest::GS_SELECTOR),
        g(guest::TR_SELECTOR),
        g(guest::LDTR_SELECTOR),
    );
    let (fs_base, gs_base) = (g(guest::FS_BASE), g(guest::GS_BASE));
    let gdt = DescriptorTablePointer {
        limit: g(guest::GDTR_LIMIT) as u16,
        base: VirtAddr::new(g(guest::GDTR_BASE)),
    };
    let idt = DescriptorTablePointer {
        limit: g(guest::IDTR_LIMIT) as u16,
        base: VirtAddr::new(g(guest::IDTR_BASE)),
    };
    let (efer, pat) = (g(guest::IA32_EFER_FULL), g(guest::IA32_PAT_FULL));
    let sysenter = [
        g(guest::IA32_SYSENTER_CS),
        g(guest::IA32_SYSENTER_ESP),
        g(guest::IA32_SYSENTER_EIP),
    ];
    let mut frame = *regs;
    frame.rax = rax;

    crate::depart();
    // SAFETY: we restore exactly the state the guest had; the hypervisor's code, stack
    // and this PerCpu stay mapped in the guest's page tables (the driver maps the whole
    // range; the self-test identity-maps it), so execution goes on after CR3 changes.
    unsafe {
        x86::bits64::vmx::vmxoff().expect("VMXOFF");
        asm!("mov cr4, {}", in(reg) cr4 & !(1 << 13), options(nostack)); // VMXE off
        asm!("mov cr3, {}", in(reg) cr3, options(nostack));
        asm!("mov cr0, {}", in(reg) cr0, options(nostack));
        wrmsr(msr::IA32_EFER, efer);
        wrmsr(msr::IA32_PAT, pat);
        wrmsr(msr::IA32_SYSENTER_CS, sysenter[0]);
        wrmsr(msr::IA32_SYSENTER_ESP, sysenter[1]);
        wrmsr(msr::IA32_SYSENTER_EIP, sysenter[2]);

        // LTR faults on a descriptor marked busy, and the guest's is (its TR is loaded),
        // while Linux keeps its GDT read-only. So: load TR from a copy of the guest's GDT
        // with the busy bit cleared, then switch to the real GDT; TR keeps what it loaded.
        let len = (gdt.limit as usize + 1).min(cpu.gdt_scratch.len());
        core::ptr::copy_nonoverlapping(
            gdt.base.as_u64() as *const u8,
            cpu.gdt_scratch.as_mut_ptr(),
            len,
        );
        let tss_type = &mut cpu.gdt_scratch[(tr as usize & !7) + 5];
        *tss_type &= !0x2; // type 1011b (busy 64-bit TSS) -> 1001b (available)
        lgdt(&DescriptorTablePointer {
            limit: gdt.limit,
            base: VirtAddr::from_ptr(cpu.gdt_scratch.as_ptr()),
        });
        asm!("ltr {0:x}", in(reg) tr as u16, options(nostack));
        lgdt(&gdt);
        lidt(&idt);
        asm!("lldt {0:x}", in(reg) ldtr as u16, options(nostack));
        asm!("mov ds, {0:x}", "mov es, {1:x}", "mov fs, {2:x}", "mov gs, {3:x}",
             in(reg) ds as u16, in(reg) es as u16, in(reg) fs as u16, in(reg) gs as u16, options(nostack));
        // Loading FS and GS reset their bases: restore the 64-bit ones.
        wrmsr(msr::IA32_FS_BASE, fs_base);
        wrmsr(msr::IA32_GS_BASE, gs_base);

        // IRETQ loads SS:RSP, RFLAGS and CS:RIP at once; the GPRs come just before.
        asm!(
            "push {ss}",
            "push {rsp}",
            "push {rflags}",
            "push {cs}",
            "push {rip}",
            "mov rax, [rdi + 0 * 8]",
            "mov rcx, [rdi + 1 * 8]",
            "mov rdx, [rdi + 2 * 8]",
            "mov rbx, [rdi + 3 * 8]",
            "mov rbp, [rdi + 5 * 8]",
            "mov rsi, [rdi + 6 * 8]",
            "mov r8,  [rdi + 8 * 8]",
            "mov r9,  [rdi + 9 * 8]",
            "mov r10, [rdi + 10 * 8]",
            "mov r11, [rdi + 11 * 8]",
            "mov r12, [rdi + 12 * 8]",
            "mov r13, [rdi + 13 * 8]",
            "mov r14, [rdi + 14 * 8]",
            "mov r15, [rdi + 15 * 8]",
            "mov rdi, [rdi + 7 * 8]",
            "iretq",
            ss = in(reg) ss,
            rsp = in(reg) rsp,
            rflags = in(reg) rflags,
            cs = in(reg) cs,
            rip = in(reg) rip,
            in("rdi") &frame as *const GeneralRegisters,
            options(noreturn),
        );
    }
}
