/*
 * ACPI tables for a hardware-reduced x86 platform (ACPI 6.5 chapter 5.2):
 * RSDP, XSDT, FADT, MADT, SRAT (tables_srat.c) and DSDT, laid out in one
 * blob for a fixed guest-physical address.
 *
 * The tables whose contents do not depend on addresses (MADT, SRAT, DSDT)
 * are built first; then every table is placed, and the ones holding
 * pointers (RSDP, XSDT, FADT) are built with the final addresses.
 */
#include "acpi/tables.h"

#include <string.h>

#include "acpi/tables_writer.h"
#include "errors.h"

#define ACPI_OEM_ID             "HOTMEM"    /* 6 bytes */
#define ACPI_OEM_TABLE_ID       "HOTMEMVM"  /* 8 bytes */
#define ACPI_OEM_REVISION       1
#define ACPI_CREATOR_ID         "HTMM"      /* 4 bytes */
#define ACPI_CREATOR_REVISION   1

#define ACPI_HEADER_LEN         36          /* 5.2.6 */
#define ACPI_HEADER_LENGTH_OFF  4           /* 5.2.6 Length */
#define ACPI_HEADER_CSUM_OFF    9           /* 5.2.6 Checksum */

/* 5.2.5.3 RSDP structure. */
#define RSDP_LEN                36
#define RSDP_V1_LEN             20          /* covered by Checksum */
#define RSDP_CSUM_OFF           8
#define RSDP_EXT_CSUM_OFF       32

/* 5.2.9 FADT, revision 6 minor 5 (ACPI 6.5). */
#define FADT_REVISION           6
#define FADT_MINOR_VERSION      5
#define FADT_LEN                276
/* 5.2.9.3 IA-PC Boot Architecture Flags. */
#define FADT_IAPC_VGA_NOT_PRESENT       (1u << 2)
#define FADT_IAPC_CMOS_RTC_NOT_PRESENT  (1u << 5)
/* 5.2.9 Table "Fixed ACPI Description Table Fixed Feature Flags". */
#define FADT_F_PWR_BUTTON       (1u << 4)   /* power button is a device */
#define FADT_F_SLP_BUTTON       (1u << 5)   /* no fixed sleep button */
#define FADT_F_RESET_REG_SUP    (1u << 10)
#define FADT_F_HW_REDUCED_ACPI  (1u << 20)

/* 5.2.3.2 Generic Address Structure. */
#define GAS_SPACE_SYSTEM_IO     1
#define GAS_ACCESS_BYTE         1

/* 5.2.12 MADT, revision 5. */
#define MADT_REVISION           5
#define MADT_PCAT_COMPAT        (1u << 0)
#define MADT_TYPE_LOCAL_APIC    0           /* 5.2.12.2 */
#define MADT_TYPE_IO_APIC       1           /* 5.2.12.3 */
#define MADT_TYPE_IRQ_OVERRIDE  2           /* 5.2.12.5 */
#define MADT_TYPE_LOCAL_X2APIC  9           /* 5.2.12.12 */
#define MADT_LOCAL_APIC_LEN     8
#define MADT_IO_APIC_LEN        12
#define MADT_IRQ_OVERRIDE_LEN   10
#define MADT_LOCAL_X2APIC_LEN   16
#define MADT_LAPIC_ENABLED      (1u << 0)   /* Table "Local APIC Flags" */

#define XSDT_REVISION           1           /* 5.2.8 */
#define DSDT_REVISION           2           /* 5.2.11.1: 64-bit integers */

enum table_index { T_RSDP, T_XSDT, T_FADT, T_MADT, T_SRAT, T_DSDT, T_COUNT };

static const char *const table_signature[T_COUNT] = {
    [T_RSDP] = "RSDP", [T_XSDT] = "XSDT", [T_FADT] = "FACP",
    [T_MADT] = "APIC", [T_SRAT] = "SRAT", [T_DSDT] = "DSDT",
};

/* Where every table goes; a table with len 0 is absent. */
struct table_plan {
    GByteArray *bytes[T_COUNT];
    size_t len[T_COUNT];
    size_t offset[T_COUNT];
    uint64_t addr[T_COUNT];
    size_t total;
};

