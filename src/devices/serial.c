/*
 * 16550A UART: the register model of the National Semiconductor PC16550D
 * data sheet (receive and transmit FIFOs of 16 bytes, interrupt priorities
 * per its table 4). Transmission takes no time while the backend takes the
 * bytes; when it does not (a console nobody reads), the bytes wait in the
 * transmit FIFO, LSR shows THRE and TEMT clear, bytes written to a full
 * FIFO are lost as on the chip, and the vCPU carries on: the guest sees a
 * busy line, never a stopped CPU. serial_tx_ready() resumes transmission.
 */
#include "devices/serial.h"

#include <string.h>

#include "acpi/aml.h"

enum {
    REG_RBR_THR = 0,    /* DLL when LCR.DLAB */
    REG_IER = 1,        /* DLM when LCR.DLAB */
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_RDA         0x01    /* received data available */
#define IER_THRE        0x02    /* transmitter holding register empty */
#define IER_RLS         0x04    /* receiver line status */
#define IER_MS          0x08    /* modem status */
#define IIR_NONE        0x01
#define IIR_MS          0x00
#define IIR_THRE        0x02
#define IIR_RDA         0x04
#define IIR_RLS         0x06
#define IIR_FIFO_ON     0xc0
#define FCR_ENABLE      0x01
#define FCR_CLEAR_RX    0x02
#define FCR_CLEAR_TX    0x04
#define LCR_DLAB        0x80
#define MCR_DTR         0x01
#define MCR_RTS         0x02
#define MCR_OUT1        0x04
#define MCR_OUT2        0x08
#define MCR_LOOP        0x10
#define LSR_DR          0x01
#define LSR_OE          0x02
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define MSR_CTS         0x10
#define MSR_DSR         0x20
#define MSR_RI          0x40
#define MSR_DCD         0x80

struct serial {
    GMutex lock;
    struct bus *bus;
    uint16_t base;
    struct serial_ops ops;
    uint8_t fifo[SERIAL_FIFO_SIZE];
    unsigned rx_head, rx_count;
    uint8_t tx_fifo[SERIAL_FIFO_SIZE];  /* not yet taken by the backend */
    unsigned tx_head, tx_count;
    uint8_t ier, lcr, mcr, lsr_errors, scr, fcr;
    uint16_t divisor;
    bool thre_pending;      /* THRE interrupt armed (cleared by IIR read) */
    bool irq_level;
};

static unsigned rx_capacity(const struct serial *s)
{
    return (s->fcr & FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

/* THR alone without FIFOs, the 16-byte transmit FIFO with them. */
static unsigned tx_capacity(const struct serial *s)
{
    return (s->fcr & FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

static uint8_t current_iir(const struct serial *s)
{
    uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0;

    if ((s->ier & IER_RLS) && s->lsr_errors)
        return fifo | IIR_RLS;
    if ((s->ier & IER_RDA) && s->rx_count)
        return fifo | IIR_RDA;
    if ((s->ier & IER_THRE) && s->thre_pending && !s->tx_count)
        return fifo | IIR_THRE;
    return fifo | IIR_NONE;
}

/* Called with the lock held; the level only changes on real edges. */
static void update_irq(struct serial *s)
{
    bool level = (current_iir(s) & 0x0f) != IIR_NONE;

    if (level != s->irq_level) {
        s->irq_level = level;
        if (s->ops.set_irq)
            s->ops.set_irq(s->ops.irq_opaque, level);
    }
}

static bool push_rx(struct serial *s, uint8_t byte)
{
    if (s->rx_count >= rx_capacity(s)) {
        s->lsr_errors |= LSR_OE;
        return false;
    }
    s->fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
    s->rx_count++;
    return true;
}

static uint8_t pop_rx(struct serial *s, bool *drained)
{
    uint8_t b;

    if (!s->rx_count)
        return 0;
    b = s->fifo[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
    s->rx_count--;
    *drained = s->rx_count == 0;
    return b;
}

static uint8_t modem_status(const struct serial *s)
{
    if (s->mcr & MCR_LOOP) {
        /* Loopback wires the modem outputs back to the inputs (8.6.4). */
        return ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
               ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
               ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
               ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
    }
    return MSR_DCD | MSR_DSR | MSR_CTS;
}

static uint8_t reg_read(struct serial *s, unsigned reg, bool *drained)
{
    uint8_t v;

    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB)
            return s->divisor & 0xff;
        return pop_rx(s, drained);
    case REG_IER:
        return (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
    case REG_IIR_FCR:
        v = current_iir(s);
        if ((v & 0x0f) == IIR_THRE)
            s->thre_pending = false;
        return v;
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        v = (s->tx_count ? 0 : LSR_THRE | LSR_TEMT) |
            (s->rx_count ? LSR_DR : 0) | s->lsr_errors;
        s->lsr_errors = 0;
        return v;
    case REG_MSR:
        return modem_status(s);
    default:
        return s->scr;
    }
}

/*
 * Offers the transmit FIFO to the backend (lock held); THRE is raised when
 * it empties. A FIFO that wraps goes in two calls.
 */
static void tx_flush(struct serial *s)
{
    while (s->tx_count) {
        unsigned run = MIN(s->tx_count, SERIAL_FIFO_SIZE - s->tx_head);
        size_t n = s->ops.transmit ? s->ops.transmit(s->ops.chr_opaque,
                                                     s->tx_fifo + s->tx_head,
                                                     run)
                                   : run;

        n = MIN(n, (size_t)run);
        s->tx_head = (s->tx_head + (unsigned)n) % SERIAL_FIFO_SIZE;
        s->tx_count -= (unsigned)n;
        if (n < run)
            return;
    }
    s->thre_pending = true;
}

static void transmit(struct serial *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP) {
        push_rx(s, byte);
        s->thre_pending = true;
        return;
    }
    s->thre_pending = false;    /* writing THR clears the THRE interrupt */
    /* Writing THR while the FIFO is full loses the byte (PC16550D 8.5). */
    if (s->tx_count >= tx_capacity(s))
        return;
    s->tx_fifo[(s->tx_head + s->tx_count) % SERIAL_FIFO_SIZE] = byte;
    s->tx_count++;
    tx_flush(s);
}

static void reg_write(struct serial *s, unsigned reg, uint8_t v)
{
    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB)
            s->divisor = (s->divisor & 0xff00) | v;
        else
            transmit(s, v);
        break;
    case REG_IER:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (uint16_t)((s->divisor & 0xff) | (v << 8));
        } else {
            /* Enabling THRE interrupts with THR empty raises one at once. */
            if ((v & IER_THRE) && !(s->ier & IER_THRE) && !s->tx_count)
                s->thre_pending = true;
            s->ier = v & 0x0f;
        }
        break;
    case REG_IIR_FCR:
        if ((v & FCR_CLEAR_RX) || ((v ^ s->fcr) & FCR_ENABLE))
            s->rx_head = s->rx_count = 0;
        if ((v & FCR_CLEAR_TX) || ((v ^ s->fcr) & FCR_ENABLE)) {
            s->tx_head = s->tx_count = 0;
            s->thre_pending = true;
        }
        s->fcr = v & 0xc9;
        break;
    case REG_LCR:
        s->lcr = v;
        break;
    case REG_MCR:
        s->mcr = v & 0x1f;
        break;
    case REG_SCR:
        s->scr = v;
        break;
    default:
        break;      /* LSR and MSR are read-only */
    }
}

static void serial_access(void *opaque, uint64_t offset, uint8_t *data,
                          uint32_t len, bool is_write)
{
    struct serial *s = opaque;
    bool drained = false;

    g_mutex_lock(&s->lock);
    if (is_write)
        reg_write(s, (unsigned)offset, data[0]);
    else
        data[0] = reg_read(s, (unsigned)offset, &drained);
    if (!is_write && len > 1)
        memset(data + 1, 0, len - 1);
    update_irq(s);
    g_mutex_unlock(&s->lock);
    if (drained && s->ops.rx_drained)
        s->ops.rx_drained(s->ops.chr_opaque);
}

/* The power-on registers (16550A data sheet, "Reset" column). */
static void power_on_registers(struct serial *s)
{
    s->rx_head = s->rx_count = 0;
    s->ier = s->mcr = s->lsr_errors = s->scr = s->fcr = 0;
    s->divisor = 12;        /* 9600 baud from the 1.8432 MHz clock */
    s->lcr = 0x03;          /* 8N1 */
    s->thre_pending = false;
}

struct serial *serial_create(struct bus *bus, uint16_t base,
                             const struct serial_ops *ops, GError **err)
{
    struct serial *s = g_new0(struct serial, 1);

    g_mutex_init(&s->lock);
    s->bus = bus;
    s->base = base;
    s->ops = *ops;
    power_on_registers(s);
    if (!bus_register(bus, BUS_PIO, base, 8, serial_access, s, err)) {
        g_mutex_clear(&s->lock);
        g_free(s);
        return NULL;
    }
    return s;
}

void serial_reset(struct serial *s)
{
    g_mutex_lock(&s->lock);
    power_on_registers(s);
    update_irq(s);
    g_mutex_unlock(&s->lock);
}

void serial_get_state(struct serial *s, struct serial_state *st)
{
    memset(st, 0, sizeof(*st));
    g_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->rx_count; i++)
        st->rx[i] = s->fifo[(s->rx_head + i) % SERIAL_FIFO_SIZE];
    for (unsigned i = 0; i < s->tx_count; i++)
        st->tx[i] = s->tx_fifo[(s->tx_head + i) % SERIAL_FIFO_SIZE];
    st->rx_count = (uint8_t)s->rx_count;
    st->tx_count = (uint8_t)s->tx_count;
    st->ier = s->ier;
    st->lcr = s->lcr;
    st->mcr = s->mcr;
    st->lsr_errors = s->lsr_errors;
    st->scr = s->scr;
    st->fcr = s->fcr;
    st->divisor = s->divisor;
    st->thre_pending = s->thre_pending;
    st->irq_level = s->irq_level;
    g_mutex_unlock(&s->lock);
}

