/*
 * The hostile guest (docs/guest-console.md, "Hostile guest"): raw port and
 * MMIO accesses, a seeded storm of random accesses over every register
 * block hotmem emulates, and the hot-plug protocol misused on purpose
 * (ejects nobody asked for, _OST and GED floods). The hostile-guest
 * scenario uses them to check that nothing a guest does can stop hotmem
 * serving its monitor, remove a DIMM nobody asked to remove, or leak.
 *
 * Everything runs in ring 3 with IF=0, like ospm.c: a select-then-access
 * sequence on the hot-plug block is never interrupted.
 */
#include "hostile.h"

#include <hotmem/guest-abi.h>

#include "acpi_hw.h"
#include "command.h"
#include "io.h"
#include "lib.h"
#include "ospm.h"
#include "paging.h"
#include "print.h"
#include "serial.h"

#define MEMHP_LEN           0x18
#define GED_LEN             4
#define PM_LEN              3       /* sleep control, sleep status, reset */
#define COM1_LEN            8
#define STORM_COUNT_MAX     10000000u
#define FLOOD_COUNT_MAX     1000000u

/* ---- raw port I/O and MMIO ---- */

/* inb/outb: 1, inw/outw: 2, inl/outl: 4. */
static unsigned size_of_name(const char *name)
{
    char c = name[strlen(name) - 1];

    return c == 'b' ? 1 : c == 'w' ? 2 : 4;
}

static bool parse_port(const char *word, uint16_t *port)
{
    uint64_t v;

    if (!command_parse_hex("port", word, &v))
        return false;
    if (v > 0xffff) {
        print_line("error port 0x%lx is above 0xffff", v);
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

static bool value_fits(uint64_t value, unsigned size)
{
    if (size == 8 || !(value >> (8 * size)))
        return true;
    if (size == 1)
        print_line("error value 0x%lx does not fit in a byte", value);
    else
        print_line("error value 0x%lx does not fit in %u bytes", value, size);
    return false;
}

static uint32_t port_read(uint16_t port, unsigned size)
{
    return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void port_write(uint16_t port, unsigned size, uint32_t value)
{
    if (size == 1)
        outb(port, (uint8_t)value);
    else if (size == 2)
        outw(port, (uint16_t)value);
    else
        outl(port, value);
}

void cmd_port_in(const struct boot_info *info, const struct command *cmd,
                 char *args)
{
    char *w[1];
    uint16_t port;

    if (command_split_words(args, w, 1) != 1) {
        command_usage_error(cmd);
        return;
    }
    if (!parse_port(w[0], &port))
        return;
    print_line("%s port=0x%x value=0x%x", cmd->name, port,
               port_read(port, size_of_name(cmd->name)));
}

void cmd_port_out(const struct boot_info *info, const struct command *cmd,
                  char *args)
{
    unsigned size = size_of_name(cmd->name);
    char *w[2];
    uint16_t port;
    uint64_t value;

    if (command_split_words(args, w, 2) != 2) {
        command_usage_error(cmd);
        return;
    }
    if (!parse_port(w[0], &port) || !command_parse_hex("value", w[1], &value) ||
        !value_fits(value, size))
        return;
    port_write(port, size, (uint32_t)value);
    print_line("%s port=0x%x value=0x%lx", cmd->name, port, value);
}

static bool parse_mmio_size(const char *word, unsigned *size)
{
    uint32_t v;

    if (parse_dec_u32(word, 8, &v) && v && !(v & (v - 1))) {
        *size = v;
        return true;
    }
    print_line("error size \"%s\" is not 1, 2, 4 or 8", word);
    return false;
}

/*
 * Makes [addr, addr + size) accessible: memory-map ranges are mapped at
 * boot, the device-memory window write-back (as its lazy #PF would), and
 * anything else uncached, since it can only be a device or nothing.
 */
static bool mmio_map(const struct boot_info *info, uint64_t addr,
                     unsigned size)
{
    uint64_t end = addr + size, limit = 1ULL << info->phys_bits;
    bool window = addr >= info->window_base && end <= info->window_limit;

    if (end < addr || end > limit) {
        print_line("error mmio: [0x%lx, 0x%lx) is beyond the physical address "
                   "width (%u bits)", addr, end, info->phys_bits);
        return false;
    }
    if (!paging_map_identity(addr, size,
                             window ? PAGING_WRITE_BACK : PAGING_UNCACHED)) {
        print_line("error mmio: cannot map 0x%lx (%u page-table pages left)",
                   addr, paging_pool_free());
        return false;
    }
    return true;
}

static uint64_t mmio_read(uint64_t addr, unsigned size)
{
    switch (size) {
    case 1: return *(volatile uint8_t *)addr;
    case 2: return *(volatile uint16_t *)addr;
    case 4: return *(volatile uint32_t *)addr;
    default: return *(volatile uint64_t *)addr;
    }
}

static void mmio_write(uint64_t addr, unsigned size, uint64_t value)
{
    switch (size) {
    case 1: *(volatile uint8_t *)addr = (uint8_t)value; break;
    case 2: *(volatile uint16_t *)addr = (uint16_t)value; break;
    case 4: *(volatile uint32_t *)addr = (uint32_t)value; break;
    default: *(volatile uint64_t *)addr = value; break;
    }
}

void cmd_mmio_read(const struct boot_info *info, const struct command *cmd,
                   char *args)
{
    char *w[2];
    uint64_t addr;
    unsigned size;

    if (command_split_words(args, w, 2) != 2) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_hex("address", w[0], &addr) ||
        !parse_mmio_size(w[1], &size) || !mmio_map(info, addr, size))
        return;
    print_line("mmior addr=0x%lx size=%u value=0x%lx", addr, size,
               mmio_read(addr, size));
}

void cmd_mmio_write(const struct boot_info *info, const struct command *cmd,
                    char *args)
{
    char *w[3];
    uint64_t addr, value;
    unsigned size;

    if (command_split_words(args, w, 3) != 3) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_hex("address", w[0], &addr) ||
        !parse_mmio_size(w[1], &size) ||
        !command_parse_hex("value", w[2], &value) ||
        !value_fits(value, size) || !mmio_map(info, addr, size))
        return;
    mmio_write(addr, size, value);
    print_line("mmiow addr=0x%lx size=%u value=0x%lx", addr, size, value);
}

/* ---- the storm ---- */

/* Every register block hotmem emulates for the guest, by port. */
static const struct storm_block {
    const char *name;
    uint16_t base, len;
} storm_blocks[] = {
    { "memhp", MEMHP_PORT, MEMHP_LEN },
    { "ged", GED_EVENT_PORT, GED_LEN },
    { "pm", ACPI_SLEEP_CONTROL_PORT, PM_LEN },
    { "power", HOTMEM_POWER_PORT, 1 },
    { "com1", HOTMEM_COM1_PORT, COM1_LEN },
};

#define N_BLOCKS (sizeof(storm_blocks) / sizeof(storm_blocks[0]))

/* SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, fine for a storm. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*
 * The storm's only exclusions, applied to each byte an access writes: the
 * bytes that end the VM by design. SLP_EN is cleared in a byte for the
 * sleep control register, the reset value 0x0f becomes 0x0e, and a power
 * port byte 0x00 or 0x01 gets bit 1 set. Returns true when it changed v.
 */
static bool storm_mask(uint16_t port, unsigned size, uint32_t *v)
{
    uint32_t old = *v;

    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        unsigned shift = 8 * i;
        uint32_t b = (*v >> shift) & 0xff;

        if (p == ACPI_SLEEP_CONTROL_PORT)
            b &= ~(uint32_t)ACPI_SLP_EN;
        else if (p == ACPI_RESET_PORT && b == ACPI_RESET_VALUE)
            b ^= 1;
        else if (p == HOTMEM_POWER_PORT && b <= HOTMEM_POWER_PANIC)
            b |= 2;
        *v = (*v & ~(0xffu << shift)) | b << shift;
    }
    return *v != old;
}