/* --- Little-endian writer --- */

void acpi_put_u8(GByteArray *t, uint8_t v)
{
    g_byte_array_append(t, &v, 1);
}

void acpi_put_u16(GByteArray *t, uint16_t v)
{
    acpi_put_u8(t, v & 0xff);
    acpi_put_u8(t, v >> 8);
}

void acpi_put_u32(GByteArray *t, uint32_t v)
{
    acpi_put_u16(t, v & 0xffff);
    acpi_put_u16(t, v >> 16);
}

void acpi_put_u64(GByteArray *t, uint64_t v)
{
    acpi_put_u32(t, v & 0xffffffffu);
    acpi_put_u32(t, v >> 32);
}

void acpi_put_chars(GByteArray *t, const char *s, size_t width)
{
    size_t n = MIN(strlen(s), width);

    g_byte_array_append(t, (const uint8_t *)s, n);
    acpi_put_zeros(t, width - n);
}

void acpi_put_zeros(GByteArray *t, size_t n)
{
    size_t old = t->len;

    g_byte_array_set_size(t, old + n);
    memset(t->data + old, 0, n);
}

void acpi_set_u32(GByteArray *t, size_t offset, uint32_t v)
{
    g_assert(offset + 4 <= t->len);
    for (unsigned i = 0; i < 4; i++)
        t->data[offset + i] = (v >> (8 * i)) & 0xff;
}

/* --- Checksums and the common header --- */

uint8_t acpi_checksum(const uint8_t *data, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum += data[i];
    return sum;
}

void acpi_checksum_fix(uint8_t *data, size_t len, size_t checksum_offset)
{
    g_assert(checksum_offset < len);
    data[checksum_offset] = 0;
    data[checksum_offset] = (uint8_t)(0x100 - acpi_checksum(data, len));
}

/* 5.2.6 System Description Table Header. */
GByteArray *acpi_table_begin(const char *signature, uint8_t revision)
{
    GByteArray *t = g_byte_array_new();

    acpi_put_chars(t, signature, 4);                /* Signature */
    acpi_put_u32(t, 0);                             /* Length (patched) */
    acpi_put_u8(t, revision);                       /* Revision */
    acpi_put_u8(t, 0);                              /* Checksum (patched) */
    acpi_put_chars(t, ACPI_OEM_ID, 6);              /* OEMID */
    acpi_put_chars(t, ACPI_OEM_TABLE_ID, 8);        /* OEM Table ID */
    acpi_put_u32(t, ACPI_OEM_REVISION);             /* OEM Revision */
    acpi_put_chars(t, ACPI_CREATOR_ID, 4);          /* Creator ID */
    acpi_put_u32(t, ACPI_CREATOR_REVISION);         /* Creator Revision */
    return t;
}

void acpi_table_finish(GByteArray *t)
{
    acpi_set_u32(t, ACPI_HEADER_LENGTH_OFF, t->len);
    acpi_checksum_fix(t->data, t->len, ACPI_HEADER_CSUM_OFF);
}

/* --- RSDP and XSDT --- */

/* 5.2.5.3 Root System Description Pointer, revision 2. */
static GByteArray *rsdp_build(uint64_t xsdt_addr)
{
    GByteArray *t = g_byte_array_new();

    acpi_put_chars(t, "RSD PTR ", 8);               /* Signature */
    acpi_put_u8(t, 0);                              /* Checksum (patched) */
    acpi_put_chars(t, ACPI_OEM_ID, 6);              /* OEMID */
    acpi_put_u8(t, 2);                              /* Revision */
    acpi_put_u32(t, 0);                             /* RsdtAddress: none */
    acpi_put_u32(t, RSDP_LEN);                      /* Length */
    acpi_put_u64(t, xsdt_addr);                     /* XsdtAddress */
    acpi_put_u8(t, 0);                              /* Extended Checksum */
    acpi_put_zeros(t, 3);                           /* Reserved */
    /* The ACPI 1.0 checksum covers the first 20 bytes; the extended one
     * covers everything, including the first checksum. */
    acpi_checksum_fix(t->data, RSDP_V1_LEN, RSDP_CSUM_OFF);
    acpi_checksum_fix(t->data, RSDP_LEN, RSDP_EXT_CSUM_OFF);
    return t;
}

