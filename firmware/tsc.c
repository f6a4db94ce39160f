/*
 * The TSC frequency, first that works: CPUID 0x15 (TSC/crystal ratio times
 * the crystal frequency), CPUID 0x16 (processor base MHz), the hypervisor
 * timing leaf 0x40000010 (TSC kHz, the VMware/KVM convention, trusted only
 * with CPUID.1:ECX.hypervisor set), else calibration against channel 2 of the
 * 8254 PIT (1.193182 MHz) over 200 ms, which is what hotmem's KVM offers (its
 * CPUID has none of the leaves). Each PIT read costs a port-I/O exit (~50 us
 * here), i.e. ~0.05% of the window.
 */
#include "tsc.h"

#include "io.h"
#include "x86.h"

/* CPUID.1:ECX bit 31: always 0 on hardware (SDM Vol. 2A table 3-10), set by
 * hypervisors, which own leaves 0x40000000 and up. */
#define CPUID1_ECX_HYPERVISOR   0x80000000u
#define HV_LEAF_BASE            0x40000000u
#define HV_LEAF_TIMING          0x40000010u

/* i8254 channel 2, gated through port 0x61 (the PC speaker port). */
#define PIT_HZ              1193182ULL
#define PIT_CH2_DATA        0x42
#define PIT_MODE_CMD        0x43
#define PIT_CH2_MODE0_LOHI  0xb0    /* channel 2, lobyte/hibyte, mode 0 */
#define PIT_CH2_LATCH       0x80
#define PORT_B              0x61
#define PORT_B_GATE2        0x01
#define PORT_B_SPEAKER      0x02
#define CALIBRATE_TICKS     (PIT_HZ / 5)
/* Reads without the count moving before the PIT counts as absent. */
#define PIT_STUCK_READS     1000000u

static uint64_t tsc_hz_from_cpuid(const char **source)
{
    struct cpuid_regs r = cpuid(0);
    uint32_t max = r.eax;

    if (max >= 0x15) {
        r = cpuid(0x15);
        if (r.eax && r.ebx && r.ecx) {
            *source = "cpuid-15";
            return (uint64_t)r.ecx * r.ebx / r.eax;
        }
    }
    if (max >= 0x16) {
        r = cpuid(0x16);
        if (r.eax & 0xffff) {
            *source = "cpuid-16";
            return (uint64_t)(r.eax & 0xffff) * 1000000;
        }
    }
    if (!(cpuid(1).ecx & CPUID1_ECX_HYPERVISOR))
        return 0;
    r = cpuid(HV_LEAF_BASE);
    if (r.eax >= HV_LEAF_TIMING && r.eax < 0x40010000) {
        r = cpuid(HV_LEAF_TIMING);
        if (r.eax) {
            *source = "cpuid-40000010";
            return (uint64_t)r.eax * 1000;
        }
    }
    return 0;
}

/* Latches and reads the channel 2 count; *tsc is taken at the latch. */
static uint16_t pit_read(uint64_t *tsc)
{
    uint8_t lo, hi;

    outb(PIT_MODE_CMD, PIT_CH2_LATCH);
    *tsc = tsc_read();
    lo = inb(PIT_CH2_DATA);
    hi = inb(PIT_CH2_DATA);
    return (uint16_t)(hi << 8 | lo);
}

/*
 * Mode 0 counts down from 0xffff at PIT_HZ and wraps; polled every few
 * hundred microseconds, no wrap is missed (one lasts 55 ms). Counting the
 * ticks actually seen between two latches, rather than waiting for the
 * output to rise, keeps the poll interval out of the result. 0 if the count
 * never moves (no PIT).
 */
static uint64_t tsc_hz_from_pit(void)
{
    uint8_t port_b = inb(PORT_B);
    uint64_t ticks = 0, t0, t;
    uint32_t stuck = 0;
    uint16_t prev, now;

    outb(PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2);
    outb(PIT_MODE_CMD, PIT_CH2_MODE0_LOHI);
    outb(PIT_CH2_DATA, 0xff);
    outb(PIT_CH2_DATA, 0xff);
    prev = pit_read(&t0);
    t = t0;
    while (ticks < CALIBRATE_TICKS && stuck < PIT_STUCK_READS) {
        now = pit_read(&t);
        stuck = now == prev ? stuck + 1 : 0;
        ticks += (uint16_t)(prev - now);
        prev = now;
    }
    outb(PORT_B, port_b);
    return ticks < CALIBRATE_TICKS ? 0 : (t - t0) * PIT_HZ / ticks;
}

uint64_t tsc_hz(const char **source)
{
    static uint64_t hz;
    static const char *how;

    if (!hz) {
        how = "pit";
        hz = tsc_hz_from_cpuid(&how);
        if (!hz)
            hz = tsc_hz_from_pit();
    }
    *source = how;
    return hz;
}