/* Block names to a bit mask; all blocks when there are none. */
static bool parse_blocks(char **w, unsigned n, unsigned *mask)
{
    *mask = n ? 0 : (1u << N_BLOCKS) - 1;
    for (unsigned i = 0; i < n; i++) {
        unsigned b;

        for (b = 0; b < N_BLOCKS; b++)
            if (!strcmp(w[i], storm_blocks[b].name))
                break;
        if (b == N_BLOCKS) {
            print_line("error storm: unknown block \"%s\" (memhp, ged, pm, "
                       "power, com1)", w[i]);
            return false;
        }
        *mask |= 1u << b;
    }
    return true;
}

struct storm_counts {
    uint32_t reads, writes, masked;
};

static void storm_run(uint64_t seed, uint32_t count, unsigned mask,
                      struct storm_counts *c)
{
    const struct storm_block *chosen[N_BLOCKS];
    unsigned n = 0;
    uint64_t state = seed;

    for (unsigned b = 0; b < N_BLOCKS; b++)
        if (mask & (1u << b))
            chosen[n++] = &storm_blocks[b];
    for (uint32_t i = 0; i < count; i++) {
        uint64_t r = rng_next(&state);
        const struct storm_block *b = chosen[r % n];
        uint16_t port = (uint16_t)(b->base + (r >> 8) % b->len);
        unsigned size = 1u << ((r >> 16) % 3);
        uint32_t v;

        if (!((r >> 24) & 1)) {
            port_read(port, size);
            c->reads++;
            continue;
        }
        v = (uint32_t)rng_next(&state);
        if (size < 4)
            v &= (1u << (8 * size)) - 1;
        c->masked += storm_mask(port, size, &v);
        port_write(port, size, v);
        c->writes++;
    }
}