/* 5.2.8 Extended System Description Table: every table but the DSDT,
 * which OSPM finds through FADT.X_DSDT. */
static GByteArray *xsdt_build(const struct table_plan *p)
{
    GByteArray *t = acpi_table_begin("XSDT", XSDT_REVISION);

    for (unsigned i = T_FADT; i < T_DSDT; i++) {
        if (p->len[i])
            acpi_put_u64(t, p->addr[i]);            /* Entry */
    }
    acpi_table_finish(t);
    return t;
}

static size_t xsdt_len(const struct table_plan *p)
{
    size_t n = 0;

    for (unsigned i = T_FADT; i < T_DSDT; i++)
        n += p->len[i] != 0;
    return ACPI_HEADER_LEN + 8 * n;
}

/* --- FADT --- */

/* 5.2.3.2 Generic Address Structure for one byte-wide I/O port. */
static void put_gas_io_byte(GByteArray *t, uint16_t port)
{
    acpi_put_u8(t, GAS_SPACE_SYSTEM_IO);            /* Address Space ID */
    acpi_put_u8(t, 8);                              /* Register Bit Width */
    acpi_put_u8(t, 0);                              /* Register Bit Offset */
    acpi_put_u8(t, GAS_ACCESS_BYTE);                /* Access Size */
    acpi_put_u64(t, port);                          /* Address */
}

static void put_gas_none(GByteArray *t)
{
    acpi_put_zeros(t, 12);                          /* 5.2.3.2: not present */
}

/* 5.2.9 FADT bytes 36..131: the legacy fixed-hardware description, all
 * zero on a hardware-reduced platform except the flags. */
static void fadt_put_legacy(GByteArray *t)
{
    acpi_put_u32(t, 0);                             /* FIRMWARE_CTRL */
    acpi_put_u32(t, 0);                             /* DSDT: X_DSDT used */
    acpi_put_u8(t, 0);                              /* Reserved */
    acpi_put_u8(t, 0);                              /* Preferred_PM_Profile */
    acpi_put_u16(t, 0);                             /* SCI_INT */
    acpi_put_u32(t, 0);                             /* SMI_CMD */
    acpi_put_u8(t, 0);                              /* ACPI_ENABLE */
    acpi_put_u8(t, 0);                              /* ACPI_DISABLE */
    acpi_put_u8(t, 0);                              /* S4BIOS_REQ */
    acpi_put_u8(t, 0);                              /* PSTATE_CNT */
    acpi_put_u32(t, 0);                             /* PM1a_EVT_BLK */
    acpi_put_u32(t, 0);                             /* PM1b_EVT_BLK */
    acpi_put_u32(t, 0);                             /* PM1a_CNT_BLK */
    acpi_put_u32(t, 0);                             /* PM1b_CNT_BLK */
    acpi_put_u32(t, 0);                             /* PM2_CNT_BLK */
    acpi_put_u32(t, 0);                             /* PM_TMR_BLK */
    acpi_put_u32(t, 0);                             /* GPE0_BLK */
    acpi_put_u32(t, 0);                             /* GPE1_BLK */
    acpi_put_u8(t, 0);                              /* PM1_EVT_LEN */
    acpi_put_u8(t, 0);                              /* PM1_CNT_LEN */
    acpi_put_u8(t, 0);                              /* PM2_CNT_LEN */
    acpi_put_u8(t, 0);                              /* PM_TMR_LEN */
    acpi_put_u8(t, 0);                              /* GPE0_BLK_LEN */
    acpi_put_u8(t, 0);                              /* GPE1_BLK_LEN */
    acpi_put_u8(t, 0);                              /* GPE1_BASE */
    acpi_put_u8(t, 0);                              /* CST_CNT */
    acpi_put_u16(t, 0);                             /* P_LVL2_LAT */
    acpi_put_u16(t, 0);                             /* P_LVL3_LAT */
    acpi_put_u16(t, 0);                             /* FLUSH_SIZE */
    acpi_put_u16(t, 0);                             /* FLUSH_STRIDE */
    acpi_put_u8(t, 0);                              /* DUTY_OFFSET */
    acpi_put_u8(t, 0);                              /* DUTY_WIDTH */
    acpi_put_u8(t, 0);                              /* DAY_ALRM */
    acpi_put_u8(t, 0);                              /* MON_ALRM */
    acpi_put_u8(t, 0);                              /* CENTURY */
    acpi_put_u16(t, FADT_IAPC_VGA_NOT_PRESENT |
                    FADT_IAPC_CMOS_RTC_NOT_PRESENT); /* IAPC_BOOT_ARCH */
    acpi_put_u8(t, 0);                              /* Reserved */
    acpi_put_u32(t, FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
                    FADT_F_RESET_REG_SUP |
                    FADT_F_HW_REDUCED_ACPI);        /* Flags */
    put_gas_io_byte(t, ACPI_RESET_PORT);            /* RESET_REG */
    acpi_put_u8(t, ACPI_RESET_VALUE);               /* RESET_VALUE */
    acpi_put_u16(t, 0);                             /* ARM_BOOT_ARCH */
    acpi_put_u8(t, FADT_MINOR_VERSION);             /* FADT Minor Version */
}

