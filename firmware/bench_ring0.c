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
#include "io.h"
#include "print.h"
#include "syscall.h"

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

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The same loop in ring 3; returns the TSC delta. */
static uint64_t ring3_loop(void)
{
    uint64_t t0 = rdtsc(), scratch = 0, mix = 0;
    uint32_t n = RING0_BENCH_LOOPS;

    __asm__ volatile("1: addq $1, %0\n"
                     "   xorq %0, %1\n"
                     "   decl %2\n"
                     "   jnz 1b\n"
                     : "+r"(scratch), "+r"(mix), "+r"(n));
    return rdtsc() - t0;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]),
                     "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* i8254 channel 2 with its gate on port 0x61 (the PC speaker port). */
#define PIT_HZ          1193182ULL
#define PIT_CH2_DATA    0x42
#define PIT_MODE        0x43
#define PIT_CH2_MODE0   0xb0    /* channel 2, lobyte/hibyte, mode 0 */
#define PORT_B          0x61
#define PORT_B_GATE2    0x01
#define PORT_B_SPEAKER  0x02
#define PORT_B_OUT2     0x20
#define PIT_CAL_MS      50

/*
 * Counts TSC ticks while channel 2 counts down PIT_CAL_MS milliseconds in
 * mode 0 (its output rises at terminal count). 0 if it never rises.
 */
static uint64_t tsc_khz_from_pit(void)
{
    uint16_t count = (uint16_t)(PIT_HZ * PIT_CAL_MS / 1000);
    uint64_t t0, t1, spins = 0;

    outb(PORT_B, (inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2);
    outb(PIT_MODE, PIT_CH2_MODE0);
    outb(PIT_CH2_DATA, (uint8_t)count);
    outb(PIT_CH2_DATA, (uint8_t)(count >> 8));
    t0 = rdtsc();
    while (!(inb(PORT_B) & PORT_B_OUT2)) {
        if (++spins > 100000000)
            return 0;
    }
    t1 = rdtsc();
    return (t1 - t0) / PIT_CAL_MS;
}

/* TSC frequency: CPUID 0x15 (crystal ratio), the hypervisor's 0x40000010
 * timing leaf, else calibrated against the PIT. */
static uint64_t tsc_khz(const char **source)
{
    uint32_t r[4], max;

    cpuid(0, r);
    max = r[0];
    if (max >= 0x15) {
        cpuid(0x15, r);
        if (r[0] && r[1] && r[2]) {
            *source = "cpuid-15";
            return (uint64_t)r[2] * r[1] / r[0] / 1000;
        }
    }
    cpuid(0x40000000, r);
    if (r[0] >= 0x40000010 && r[0] < 0x40010000) {
        cpuid(0x40000010, r);
        if (r[0]) {
            *source = "cpuid-40000010";
            return r[0];
        }
    }
    *source = "pit";
    return tsc_khz_from_pit();
}

/* Tenths of MIPS for insns instructions in cycles TSC ticks at khz. */
static uint64_t mips_x10(uint64_t insns, uint64_t cycles, uint64_t khz)
{
    return cycles ? insns * khz / 100 / cycles : 0;
}

void cmd_ring0_mips(const struct boot_info *info, const struct command *cmd,
                    char *args)
{
    const char *source = "none";
    uint64_t khz = tsc_khz(&source);
    uint64_t ring0 = (uint64_t)syscall0(SYS_RING0_BENCH);
    uint64_t ring3 = ring3_loop();
    uint64_t m0 = mips_x10(RING0_BENCH_INSNS, ring0, khz);
    uint64_t m3 = mips_x10(RING0_BENCH_INSNS, ring3, khz);

    if (!khz) {
        print_line("error ring0-mips: no TSC frequency (CPUID 0x15, "
                   "0x40000010 and the PIT all failed)");
        return;
    }
    print_line("ring0 mips=%lu.%lu ring3-mips=%lu.%lu insns=%u "
               "ring0-cycles=%lu ring3-cycles=%lu tsc-khz=%lu tsc-source=%s",
               m0 / 10, m0 % 10, m3 / 10, m3 % 10, RING0_BENCH_INSNS, ring0,
               ring3, khz, source);
}
