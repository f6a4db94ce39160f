/*
 * Ring-0 interrupt and exception entry, the IDT and the TSS.
 *
 * Ring 0 is emulated on the development machines (about 0.6 M
 * instructions/s), so ring 0 does as little as possible:
 *   - external interrupts: EOI to the local APIC and return (5 instructions);
 *   - the GED interrupt: read-and-clear the event register, remember the
 *     events for ring 3, EOI, return (10 instructions);
 *   - syscall (int3, see guest.h) SYS_IDLE: sti; hlt; cli; return;
 *   - #PF on a not-present page of the device-memory window: install the
 *     2 MiB identity mapping (paging_fault_in) and return;
 *   - any other exception: save the state into exception_frame and iretq to
 *     the ring-3 reporter (exception.c), which formats it natively.
 *
 * The entry points live at fixed offsets in .lowcore (linked at LOWCORE_BASE)
 * so the IDT below is assembled as constants.
 */
#include <hotmem/guest-abi.h>
#include "acpi_hw.h"
#include "guest.h"
#include "x86.h"

    .section .lowcore, "awx"
    .code64
    .globl lowcore_start
lowcore_start:

/*
 * Exception entry points, 16 bytes apart. The CPU pushes an error code only for
 * some vectors (SDM Vol. 3A 6.15); the entries push a 0 for the others so that
 * exception_common sees one layout: vector, error, rip, cs, rflags, rsp, ss.
 */
.macro exception_entry vec, has_error
    .org LOWCORE_EXC_ENTRY(\vec)
    .if \has_error == 0
    pushq   $0
    .endif
    pushq   $\vec
    jmp     exception_common
.endm

    exception_entry 0, 0     /* #DE */
    exception_entry 1, 0     /* #DB */
    exception_entry 2, 0     /* NMI */
    exception_entry 3, 0     /* #BP (unused: vector 3 is the syscall gate) */
    exception_entry 4, 0     /* #OF */
    exception_entry 5, 0     /* #BR */
    exception_entry 6, 0     /* #UD */
    exception_entry 7, 0     /* #NM */
    exception_entry 8, 1     /* #DF */
    exception_entry 9, 0     /* coprocessor segment overrun */
    exception_entry 10, 1    /* #TS */
    exception_entry 11, 1    /* #NP */
    exception_entry 12, 1    /* #SS */
    exception_entry 13, 1    /* #GP */
    exception_entry 14, 1    /* #PF */
    exception_entry 15, 0
    exception_entry 16, 0    /* #MF */
    exception_entry 17, 1    /* #AC */
    exception_entry 18, 0    /* #MC */
    exception_entry 19, 0    /* #XM */
    exception_entry 20, 0    /* #VE */
    exception_entry 21, 1    /* #CP */
    exception_entry 22, 0
    exception_entry 23, 0
    exception_entry 24, 0
    exception_entry 25, 0
    exception_entry 26, 0
    exception_entry 27, 0
    exception_entry 28, 0    /* #HV */
    exception_entry 29, 1    /* #VC */
    exception_entry 30, 1    /* #SX */
    exception_entry 31, 0

/*
 * External interrupts (any vector 32..254 but the syscall): the devices are
 * serviced from ring 3 by polling after the wake-up, so ring 0 only signals
 * end of interrupt (SDM Vol. 3A 11.8.5). The MMIO address is above 2 GiB,
 * hence movabs rather than a sign-extended disp32.
 */
    .org LOWCORE_IRQ
irq_entry:
    pushq   %rax
    xorl    %eax, %eax
    movabsl %eax, LAPIC_BASE + LAPIC_EOI
    popq    %rax
    iretq

/* Spurious interrupts must not be EOI'd (SDM Vol. 3A 11.9). */
    .org LOWCORE_SPURIOUS
spurious_entry:
    iretq

