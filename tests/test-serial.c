/*
 * The 16550A's transmitter when the backend cannot take more (a console
 * nobody reads): the bytes wait in the transmit FIFO, the guest sees a busy
 * line (LSR THRE and TEMT clear) instead of a stopped vCPU, nothing is lost
 * that fitted in the FIFO, and serial_tx_ready() finishes the job with a
 * THRE interrupt. The guest is played through the PIO bus.
 */
#include <string.h>
#include <glib.h>

#include "bus.h"
#include "devices/serial.h"

#define BASE        0x3f8
#define REG_THR     0
#define REG_IER     1
#define REG_IIR_FCR 2
#define REG_LSR     5
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define IER_THRE    0x02
#define IIR_THRE    0x02

struct fixture {
    struct bus *bus;
    struct serial *s;
    GByteArray *sent;       /* what the backend took */
    size_t room;            /* how many more it takes */
    bool irq;
};

static size_t take(void *opaque, const uint8_t *buf, size_t len)
{
    struct fixture *f = opaque;
    size_t n = MIN(len, f->room);

    g_byte_array_append(f->sent, buf, (guint)n);
    f->room -= n;
    return n;
}

static void set_irq(void *opaque, bool level)
{
    ((struct fixture *)opaque)->irq = level;
}

static void setup(struct fixture *f, gconstpointer data)
{
    struct serial_ops ops = { .set_irq = set_irq, .irq_opaque = f,
                              .transmit = take, .chr_opaque = f };

    memset(f, 0, sizeof(*f));
    f->bus = bus_new();
    f->sent = g_byte_array_new();
    f->room = SIZE_MAX;
    f->s = serial_create(f->bus, BASE, &ops, NULL);
    g_assert_nonnull(f->s);
}

static void teardown(struct fixture *f, gconstpointer data)
{
    serial_destroy(f->s);
    bus_free(f->bus);
    g_byte_array_free(f->sent, TRUE);
}

static void out8(struct fixture *f, unsigned reg, uint8_t v)
{
    g_assert_true(bus_dispatch(f->bus, BUS_PIO, BASE + reg, &v, 1, true));
}

static uint8_t in8(struct fixture *f, unsigned reg)
{
    uint8_t v = 0;

    g_assert_true(bus_dispatch(f->bus, BUS_PIO, BASE + reg, &v, 1, false));
    return v;
}

static void test_tx_free_line(struct fixture *f, gconstpointer data)
{
    out8(f, REG_THR, 'a');
    g_assert_cmpuint(f->sent->len, ==, 1);
    g_assert_cmphex(in8(f, REG_LSR) & (LSR_THRE | LSR_TEMT), ==,
                    LSR_THRE | LSR_TEMT);
}

static void test_tx_busy_line(struct fixture *f, gconstpointer data)
{
    out8(f, REG_IIR_FCR, 0x01);             /* FIFOs on */
    out8(f, REG_IER, IER_THRE);
    g_assert_true(in8(f, REG_IIR_FCR) & IIR_THRE);
    f->room = 3;
    for (int i = 0; i < 20; i++)            /* 3 taken, 16 held, 1 lost */
        out8(f, REG_THR, (uint8_t)('A' + i));
    g_assert_cmpuint(f->sent->len, ==, 3);
    /* The guest sees a busy transmitter and no THRE interrupt. */
    g_assert_cmphex(in8(f, REG_LSR) & (LSR_THRE | LSR_TEMT), ==, 0);
    g_assert_false(f->irq);
    g_assert_cmphex(in8(f, REG_IIR_FCR) & 0x0f, ==, 0x01);

    f->room = 10;                           /* the reader catches up a bit */
    serial_tx_ready(f->s);
    g_assert_cmpuint(f->sent->len, ==, 13);
    g_assert_cmphex(in8(f, REG_LSR) & LSR_THRE, ==, 0);
    g_assert_false(f->irq);

    f->room = SIZE_MAX;
    serial_tx_ready(f->s);
    g_assert_cmpuint(f->sent->len, ==, 19);
    g_assert_cmpmem(f->sent->data, 19, "ABCDEFGHIJKLMNOPQRS", 19);
    g_assert_cmphex(in8(f, REG_LSR) & (LSR_THRE | LSR_TEMT), ==,
                    LSR_THRE | LSR_TEMT);
    g_assert_true(f->irq);
    g_assert_cmphex(in8(f, REG_IIR_FCR) & 0x0f, ==, IIR_THRE);
}

static void test_tx_no_fifo(struct fixture *f, gconstpointer data)
{
    f->room = 0;
    out8(f, REG_THR, 'x');                  /* held in THR */
    out8(f, REG_THR, 'y');                  /* lost: THR is full */
    g_assert_cmphex(in8(f, REG_LSR) & LSR_THRE, ==, 0);
    f->room = SIZE_MAX;
    serial_tx_ready(f->s);
    g_assert_cmpuint(f->sent->len, ==, 1);
    g_assert_cmpint(f->sent->data[0], ==, 'x');
}

static void test_tx_fifo_clear(struct fixture *f, gconstpointer data)
{
    out8(f, REG_IIR_FCR, 0x01);
    f->room = 0;
    out8(f, REG_THR, 'x');
    out8(f, REG_IIR_FCR, 0x01 | 0x04);      /* FCR: clear transmit FIFO */
    g_assert_cmphex(in8(f, REG_LSR) & LSR_TEMT, ==, LSR_TEMT);
    f->room = SIZE_MAX;
    serial_tx_ready(f->s);
    g_assert_cmpuint(f->sent->len, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add(path, struct fixture, NULL, setup, fn, teardown)
    ADD("/serial/tx/free-line", test_tx_free_line);
    ADD("/serial/tx/busy-line", test_tx_busy_line);
    ADD("/serial/tx/no-fifo", test_tx_no_fifo);
    ADD("/serial/tx/fifo-clear", test_tx_fifo_clear);
    return g_test_run();
}