/* 5.2.9 Fixed ACPI Description Table. Hardware-reduced (4.1): no PM1/GPE
 * blocks, no SCI, no FACS; poweroff through the sleep registers (4.8.3.7)
 * and reboot through the reset register (4.8.3.6). */
static GByteArray *fadt_build(uint64_t dsdt_addr)
{
    GByteArray *t = acpi_table_begin("FACP", FADT_REVISION);

    fadt_put_legacy(t);
    acpi_put_u64(t, 0);                             /* X_FIRMWARE_CTRL */
    acpi_put_u64(t, dsdt_addr);                     /* X_DSDT */
    put_gas_none(t);                                /* X_PM1a_EVT_BLK */
    put_gas_none(t);                                /* X_PM1b_EVT_BLK */
    put_gas_none(t);                                /* X_PM1a_CNT_BLK */
    put_gas_none(t);                                /* X_PM1b_CNT_BLK */
    put_gas_none(t);                                /* X_PM2_CNT_BLK */
    put_gas_none(t);                                /* X_PM_TMR_BLK */
    put_gas_none(t);                                /* X_GPE0_BLK */
    put_gas_none(t);                                /* X_GPE1_BLK */
    put_gas_io_byte(t, ACPI_SLEEP_CTL_PORT);        /* SLEEP_CONTROL_REG */
    put_gas_io_byte(t, ACPI_SLEEP_STS_PORT);        /* SLEEP_STATUS_REG */
    acpi_put_chars(t, "HOTMEM", 8);                 /* Hypervisor Vendor
                                                       Identity */
    g_assert(t->len == FADT_LEN);
    acpi_table_finish(t);
    return t;
}

/* --- MADT --- */

/* 5.2.12.2 Processor Local APIC Structure. */
static void madt_put_local_apic(GByteArray *t, uint8_t uid, uint8_t apic_id)
{
    acpi_put_u8(t, MADT_TYPE_LOCAL_APIC);           /* Type */
    acpi_put_u8(t, MADT_LOCAL_APIC_LEN);            /* Length */
    acpi_put_u8(t, uid);                            /* ACPI Processor UID */
    acpi_put_u8(t, apic_id);                        /* APIC ID */
    acpi_put_u32(t, MADT_LAPIC_ENABLED);            /* Flags */
}