/*
 * System calls (int3 or int 0x80, see guest.h) arrive through DPL-3 interrupt
 * gates, so IF is already 0 here. SYS_IDLE opens the interrupt window only
 * across hlt: sti delays interrupts by one instruction (SDM Vol. 2B STI), so
 * an interrupt that became pending while ring 3 ran with IF=0 ends the hlt
 * at once instead of being lost.
 */
    .org LOWCORE_SYSCALL
syscall_entry:
    cmpq    $SYS_IDLE, %rax
    jne     1f
    sti
    hlt
    cli
    iretq
1:  cmpq    $SYS_TRIPLE_FAULT, %rax
    jne     2f
    /*
     * With an IDT limit of 0 no gate can be read: #UD becomes #GP, then #DF,
     * then shutdown (SDM Vol. 3A 6.15, interrupt 8, table 6-5).
     */
    lidt    null_idt_ptr(%rip)
    ud2
2:  cmpq    $SYS_RING0_BENCH, %rax
    je      ring0_bench_entry
    movq    $-1, %rax
    iretq

/*
 * The Generic Event Device's level-triggered GSI 9 (docs/acpi.md). Reading
 * the event register returns and clears the latched events and lowers the
 * line, so it must come before the EOI: with the line still high, the EOI
 * would make the I/O APIC deliver again at once. The events are ORed into
 * ged_pending for ring 3 (ospm.c), which runs with IF=0 and so can read and
 * clear the word without racing this handler.
 */
    .org LOWCORE_GED
ged_entry:
    pushq   %rax
    pushq   %rdx
    movl    $GED_EVENT_PORT, %edx
    inl     %dx, %eax
    orl     %eax, ged_pending(%rip)
    xorl    %eax, %eax
    movabsl %eax, LAPIC_BASE + LAPIC_EOI
    popq    %rdx
    popq    %rax
    iretq

/* 64-bit TSS, SDM Vol. 3A 8.7 figure 8-11. Only RSP0 and IST1 are used. */
    .org LOWCORE_TSS
tss:
    .long 0                     /* reserved */
    .quad ring0_stack_top       /* RSP0: stack for interrupts from ring 3 */
    .quad 0                     /* RSP1 */
    .quad 0                     /* RSP2 */
    .quad 0                     /* reserved */
    .quad df_stack_top          /* IST1: #DF */
    .fill 6, 8, 0               /* IST2..IST7 */
    .quad 0                     /* reserved */
    .word 0                     /* reserved */
    .word TSS_SIZE              /* I/O map base: the bitmap follows */
    .fill TSS_IO_BITMAP_SIZE, 1, 0  /* every port allowed to ring 3 */
    .byte 0xff                  /* required terminator (SDM Vol. 1 19.5.2) */
tss_end:
    .if tss_end - tss - TSS_LIMIT - 1
    .error "TSS size"
    .endif

    .text
exception_common:
    cmpq    $VEC_PAGE_FAULT, (%rsp)
    jne     exception_save
    testb   $PF_ERR_PRESENT, 8(%rsp)
    jnz     exception_save
    /* Not-present #PF: maybe the device-memory window. Save caller-saved registers. */
    pushq   %rax
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    movq    %cr2, %rdi
    call    paging_fault_in
    testl   %eax, %eax
    popq    %r11                /* pops leave the flags alone */
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rax
    jz      exception_save
    addq    $16, %rsp           /* vector, error code */
    iretq

