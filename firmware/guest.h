/*
 * hotmem-guest's own fixed layout: segment selectors, interrupt vectors, the
 * ring-0 entry points at fixed addresses, the system call numbers and
 * the exception frame handed to the ring-3 reporter. Safe to include from
 * assembly. See docs/guest-console.md for the ring-0/ring-3 split.
 */
#pragma once

/* GDT selectors (entry.S). Ring-3 selectors carry RPL 3. */
#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_DATA   0x1b
#define SEL_USER_CODE   0x23
#define SEL_TSS         0x28

/* Ring 3 runs with IOPL=3 (see also the TSS I/O bitmap) and IF=0. */
#define USER_RFLAGS     (RFLAGS_RESERVED | RFLAGS_IOPL3)

/*
 * The ".lowcore" section is linked at the load address. Its entry points sit
 * at fixed offsets so that the IDT and the TSS descriptor in the GDT are
 * assembled as constants: ring 0 (emulated on the development machines, about
 * 0.6 M instructions/s) spends no instructions building them.
 */
#define LOWCORE_BASE            0x100000
#define LOWCORE_EXC_ENTRY(v)     ((v) * 16)  /* exception vectors 0..31 */
#define LOWCORE_IRQ             0x200       /* every external interrupt */
#define LOWCORE_SPURIOUS        0x220       /* LAPIC spurious vector */
#define LOWCORE_SYSCALL         0x240       /* int3 / int 0x80 */
#define LOWCORE_GED             0x280       /* GED interrupt (GSI 9) */
#define LOWCORE_TSS             0x300       /* TSS + I/O bitmap, to 0x2369 */
#define TSS_ADDR                (LOWCORE_BASE + LOWCORE_TSS)

/*
 * The TSS carries an all-zero I/O permission bitmap for all 65536 ports plus
 * its 0xff terminator byte (SDM Vol. 1 19.5.2). IOPL=3 alone would allow
 * ring-3 port I/O, but kvm_pvm drops IOPL from guest ring-3 RFLAGS while it
 * honours the bitmap (measured).
 */
#define TSS_IO_BITMAP_SIZE      (65536 / 8)
#define TSS_LIMIT               (TSS_SIZE + TSS_IO_BITMAP_SIZE)  /* incl. 0xff */

/* Interrupt vectors. */
#define VEC_BREAKPOINT          3       /* int3: the syscall gate, see below */
#define VEC_DOUBLE_FAULT        8
#define VEC_PAGE_FAULT          14
#define VEC_SERIAL              0x24    /* IOAPIC pin 4 (COM1) */
#define VEC_GED                 0x29    /* IOAPIC pin 9 (GED), level */
#define VEC_SYSCALL             0x80
#define VEC_SPURIOUS            0xff
#define IST_DOUBLE_FAULT        1       /* #DF runs on its own stack */

/*
 * System calls from ring 3: number in rax, result in rax (-1: unknown
 * number). Ring 3 enters with int3: under kvm_pvm every "int n" other than
 * int3 raises #UD in guest ring 3 (measured), so the #BP gate (DPL 3) is the
 * syscall gate. Vector 0x80 has the same DPL-3 gate for other hosts.
 */
#define SYS_IDLE                0       /* sti; hlt; cli: wait for an interrupt */
#define SYS_TRIPLE_FAULT        1       /* test hook: never returns */
#define SYS_RING0_BENCH         2       /* timed ring-0 loop (bench_ring0.c) */

/* struct exception_frame (exception.h) field offsets, for lowcore.S. */
#define FRAME_RAX       0
#define FRAME_RBX       8
#define FRAME_RCX       16
#define FRAME_RDX       24
#define FRAME_RSI       32
#define FRAME_RDI       40
#define FRAME_RBP       48
#define FRAME_R8        56
#define FRAME_R9        64
#define FRAME_R10       72
#define FRAME_R11       80
#define FRAME_R12       88
#define FRAME_R13       96
#define FRAME_R14       104
#define FRAME_R15       112
#define FRAME_VECTOR    120
#define FRAME_ERROR     128
#define FRAME_RIP       136
#define FRAME_CS        144
#define FRAME_RFLAGS    152
#define FRAME_RSP       160
#define FRAME_SS        168
#define FRAME_CR2       176
#define FRAME_SIZE      184

/* Stack sizes (bytes). */
#define RING0_STACK_SIZE        8192
#define DF_STACK_SIZE           4096
#define USER_STACK_SIZE         32768
#define REPORT_STACK_SIZE       8192
