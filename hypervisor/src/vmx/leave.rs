//! Leaving VMX on one CPU (the DISABLE hypercall, or a failed VMLAUNCH): the guest's
//! state, which the VMCS holds, goes back into the real registers, and the CPU continues
//! the guest's code on bare metal. Linux never notices that it was a guest.
//!
//! After RVM1.5's `LinuxContext`: [`LinuxContext::load_from_vmcs`] gathers everything
//! while the VMCS can still be read, then VMXOFF, then [`LinuxContext::restore`] puts
//! it back, system registers first and the general registers last, with IRETQ.

use core::arch::asm;
use core::mem::offset_of;

use x86::msr::{self, wrmsr};
use x86::vmx::vmcs::guest;
use x86_64::instructions::tables::{lgdt, lidt};
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use super::vmcs::read;
use crate::percpu::PerCpu;
use crate::regs::{GeneralRegisters, GENERAL_REGISTERS_SIZE};

/// What IRETQ pops in 64-bit mode, lowest address first (SDM Vol. 3A §6.14.4), after
/// the general registers that `pop_general_registers!` loads just before it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct ResumeFrame {
    regs: GeneralRegisters,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}
const _: () = assert!(offset_of!(ResumeFrame, rip) == GENERAL_REGISTERS_SIZE);

/// The segment selectors Linux had, to be loaded again.
#[derive(Debug, Clone, Copy)]
struct Selectors {
    ds: u16,
    es: u16,
    fs: u16,
    gs: u16,
    tr: u16,
    ldtr: u16,
}

/// Linux's state on this CPU, as the VMCS holds it.
struct LinuxContext {
    cr0: u64,
    cr3: u64,
    cr4: u64,
    efer: u64,
    pat: u64,
    sysenter: [u64; 3],
    gdt: DescriptorTablePointer,
    idt: DescriptorTablePointer,
    selectors: Selectors,
    fs_base: u64,
    gs_base: u64,
    frame: ResumeFrame,
}

impl LinuxContext {
    /// Reads the guest-state area, with `regs` as its general registers and RAX = `rax`.
    fn load_from_vmcs(regs: &GeneralRegisters, rax: u64) -> Self {
        let table = |base, limit| DescriptorTablePointer {
            limit: read(limit) as u16,
            base: VirtAddr::new(read(base)),
        };
        let selector = |field| read(field) as u16;
        let mut regs = *regs;
        regs.rax = rax;
        LinuxContext {
            cr0: read(guest::CR0),
            cr3: read(guest::CR3),
            cr4: read(guest::CR4),
            efer: read(guest::IA32_EFER_FULL),
            pat: read(guest::IA32_PAT_FULL),
            sysenter: [
                read(guest::IA32_SYSENTER_CS),
                read(guest::IA32_SYSENTER_ESP),
                read(guest::IA32_SYSENTER_EIP),
            ],
            gdt: table(guest::GDTR_BASE, guest::GDTR_LIMIT),
            idt: table(guest::IDTR_BASE, guest::IDTR_LIMIT),
            selectors: Selectors {
                ds: selector(guest::DS_SELECTOR),
                es: selector(guest::ES_SELECTOR),
                fs: selector(guest::FS_SELECTOR),
                gs: selector(guest::GS_SELECTOR),
                tr: selector(guest::TR_SELECTOR),
                ldtr: selector(guest::LDTR_SELECTOR),
            },
            fs_base: read(guest::FS_BASE),
            gs_base: read(guest::GS_BASE),
            frame: ResumeFrame {
                regs,
                rip: read(guest::RIP),
                cs: read(guest::CS_SELECTOR),
                rflags: read(guest::RFLAGS),
                rsp: read(guest::RSP),
                ss: read(guest::SS_SELECTOR),
            },
        }
    }