exception_save:
    /* A fault while reporting a fault: give up without a report. */
    cmpb    $0, exception_active(%rip)
    jne     exception_nested
    movb    $1, exception_active(%rip)

    movq    %rax, exception_frame + FRAME_RAX(%rip)
    movq    %rbx, exception_frame + FRAME_RBX(%rip)
    movq    %rcx, exception_frame + FRAME_RCX(%rip)
    movq    %rdx, exception_frame + FRAME_RDX(%rip)
    movq    %rsi, exception_frame + FRAME_RSI(%rip)
    movq    %rdi, exception_frame + FRAME_RDI(%rip)
    movq    %rbp, exception_frame + FRAME_RBP(%rip)
    movq    %r8, exception_frame + FRAME_R8(%rip)
    movq    %r9, exception_frame + FRAME_R9(%rip)
    movq    %r10, exception_frame + FRAME_R10(%rip)
    movq    %r11, exception_frame + FRAME_R11(%rip)
    movq    %r12, exception_frame + FRAME_R12(%rip)
    movq    %r13, exception_frame + FRAME_R13(%rip)
    movq    %r14, exception_frame + FRAME_R14(%rip)
    movq    %r15, exception_frame + FRAME_R15(%rip)
    popq    exception_frame + FRAME_VECTOR(%rip)
    popq    exception_frame + FRAME_ERROR(%rip)
    popq    exception_frame + FRAME_RIP(%rip)
    popq    exception_frame + FRAME_CS(%rip)
    popq    exception_frame + FRAME_RFLAGS(%rip)
    popq    exception_frame + FRAME_RSP(%rip)
    popq    exception_frame + FRAME_SS(%rip)
    movq    %cr2, %rax
    movq    %rax, exception_frame + FRAME_CR2(%rip)

    /* Format the report natively: exception_report(&exception_frame) in ring 3. */
    leaq    exception_frame(%rip), %rdi
    pushq   $SEL_USER_DATA
    pushq   $(report_stack_top - 8)
    pushq   $USER_RFLAGS
    pushq   $SEL_USER_CODE
    pushq   $exception_report
    iretq

exception_nested:
    movb    $HOTMEM_POWER_PANIC, %al
    movw    $HOTMEM_POWER_PORT, %dx
    outb    %al, %dx
1:  cli
    hlt
    jmp     1b

    .data
/* The IDT (SDM Vol. 3A 6.14.1): 256 interrupt gates, all constants. */
.macro gate offset, dpl, ist
    .word (LOWCORE_BASE + \offset) & 0xffff     /* offset 15:0 */
    .word SEL_KERNEL_CODE
    .byte \ist
    .byte 0x80 | (\dpl << 5) | GATE_INTERRUPT   /* present, DPL, type */
    .word (LOWCORE_BASE + \offset) >> 16        /* offset 31:16 */
    .long 0                                     /* offset 63:32 */
    .long 0
.endm

    .balign 16
idt:
    .set idt_vector, 0
    .rept 256
    .if idt_vector == VEC_BREAKPOINT || idt_vector == VEC_SYSCALL
    gate LOWCORE_SYSCALL, 3, 0
    .elseif idt_vector == VEC_DOUBLE_FAULT
    gate LOWCORE_EXC_ENTRY(idt_vector), 0, IST_DOUBLE_FAULT
    .elseif idt_vector < 32
    gate LOWCORE_EXC_ENTRY(idt_vector), 0, 0
    .elseif idt_vector == VEC_SPURIOUS
    gate LOWCORE_SPURIOUS, 0, 0
    .elseif idt_vector == VEC_GED
    gate LOWCORE_GED, 0, 0
    .else
    gate LOWCORE_IRQ, 0, 0
    .endif
    .set idt_vector, idt_vector + 1
    .endr
idt_end:

    .balign 8
    .globl idt_ptr
idt_ptr:
    .word idt_end - idt - 1
    .quad idt
null_idt_ptr:
    .word 0
    .quad 0

    .bss
    .balign 16
    .globl ged_pending
ged_pending:
    .skip 4
    .balign 16
    .globl exception_frame
exception_frame:
    .skip FRAME_SIZE
exception_active:
    .skip 1
    .balign 16
df_stack:
    .skip DF_STACK_SIZE
df_stack_top:
report_stack:
    .skip REPORT_STACK_SIZE
report_stack_top:

    .section .note.GNU-stack, "", @progbits
