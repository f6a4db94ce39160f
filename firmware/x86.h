/*
 * Architectural x86-64 constants used by hotmem-guest (Intel SDM Vol. 3A),
 * and the CPUID instruction for C. Safe to include from assembly.
 */
#pragma once

/* Control registers (SDM Vol. 3A 2.5). */
#define CR0_PE          0x00000001
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020

/* IA32_EFER (SDM Vol. 3A 2.2.1, Vol. 4 table 2-2). */
#define MSR_EFER        0xc0000080
#define EFER_LME        0x00000100

/* RFLAGS (SDM Vol. 1 3.4.3). Bit 1 is reserved and always set. */
#define RFLAGS_RESERVED 0x00000002
#define RFLAGS_IF       0x00000200
#define RFLAGS_IOPL3    0x00003000

/* Paging-structure entry bits, 4-level paging (SDM Vol. 3A 4.5, tables 4-14 to 4-20). */
#define PTE_P           0x001   /* present */
#define PTE_RW          0x002   /* writable */
#define PTE_US          0x004   /* user-mode accesses allowed */
#define PTE_PWT         0x008   /* page-level write-through */
#define PTE_PCD         0x010   /* page-level cache disable */
#define PTE_PS          0x080   /* in a PDE: maps a 2 MiB page */
#define PTE_TABLE       (PTE_P | PTE_RW | PTE_US)

#define PAGE_SIZE       0x1000
#define PAGE_SIZE_2M    0x200000
#define PAGE_SIZE_1G    0x40000000

/* #PF error code bits (SDM Vol. 3A 6.15, interrupt 14). */
#define PF_ERR_PRESENT  0x01

/* Gate descriptor types (SDM Vol. 3A 6.14.1). */
#define GATE_INTERRUPT  0xe

/* The 64-bit TSS is 104 bytes (SDM Vol. 3A 8.7, figure 8-11). */
#define TSS_SIZE        104

/* Local APIC and I/O APIC at their power-on MMIO addresses. */
#define LAPIC_BASE      0xfee00000
#define LAPIC_ID        0x020   /* SDM Vol. 3A 11.4.6 */
#define LAPIC_TPR       0x080   /* SDM Vol. 3A 11.8.3.1 */
#define LAPIC_EOI       0x0b0   /* SDM Vol. 3A 11.8.5 */
#define LAPIC_SVR       0x0f0   /* SDM Vol. 3A 11.9 */
#define LAPIC_SVR_ENABLE 0x100
#define IOAPIC_BASE     0xfec00000

#ifndef __ASSEMBLER__
#include <stdint.h>

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

/* CPUID with subleaf 0 (SDM Vol. 2A CPUID); allowed in ring 3. */
static inline struct cpuid_regs cpuid(uint32_t leaf)
{
    struct cpuid_regs r;

    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx),
                     "=d"(r.edx) : "a"(leaf), "c"(0));
    return r;
}
#endif
