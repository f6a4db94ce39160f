/* Exception report, formatted in ring 3 (see exception.h). */
#include "exception.h"

#include <stddef.h>

#include <hotmem/guest-abi.h>

#include "guest.h"
#include "io.h"
#include "print.h"
#include "syscall.h"

_Static_assert(offsetof(struct exception_frame, rbp) == FRAME_RBP, "frame");
_Static_assert(offsetof(struct exception_frame, r15) == FRAME_R15, "frame");
_Static_assert(offsetof(struct exception_frame, vector) == FRAME_VECTOR, "frame");
_Static_assert(offsetof(struct exception_frame, ss) == FRAME_SS, "frame");
_Static_assert(offsetof(struct exception_frame, cr2) == FRAME_CR2, "frame");
_Static_assert(sizeof(struct exception_frame) == FRAME_SIZE, "frame");

/* Mnemonics of SDM Vol. 3A table 6-1 (and AMD's #VC, #SX, #HV). */
static const char *const exception_names[32] = {
    [0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF",
    [5] = "#BR", [6] = "#UD", [7] = "#NM", [8] = "#DF",
    [9] = "coprocessor-segment-overrun", [10] = "#TS", [11] = "#NP",
    [12] = "#SS", [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC",
    [18] = "#MC", [19] = "#XM", [20] = "#VE", [21] = "#CP", [28] = "#HV",
    [29] = "#VC", [30] = "#SX",
};

void exception_report(const struct exception_frame *f)
{
    const char *name = f->vector < 32 ? exception_names[f->vector] : 0;

    print_line("exception %s vector=%lu error=0x%lx ring=%lu",
               name ? name : "reserved", f->vector, f->error, f->cs & 3);
    print_line("  rip=0x%lx cs=0x%lx rflags=0x%lx rsp=0x%lx ss=0x%lx cr2=0x%lx",
               f->rip, f->cs, f->rflags, f->rsp, f->ss, f->cr2);
    print_line("  rax=0x%lx rbx=0x%lx rcx=0x%lx rdx=0x%lx",
               f->rax, f->rbx, f->rcx, f->rdx);
    print_line("  rsi=0x%lx rdi=0x%lx rbp=0x%lx r8=0x%lx",
               f->rsi, f->rdi, f->rbp, f->r8);
    print_line("  r9=0x%lx r10=0x%lx r11=0x%lx r12=0x%lx",
               f->r9, f->r10, f->r11, f->r12);
    print_line("  r13=0x%lx r14=0x%lx r15=0x%lx", f->r13, f->r14, f->r15);
    print_line("panic: unhandled exception");
    outb(HOTMEM_POWER_PORT, HOTMEM_POWER_PANIC);
    /* Only reached without a power port device (e.g. under plain QEMU). */
    for (;;)
        sys_idle();
}