    /// Puts Linux's state back on this CPU (VMX off) and resumes it.
    ///
    /// # Safety
    /// VMX is off on this CPU, and `self` is the state Linux had: the hypervisor's
    /// code, stack and `gdt_scratch` stay mapped in Linux's page tables (the driver
    /// maps the whole range; the self-test identity-maps it).
    unsafe fn restore(&self, gdt_scratch: &mut [u8; 4096]) -> ! {
        self.restore_system_registers();
        self.restore_descriptor_tables(gdt_scratch);
        self.restore_data_segments();
        self.resume()
    }

    unsafe fn restore_system_registers(&self) {
        asm!("mov cr4, {}", in(reg) self.cr4 & !super::CR4_VMXE, options(nostack));
        asm!("mov cr3, {}", in(reg) self.cr3, options(nostack));
        asm!("mov cr0, {}", in(reg) self.cr0, options(nostack));
        wrmsr(msr::IA32_EFER, self.efer);
        wrmsr(msr::IA32_PAT, self.pat);
        wrmsr(msr::IA32_SYSENTER_CS, self.sysenter[0]);
        wrmsr(msr::IA32_SYSENTER_ESP, self.sysenter[1]);
        wrmsr(msr::IA32_SYSENTER_EIP, self.sysenter[2]);
    }

    /// GDTR, TR, IDTR and LDTR. LTR faults on a descriptor marked busy, and Linux's is
    /// (its TR is loaded), while Linux keeps its GDT read-only. So: load TR from a copy
    /// of the GDT with the busy bit cleared, then switch to the real GDT; TR keeps what
    /// it loaded.
    unsafe fn restore_descriptor_tables(&self, gdt_scratch: &mut [u8; 4096]) {
        let len = (self.gdt.limit as usize + 1).min(gdt_scratch.len());
        core::ptr::copy_nonoverlapping(
            self.gdt.base.as_u64() as *const u8,
            gdt_scratch.as_mut_ptr(),
            len,
        );
        let tss_type = &mut gdt_scratch[(self.selectors.tr as usize & !7) + 5];
        *tss_type &= !0x2; // type 1011b (busy 64-bit TSS) -> 1001b (available)
        lgdt(&DescriptorTablePointer {
            limit: self.gdt.limit,
            base: VirtAddr::from_ptr(gdt_scratch.as_ptr()),
        });
        asm!("ltr {0:x}", in(reg) self.selectors.tr, options(nostack));
        lgdt(&self.gdt);
        lidt(&self.idt);
        asm!("lldt {0:x}", in(reg) self.selectors.ldtr, options(nostack));
    }

    /// DS, ES, FS, GS; loading FS and GS reset their bases: the 64-bit ones follow.
    unsafe fn restore_data_segments(&self) {
        let s = self.selectors;
        asm!("mov ds, {0:x}", "mov es, {1:x}", "mov fs, {2:x}", "mov gs, {3:x}",
             in(reg) s.ds, in(reg) s.es, in(reg) s.fs, in(reg) s.gs, options(nostack));
        wrmsr(msr::IA32_FS_BASE, self.fs_base);
        wrmsr(msr::IA32_GS_BASE, self.gs_base);
    }

    /// The general registers, then IRETQ: SS:RSP, RFLAGS and CS:RIP at once.
    unsafe fn resume(&self) -> ! {
        asm!(
            "mov rsp, {frame}",
            pop_general_registers!(),
            "iretq",
            frame = in(reg) &self.frame,
            options(noreturn),
        )
    }
}

/// Restores the guest's state on this CPU and jumps to it with RAX = `rax`.
pub fn leave_vmx(regs: &GeneralRegisters, cpu: &mut PerCpu, rax: u64) -> ! {
    let linux = LinuxContext::load_from_vmcs(regs, rax);
    let dropped = super::nmi::drop_pending(cpu.cpu as usize);
    if dropped != 0 {
        baremetal::println!("[hv] cpu {}: {dropped} NMI(s) lost on leaving VMX", cpu.cpu);
    }
    crate::depart();
    super::vmx_off();
    // SAFETY: VMX is off, and `linux` is the state the guest had (see restore()).
    unsafe { linux.restore(&mut cpu.gdt_scratch) }
}
