/*
 * AML builder: resource data types (ACPI 6.5, 6.4). A ResourceTemplate is a
 * Buffer holding descriptors and a closing End Tag; each descriptor here is a
 * node of raw bytes appended to it.
 */
#include "acpi/aml_internal.h"

/* Large resource item names (6.4.3), with bit 7 set. */
enum {
    RES_MEMORY32_FIXED = 0x86,
    RES_DWORD_ADDRESS = 0x87,
    RES_EXTENDED_IRQ = 0x89,
    RES_QWORD_ADDRESS = 0x8A,
};

/* Small item I/O port descriptor: name 0x08, length 7 (6.4.2.5). */
#define RES_IO_PORT ((0x08 << 3) | 7)
#define RES_IO_DECODE16 0x01

#define ADDRESS_SPACE_MEMORY 0      /* 6.4.3.5: Resource Type */
/* General flags (6.4.3.5): bit 0 producer (0) / consumer (1), bit 1
 * subtractive decode, bit 2 _MIF, bit 3 _MAF. */
#define ADDRESS_MIN_FIXED (1u << 2)
#define ADDRESS_MAX_FIXED (1u << 3)
/* Memory type-specific flags (6.4.3.5.5): bit 0 _RW, bits 1-2 _MEM;
 * _MTP and _TTP stay 0 (AddressRangeMemory, TypeStatic). */
#define MEMORY_READ_WRITE 0x01
#define MEMORY_CACHEABLE (1u << 1)

/* Extended interrupt flags (6.4.3.6). */
#define IRQ_CONSUMER 0x01
#define IRQ_EDGE 0x02
#define IRQ_ACTIVE_LOW 0x04
#define IRQ_SHARED 0x08

struct aml *aml_resource_template(void)
{
    static const uint8_t op = AML_BUFFER_OP;

    return aml_node_new(AML_KIND_RESOURCES, &op, 1, true);
}

/* A large descriptor: item name, then the length of what follows. */
static struct aml *large_descriptor(uint8_t name, uint16_t len)
{
    struct aml *a = aml_sequence();

    aml_put_byte(a->body, name);
    aml_put_le(a->body, len, 2);
    return a;
}

/* IO(Decode16, min, max, align, len) */
struct aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    struct aml *a = aml_sequence();

    aml_put_byte(a->body, RES_IO_PORT);
    aml_put_byte(a->body, RES_IO_DECODE16);
    aml_put_le(a->body, min, 2);
    aml_put_le(a->body, max, 2);
    aml_put_byte(a->body, align);
    aml_put_byte(a->body, len);
    return a;
}

/* Memory32Fixed(ReadWrite/ReadOnly, base, len) (6.4.3.4) */
struct aml *aml_memory32_fixed(uint32_t base, uint32_t len, bool writable)
{
    struct aml *a = large_descriptor(RES_MEMORY32_FIXED, 9);

    aml_put_byte(a->body, writable ? MEMORY_READ_WRITE : 0);
    aml_put_le(a->body, base, 4);
    aml_put_le(a->body, len, 4);
    return a;
}

/*
 * DWordMemory / QWordMemory (6.4.3.5.2, 6.4.3.5.1) as ASL writes
 * (ResourceProducer, PosDecode, MinFixed, MaxFixed, cacheable, writable,
 * 0, min, max, 0, len): only the range and two flags vary. After the
 * common header, every field is `size` bytes wide.
 */
static struct aml *address_memory(uint8_t name, unsigned size, uint64_t min,
                                  uint64_t max, uint64_t len, bool writable,
                                  bool cacheable)
{
    struct aml *a = large_descriptor(name, (uint16_t)(3 + 5 * size));

    aml_put_byte(a->body, ADDRESS_SPACE_MEMORY);
    aml_put_byte(a->body, ADDRESS_MIN_FIXED | ADDRESS_MAX_FIXED);
    aml_put_byte(a->body, (writable ? MEMORY_READ_WRITE : 0) |
                          (cacheable ? MEMORY_CACHEABLE : 0));
    aml_put_le(a->body, 0, size);       /* _GRA */
    aml_put_le(a->body, min, size);     /* _MIN */
    aml_put_le(a->body, max, size);     /* _MAX */
    aml_put_le(a->body, 0, size);       /* _TRA */
    aml_put_le(a->body, len, size);     /* _LEN */
    return a;
}

struct aml *aml_dword_memory(uint32_t min, uint32_t max, uint32_t len,
                             bool writable, bool cacheable)
{
    return address_memory(RES_DWORD_ADDRESS, 4, min, max, len, writable,
                          cacheable);
}

struct aml *aml_qword_memory(uint64_t min, uint64_t max, uint64_t len,
                             bool writable, bool cacheable)
{
    return address_memory(RES_QWORD_ADDRESS, 8, min, max, len, writable,
                          cacheable);
}

/* Interrupt(ResourceConsumer, ...) {irqs}: Extended Interrupt (6.4.3.6) */
struct aml *aml_interrupt(bool edge, bool active_low, bool shared,
                          const uint32_t *irqs, unsigned count)
{
    struct aml *a;

    if (count < 1 || count > 255)
        g_error("AML Interrupt() descriptor with %u interrupts; 1-255 "
                "allowed", count);
    a = large_descriptor(RES_EXTENDED_IRQ, (uint16_t)(2 + 4 * count));
    aml_put_byte(a->body, IRQ_CONSUMER | (edge ? IRQ_EDGE : 0) |
                          (active_low ? IRQ_ACTIVE_LOW : 0) |
                          (shared ? IRQ_SHARED : 0));
    aml_put_byte(a->body, (uint8_t)count);
    for (unsigned i = 0; i < count; i++)
        aml_put_le(a->body, irqs[i], 4);
    return a;
}
