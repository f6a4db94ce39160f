/*
 * 8259A PIC masking, local APIC enable (Intel SDM Vol. 3A chapter 11) and
 * I/O APIC redirection (Intel 82093AA I/O APIC datasheet, 3.2).
 */
#include "apic.h"

#include "io.h"
#include "x86.h"

/* 8259A interrupt mask registers (OCW1) of the master and slave PICs. */
#define PIC_MASTER_IMR  0x21
#define PIC_SLAVE_IMR   0xa1

/* I/O APIC: indirect register access through IOREGSEL/IOWIN. */
#define IOAPIC_IOREGSEL     0x00
#define IOAPIC_IOWIN        0x10
#define IOAPIC_REDTBL(pin)  (0x10 + 2 * (pin))  /* low dword; high is +1 */

/* Redirection entry low dword: delivery mode fixed (000), physical
 * destination, active high, edge triggered, not masked: all zero bits. */
#define IOREDTBL_FIXED_EDGE_HIGH 0x00000000
#define IOREDTBL_LEVEL           0x00008000     /* bit 15: trigger mode */

void pic_mask_all(void)
{
    outb(PIC_MASTER_IMR, 0xff);
    outb(PIC_SLAVE_IMR, 0xff);
}

void lapic_enable(uint8_t spurious_vector)
{
    mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);    /* accept every priority class */
    mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | spurious_vector);
}

uint8_t lapic_id(void)
{
    return mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24;   /* xAPIC: bits 31:24 */
}

static void ioapic_write(uint32_t reg, uint32_t value)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, reg);
    mmio_write32(IOAPIC_BASE + IOAPIC_IOWIN, value);
}

static void route(unsigned pin, uint32_t mode, uint8_t vector,
                  uint8_t dest_apic_id)
{
    /* Destination first, so the entry is never live with a stale one. */
    ioapic_write(IOAPIC_REDTBL(pin) + 1, (uint32_t)dest_apic_id << 24);
    ioapic_write(IOAPIC_REDTBL(pin), mode | vector);
}

void ioapic_route(unsigned pin, uint8_t vector, uint8_t dest_apic_id)
{
    route(pin, IOREDTBL_FIXED_EDGE_HIGH, vector, dest_apic_id);
}

/*
 * A level-triggered entry sets Remote IRR on delivery and clears it on the
 * EOI the local APIC broadcasts; if the line is still high then, the I/O APIC
 * delivers again (82093AA datasheet, 3.2.4). So the handler must lower the
 * line (acknowledge the device) before its EOI.
 */
void ioapic_route_level(unsigned pin, uint8_t vector, uint8_t dest_apic_id)
{
    route(pin, IOREDTBL_FIXED_EDGE_HIGH | IOREDTBL_LEVEL, vector,
          dest_apic_id);
}