/* 5.2.12.12 Processor Local x2APIC Structure. */
static void madt_put_local_x2apic(GByteArray *t, uint32_t uid,
                                  uint32_t x2apic_id)
{
    acpi_put_u8(t, MADT_TYPE_LOCAL_X2APIC);         /* Type */
    acpi_put_u8(t, MADT_LOCAL_X2APIC_LEN);          /* Length */
    acpi_put_u16(t, 0);                             /* Reserved */
    acpi_put_u32(t, x2apic_id);                     /* X2APIC ID */
    acpi_put_u32(t, MADT_LAPIC_ENABLED);            /* Flags */
    acpi_put_u32(t, uid);                           /* ACPI Processor UID */
}

/* 5.2.12.3 I/O APIC Structure. */
static void madt_put_io_apic(GByteArray *t)
{
    acpi_put_u8(t, MADT_TYPE_IO_APIC);              /* Type */
    acpi_put_u8(t, MADT_IO_APIC_LEN);               /* Length */
    acpi_put_u8(t, ACPI_IOAPIC_ID);                 /* I/O APIC ID */
    acpi_put_u8(t, 0);                              /* Reserved */
    acpi_put_u32(t, ACPI_IOAPIC_ADDR);              /* I/O APIC Address */
    acpi_put_u32(t, 0);                             /* Global System
                                                       Interrupt Base */
}

/* 5.2.12.5 Interrupt Source Override Structure. */
static void madt_put_irq_override(GByteArray *t, uint8_t irq, uint32_t gsi,
                                  uint16_t flags)
{
    acpi_put_u8(t, MADT_TYPE_IRQ_OVERRIDE);         /* Type */
    acpi_put_u8(t, MADT_IRQ_OVERRIDE_LEN);          /* Length */
    acpi_put_u8(t, 0);                              /* Bus: ISA */
    acpi_put_u8(t, irq);                            /* Source */
    acpi_put_u32(t, gsi);                           /* Global System
                                                       Interrupt */
    acpi_put_u16(t, flags);                         /* Flags (MPS INTI) */
}

/* 5.2.12 Multiple APIC Description Table. vCPU i has APIC id i and ACPI
 * processor UID i. PCAT_COMPAT stays set: KVM's in-kernel irqchip has the
 * dual 8259s, and the flag tells the OS to mask them. */
static GByteArray *madt_build(const struct acpi_config *cfg)
{
    GByteArray *t = acpi_table_begin("APIC", MADT_REVISION);

    acpi_put_u32(t, ACPI_LAPIC_ADDR);               /* Local Interrupt
                                                       Controller Address */
    acpi_put_u32(t, MADT_PCAT_COMPAT);              /* Flags */
    for (unsigned i = 0; i < cfg->cpus; i++) {
        if (i < ACPI_XAPIC_ID_LIMIT)
            madt_put_local_apic(t, i, i);
        else
            madt_put_local_x2apic(t, i, i);
    }
    madt_put_io_apic(t);
    /* The PIT's ISA IRQ 0 reaches I/O APIC pin 2; conforming polarity and
     * trigger mode (flags 0). */
    madt_put_irq_override(t, 0, 2, 0);
    acpi_table_finish(t);
    return t;
}

/* --- DSDT --- */

/* 5.2.11.1 Differentiated System Description Table: the header and the
 * machine's AML definition block body. */
static GByteArray *dsdt_build(const struct acpi_config *cfg)
{
    GByteArray *t = acpi_table_begin("DSDT", DSDT_REVISION);

    if (cfg->dsdt_body_len)
        g_byte_array_append(t, cfg->dsdt_body, cfg->dsdt_body_len);
    acpi_table_finish(t);
    return t;
}

/* --- Placement and assembly --- */

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Lays the present tables out in enum order: the RSDP on a 16-byte
 * boundary (5.2.5.1), the others on 8 bytes. */
static void plan_place(struct table_plan *p, uint64_t base)
{
    uint64_t addr = base;

    for (unsigned i = 0; i < T_COUNT; i++) {
        if (!p->len[i])
            continue;
        addr = align_up(addr, i == T_RSDP ? 16 : 8);
        p->addr[i] = addr;
        p->offset[i] = addr - base;
        addr += p->len[i];
    }
    p->total = addr - base;
}

static void plan_free(struct table_plan *p)
{
    for (unsigned i = 0; i < T_COUNT; i++) {
        if (p->bytes[i])
            g_byte_array_unref(p->bytes[i]);
    }
}

