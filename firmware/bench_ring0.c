/*
 * ring0-mips: how fast this host runs guest kernel code. Ring 0 runs a fixed
 * loop of simple instructions between two RDTSCs (SYS_RING0_BENCH, entered
 * through the syscall gate in lowcore.S); ring 3 turns the TSC delta into
 * millions of instructions per second and runs the same loop itself for
 * comparison. Tests use the figure to decide whether a full Linux boot is
 * feasible here (docs/linux.md): kvm_pvm emulates guest ring 0 at well under
 * 1 MIPS, hardware virtualization runs it natively.
 */
#include "bench_ring0.h"

#include "guest.h"
#include "print.h"
#include "syscall.h"
#include "tsc.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/*
 * Ring 0, interrupts off (the gate cleared IF). Only rax is returned: the
 * other registers are restored, as ring 3's syscall0() expects. The loop is
 * add, xor, dec, jnz: RING0_BENCH_INSNS instructions in all.
 */
__asm__(
    ".pushsection .text\n"
    ".globl ring0_bench_entry\n"
    "ring0_bench_entry:\n"
    "    pushq %rcx\n"
    "    pushq %rdx\n"
    "    pushq %rsi\n"
    "    pushq %rdi\n"
    "    rdtsc\n"
    "    shlq $32, %rdx\n"
    "    orq %rdx, %rax\n"
    "    movq %rax, %rsi\n"
    "    movl $" STR(RING0_BENCH_LOOPS) ", %ecx\n"
    "1:  addq $1, %rdi\n"
    "    xorq %rdi, %rdx\n"
    "    decl %ecx\n"
    "    jnz 1b\n"
    "    rdtsc\n"
    "    shlq $32, %rdx\n"
    "    orq %rdx, %rax\n"
    "    subq %rsi, %rax\n"
    "    popq %rdi\n"
    "    popq %rsi\n"
    "    popq %rdx\n"
    "    popq %rcx\n"
    "    iretq\n"
    ".popsection\n");

/* The same loop in ring 3; returns the TSC delta. */
static uint64_t ring3_loop(void)
{
    uint64_t t0 = tsc_read(), scratch = 0, mix = 0;
    uint32_t n = RING0_BENCH_LOOPS;

    __asm__ volatile("1: addq $1, %0\n"
                     "   xorq %0, %1\n"
                     "   decl %2\n"
                     "   jnz 1b\n"
                     : "+r"(scratch), "+r"(mix), "+r"(n));
    return tsc_read() - t0;
}

/* Tenths of MIPS for insns instructions in cycles TSC ticks at khz. */
static uint64_t mips_x10(uint64_t insns, uint64_t cycles, uint64_t khz)
{
    return cycles ? insns * khz / 100 / cycles : 0;
}

void cmd_ring0_mips(const struct boot_info *info, const struct command *cmd,
                    char *args)
{
    const char *source;
    uint64_t khz = tsc_hz(&source) / 1000;
    uint64_t ring0 = (uint64_t)syscall0(SYS_RING0_BENCH);
    uint64_t ring3 = ring3_loop();
    uint64_t m0 = mips_x10(RING0_BENCH_INSNS, ring0, khz);
    uint64_t m3 = mips_x10(RING0_BENCH_INSNS, ring3, khz);

    if (!khz) {
        print_line("error ring0-mips: no TSC frequency (CPUID 0x15, 0x16, "
                   "0x40000010 and the PIT all failed)");
        return;
    }
    print_line("ring0 mips=%lu.%lu ring3-mips=%lu.%lu insns=%u "
               "ring0-cycles=%lu ring3-cycles=%lu tsc-khz=%lu tsc-source=%s",
               m0 / 10, m0 % 10, m3 / 10, m3 % 10, RING0_BENCH_INSNS, ring0,
               ring3, khz, source);
}