void serial_set_state(struct serial *s, const struct serial_state *st)
{
    g_mutex_lock(&s->lock);
    s->rx_head = s->tx_head = 0;
    s->rx_count = MIN(st->rx_count, SERIAL_FIFO_SIZE);
    s->tx_count = MIN(st->tx_count, SERIAL_FIFO_SIZE);
    memcpy(s->fifo, st->rx, sizeof(s->fifo));
    memcpy(s->tx_fifo, st->tx, sizeof(s->tx_fifo));
    s->ier = st->ier & 0x0f;
    s->lcr = st->lcr;
    s->mcr = st->mcr & 0x1f;
    s->lsr_errors = st->lsr_errors;
    s->scr = st->scr;
    s->fcr = st->fcr & 0xc9;
    s->divisor = st->divisor;
    s->thre_pending = st->thre_pending;
    if (s->tx_count)
        tx_flush(s);
    update_irq(s);
    g_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
    if (!s)
        return;
    bus_unregister(s->bus, BUS_PIO, s->base);
    g_mutex_clear(&s->lock);
    g_free(s);
}

void serial_tx_ready(struct serial *s)
{
    g_mutex_lock(&s->lock);
    if (s->tx_count) {
        tx_flush(s);
        update_irq(s);
    }
    g_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
    size_t n = 0;

    g_mutex_lock(&s->lock);
    while (n < len && s->rx_count < rx_capacity(s))
        push_rx(s, buf[n++]);
    update_irq(s);
    g_mutex_unlock(&s->lock);
    return n;
}

/* ACPI 6.5 6.1.5 (_HID), 6.2.2 (_CRS): a PC COM port, PNP0501. */
void serial_build_aml(struct aml *scope, const char *name, uint16_t base,
                      uint32_t gsi, unsigned uid)
{
    struct aml *dev = aml_device("%s", name);
    struct aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0501")));
    aml_append(dev, aml_name_decl("_UID", aml_int(uid)));
    aml_append(crs, aml_io(base, base, 1, 8));
    aml_append(crs, aml_interrupt(true, false, false, &gsi, 1));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(scope, dev);
}