static void set_too_big(GError **err, const char *what, uint64_t size,
                        uint64_t base)
{
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "ACPI tables (%s) need 0x%" G_GINT64_MODIFIER "x bytes, more "
                "than the 0x%llx bytes (ACPI_TABLES_MAX) reserved for them "
                "at 0x%" G_GINT64_MODIFIER "x", what, size, ACPI_TABLES_MAX,
                base);
}

static void assemble(const struct table_plan *p, uint64_t base,
                     struct acpi_tables *out)
{
    out->base = base;
    out->rsdp_addr = p->addr[T_RSDP];
    out->data = g_byte_array_sized_new(p->total);
    g_byte_array_set_size(out->data, p->total);
    memset(out->data->data, 0, p->total);
    out->tables = g_array_new(FALSE, TRUE, sizeof(struct acpi_table_blob));
    for (unsigned i = 0; i < T_COUNT; i++) {
        struct acpi_table_blob b = { .addr = p->addr[i],
                                     .offset = p->offset[i],
                                     .len = p->len[i] };

        if (!p->len[i])
            continue;
        g_assert(p->bytes[i]->len == p->len[i]);
        memcpy(out->data->data + b.offset, p->bytes[i]->data, b.len);
        memcpy(b.signature, table_signature[i], 5);
        g_array_append_val(out->tables, b);
    }
}

/* Limits checked before anything is built, so a huge vCPU count or DSDT
 * fails fast instead of allocating first. */
static bool check_config(const struct acpi_config *cfg, uint64_t base,
                         GError **err)
{
    if (cfg->cpus == 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "the MADT needs at least one vCPU, got 0");
        return false;
    }
    if (cfg->cpus > ACPI_TABLES_MAX / MADT_LOCAL_APIC_LEN) {
        set_too_big(err, "MADT processor entries",
                    (uint64_t)cfg->cpus * MADT_LOCAL_APIC_LEN, base);
        return false;
    }
    if (cfg->dsdt_body_len > ACPI_TABLES_MAX) {
        set_too_big(err, "DSDT body", cfg->dsdt_body_len, base);
        return false;
    }
    return acpi_srat_check(cfg, err);
}

bool acpi_tables_build(const struct acpi_config *cfg, uint64_t base,
                       struct acpi_tables *out, GError **err)
{
    struct table_plan p = { 0 };

    g_return_val_if_fail(cfg && out, false);
    g_return_val_if_fail(cfg->dsdt_body || !cfg->dsdt_body_len, false);
    g_return_val_if_fail(cfg->nodes || !cfg->nr_nodes, false);
    memset(out, 0, sizeof(*out));
    if (!check_config(cfg, base, err))
        return false;
    p.bytes[T_MADT] = madt_build(cfg);
    if (acpi_srat_wanted(cfg))
        p.bytes[T_SRAT] = acpi_srat_build(cfg);
    p.bytes[T_DSDT] = dsdt_build(cfg);
    for (unsigned i = T_MADT; i < T_COUNT; i++)
        p.len[i] = p.bytes[i] ? p.bytes[i]->len : 0;
    p.len[T_RSDP] = RSDP_LEN;
    p.len[T_FADT] = FADT_LEN;
    p.len[T_XSDT] = xsdt_len(&p);
    plan_place(&p, base);
    if (p.total > ACPI_TABLES_MAX) {
        set_too_big(err, "all tables", p.total, base);
        plan_free(&p);
        return false;
    }
    p.bytes[T_FADT] = fadt_build(p.addr[T_DSDT]);
    p.bytes[T_XSDT] = xsdt_build(&p);
    p.bytes[T_RSDP] = rsdp_build(p.addr[T_XSDT]);
    assemble(&p, base, out);
    plan_free(&p);
    return true;
}

void acpi_tables_clear(struct acpi_tables *t)
{
    if (!t)
        return;
    if (t->data)
        g_byte_array_unref(t->data);
    if (t->tables)
        g_array_unref(t->tables);
    memset(t, 0, sizeof(*t));
}