void cmd_storm(const struct boot_info *info, const struct command *cmd,
               char *args)
{
    char *w[2 + N_BLOCKS];
    unsigned n = command_split_words(args, w, 2 + N_BLOCKS), mask, dropped = 0;
    struct storm_counts c = { 0 };
    uint64_t seed;
    uint32_t count;
    unsigned com1 = 1u << (N_BLOCKS - 1);

    if (n < 2 || n > 2 + N_BLOCKS) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_hex("seed", w[0], &seed) ||
        !command_parse_dec("count", w[1], STORM_COUNT_MAX, &count) ||
        !parse_blocks(w + 2, n - 2, &mask))
        return;
    storm_run(seed, count, mask, &c);
    /*
     * COM1 is the console: program it again, drop what a loopback storm
     * may have left in its receive FIFO, and end whatever garbage line the
     * storm wrote through THR, so the summary starts a line of its own.
     */
    if (mask & com1) {
        dropped = serial_reset();
        serial_putc('\n');
    }
    print_line("storm seed=0x%lx count=%u reads=%u writes=%u masked=%u "
               "rx-dropped=%u", seed, count, c.reads, c.writes, c.masked,
               dropped);
}

/* ---- the hot-plug protocol, misused ---- */

void cmd_hp_eject(const struct boot_info *info, const struct command *cmd,
                  char *args)
{
    char *w[1];
    uint32_t slot;
    uint8_t before, after;

    if (command_split_words(args, w, 1) != 1) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_dec("slot", w[0], UINT32_MAX, &slot))
        return;
    outl(MEMHP_SELECTOR, slot);
    before = inb(MEMHP_STATUS);
    outb(MEMHP_CONTROL, MEMHP_CONTROL_EJECT);
    after = inb(MEMHP_STATUS);
    print_line("hp-eject slot=%u status-before=0x%x status-after=0x%x", slot,
               before, after);
}

void cmd_hp_ignore(const struct boot_info *info, const struct command *cmd,
                   char *args)
{
    char *w[1];

    if (command_split_words(args, w, 1) != 1 ||
        (strcmp(w[0], "on") && strcmp(w[0], "off"))) {
        command_usage_error(cmd);
        return;
    }
    ospm_set_ignore_events(!strcmp(w[0], "on"));
    print_line("hp-ignore %s", w[0]);
}

/* What ost-flood writes, in turn: every pair the OSPM itself may write. */
static const struct {
    uint32_t event, status;
} ost_pairs[] = {
    { OST_EVENT_DEVICE_CHECK, OST_SUCCESS },
    { OST_EVENT_DEVICE_CHECK, OST_FAILURE },
    { OST_EVENT_EJECT_REQUEST, OST_EJECT_IN_PROGRESS },
    { OST_EVENT_EJECT_REQUEST, OST_EJECT_IN_USE },
    { OST_EVENT_OSPM_EJECT, OST_SUCCESS },
};

#define N_OST_PAIRS (sizeof(ost_pairs) / sizeof(ost_pairs[0]))

void cmd_ost_flood(const struct boot_info *info, const struct command *cmd,
                   char *args)
{
    char *w[2];
    unsigned n = command_split_words(args, w, 2), slots = ospm_slot_count();
    uint32_t count, slot = 0;

    if (n < 1 || n > 2) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_dec("count", w[0], FLOOD_COUNT_MAX, &count) ||
        (n == 2 && !command_parse_dec("slot", w[1], UINT32_MAX, &slot)))
        return;
    if (n == 1 && !slots) {
        print_line("error ost-flood: no memory hot-plug slots");
        return;
    }
    for (uint32_t i = 0; i < count; i++) {
        outl(MEMHP_SELECTOR, n == 2 ? slot : i % slots);
        outl(MEMHP_OST_EVENT, ost_pairs[i % N_OST_PAIRS].event);
        outl(MEMHP_OST_STATUS, ost_pairs[i % N_OST_PAIRS].status);
    }
    print_line("ost-flood count=%u", count);
}

void cmd_ged_flood(const struct boot_info *info, const struct command *cmd,
                   char *args)
{
    char *w[1];
    uint32_t count, events = 0;
    uint64_t state = 0;

    if (command_split_words(args, w, 1) != 1) {
        command_usage_error(cmd);
        return;
    }
    if (!command_parse_dec("count", w[0], FLOOD_COUNT_MAX, &count))
        return;
    /* A write to the read-only register, then a read, which clears it. */
    for (uint32_t i = 0; i < count; i++) {
        outl(GED_EVENT_PORT, (uint32_t)rng_next(&state));
        events |= inl(GED_EVENT_PORT);
    }
    print_line("ged-flood count=%u events=0x%x", count, events);
}
