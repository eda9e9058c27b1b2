//! The checks of the two Bochs 3.0 bugs, on the boot CPU sending to itself:
//! - SENDUIPI takes its UITT index from the register its ModRM.rm names (RAX, RDX,
//!   R9; and RAX at two code addresses), upstream issue #730;
//! - an SDM-correct handler (`add rsp, 8; uiret`) returns to the interrupted code
//!   with every register, RSP and the flags intact, upstream issue #729.

use core::sync::atomic::Ordering;

use crate::report::{Report, ShowExit};
use crate::ring3::{self, Exit, UserRegs};
use crate::uintr::{self, user_vector, ENTRIES, SELF, STACK_ADJUST};
use crate::user::{self, U_COUNT, U_HITS, U_LAST_VECTOR};

const BOOT_CPU: usize = 0;

#[derive(Clone, Copy)]
enum Reg {
    Rax,
    Rdx,
    R9,
}

/// The SENDUIPI programs: what the report calls them, the code, the index register.
const SENDERS: [(&str, unsafe extern "C" fn(), Reg); 4] = [
    ("senduipi rax (address A)", user::user_send_rax_a, Reg::Rax),
    ("senduipi rax (address B)", user::user_send_rax_b, Reg::Rax),
    ("senduipi rdx", user::user_send_rdx, Reg::Rdx),
    ("senduipi r9", user::user_send_r9, Reg::R9),
];

/// (a) Each program sends three times; each time the named register holds another of
/// the three self entries and the two other registers hold the other two, so reading
/// any other register posts a different vector.
pub fn senduipi_index(report: &mut Report) {
    for (name, program, reg) in SENDERS {
        let mut good = 0;
        let mut first_bad = None;
        for turn in 0..SELF.len() {
            let [named, other1, other2] = core::array::from_fn(|i| SELF[(turn + i) % SELF.len()]);
            let (rax, rdx, r9) = match reg {
                Reg::Rax => (named, other1, other2),
                Reg::Rdx => (other1, named, other2),
                Reg::R9 => (other1, other2, named),
            };
            let regs = UserRegs {
                rax,
                rdx,
                r9,
                rdi: 1, // wait for the one delivery
                ..UserRegs::default()
            };
            match send_once(program, regs, named) {
                Ok(()) => good += 1,
                Err(bad) => {
                    first_bad.get_or_insert((named, bad));
                }
            }
        }
        let address = program as *const () as u64;
        match first_bad {
            None => report.check(
                "senduipi-index",
                true,
                format_args!("{name} at {address:#x}: {good}/3 sends posted the vector of the index in that register"),
            ),
            Some((index, bad)) => report.check(
                "senduipi-index",
                false,
                format_args!("{name} at {address:#x}: {good}/3 right; index {index} (vector {}): {bad}", user_vector(index)),
            ),
        }
    }
}

/// What one send delivered, when it was not exactly the expected vector once.
struct Bad {
    count: u64,
    last_vector: u64,
    exit: Exit,
}

impl core::fmt::Display for Bad {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        let index = ENTRIES
            .iter()
            .position(|&(uv, _)| uv as u64 == self.last_vector);
        match (self.count, index) {
            (0, _) => write!(f, "nothing delivered"),
            (n, Some(i)) => write!(
                f,
                "{n} deliveries, last vector {} (index {i})",
                self.last_vector
            ),
            (n, None) => write!(f, "{n} deliveries, last vector {}", self.last_vector),
        }?;
        write!(f, "; the sender {}", ShowExit(self.exit))
    }
}

/// Runs one SENDUIPI program. The check is about the entry SENDUIPI picked: exactly
/// one delivery, of the vector of `index`. How the handler returned is (b)'s business
/// (the report shows it).
fn send_once(program: unsafe extern "C" fn(), regs: UserRegs, index: u64) -> Result<(), Bad> {
    uintr::reset(BOOT_CPU);
    user::clear_records();
    let exit = ring3::run(BOOT_CPU, program, regs);
    let count = U_COUNT.load(Ordering::SeqCst);
    let last_vector = U_LAST_VECTOR.load(Ordering::SeqCst);
    let expected = user_vector(index) as u64;
    if count == 1
        && last_vector == expected
        && U_HITS[expected as usize].load(Ordering::SeqCst) == 1
    {
        Ok(())
    } else {
        Err(Bad {
            count,
            last_vector,
            exit,
        })
    }
}

/// Rounds of the register loop.
const ROUNDS: u64 = 1000;

/// (b) The register loop: ROUNDS self-notifications, each checked after the
/// handler's UIRET; then the last frame delivery pushed.
pub fn uiret_frame(report: &mut Report) {
    uintr::reset(BOOT_CPU);
    user::clear_records();
    let regs = UserRegs {
        rax: SELF[1],
        rdi: ROUNDS,
        ..UserRegs::default()
    };
    let exit = ring3::run(BOOT_CPU, user::user_register_loop, regs);
    let ok = user::U_LOOP_OK.load(Ordering::SeqCst);
    let done = user::U_LOOP_DONE.load(Ordering::SeqCst);
    report.check(
        "uiret-sdm-handler",
        matches!(exit, Exit::Syscall(_)) && ok == ROUNDS,
        format_args!(
            "`add rsp, 8; uiret` returned with all 15 registers, RSP and CF intact {ok}/{ROUNDS} \
             ({done} rounds ran; the loop {})",
            ShowExit(exit)
        ),
    );
    delivery_frame(report);
}

/// The last frame of the register loop: RIP in the code after SENDUIPI (the SDM
/// fixes no exact instruction: on Bochs the self-IPI is accepted at the next
/// instruction boundary and delivered at the one after), RSP = the interrupted RSP,
/// the frame below RSP - STACKADJUST and 16-byte aligned (SDM, user-interrupt
/// delivery).
fn delivery_frame(report: &mut Report) {
    let rip = user::U_LAST_RIP.load(Ordering::SeqCst);
    let rsp = user::U_LAST_RSP.load(Ordering::SeqCst);
    let frame = user::U_LAST_FRAME.load(Ordering::SeqCst);
    let saved_rsp = user::U_SAVED_RSP.load(Ordering::SeqCst);
    let after_send = user::user_register_loop_after_send as *const () as u64;
    let end = user::user_register_loop_end as *const () as u64;
    let expected_frame = ((saved_rsp - STACK_ADJUST) & !15) - 32;
    report.check(
        "delivery-frame",
        (after_send..end).contains(&rip) && rsp == saved_rsp && frame == expected_frame,
        format_args!(
            "pushed rip={rip:#x} ({} bytes after senduipi, inside the loop's checks up to \
             {end:#x}), rsp={rsp:#x} (interrupted: {saved_rsp:#x}), frame at {frame:#x} \
             (expected {expected_frame:#x}: STACKADJUST {STACK_ADJUST}, 16-byte aligned)",
            rip.wrapping_sub(after_send)
        ),
    );
}
