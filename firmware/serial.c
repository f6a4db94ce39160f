/*
 * 16550A UART at COM1 (register map: TI/National PC16550D datasheet,
 * "Register Description").
 */
#include "serial.h"

#include <stdint.h>

#include <hotmem/guest-abi.h>

#include "io.h"

#define UART_RBR    0   /* receive buffer (read, DLAB=0) */
#define UART_THR    0   /* transmit holding (write, DLAB=0) */
#define UART_DLL    0   /* divisor latch low (DLAB=1) */
#define UART_IER    1   /* interrupt enable (DLAB=0) */
#define UART_DLM    1   /* divisor latch high (DLAB=1) */
#define UART_FCR    2   /* FIFO control (write) */
#define UART_LCR    3   /* line control */
#define UART_MCR    4   /* modem control */
#define UART_LSR    5   /* line status */

#define IER_RDA     0x01    /* received data available */
#define FCR_ENABLE  0x01    /* receive trigger level (bits 7:6) 00: 1 byte */
#define LCR_8N1     0x03
#define LCR_DLAB    0x80
#define MCR_DTR     0x01
#define MCR_RTS     0x02
#define MCR_OUT2    0x08    /* gates the interrupt line on PC serial ports */
#define LSR_DR      0x01    /* data ready */
#define LSR_THRE    0x20    /* transmit holding register empty */

#define BAUD_DIVISOR_115200 1
#define UART_TX_FIFO_SIZE   16

/*
 * Bytes that may still go to THR without polling LSR. With FIFOs enabled,
 * THRE means the whole 16-byte transmit FIFO is empty (PC16550D, "FIFO
 * Interrupt Mode Operation"), so one LSR read covers 16 bytes. Every port
 * access from ring 3 traps on the development machines (about 50 us), so this
 * halves the cost of output.
 */
static unsigned tx_room;

static void uart_write(unsigned reg, uint8_t value)
{
    outb(HOTMEM_COM1_PORT + reg, value);
}

static uint8_t uart_read(unsigned reg)
{
    return inb(HOTMEM_COM1_PORT + reg);
}

void serial_init(void)
{
    uart_write(UART_IER, 0);
    uart_write(UART_LCR, LCR_DLAB);
    uart_write(UART_DLL, BAUD_DIVISOR_115200 & 0xff);
    uart_write(UART_DLM, BAUD_DIVISOR_115200 >> 8);
    uart_write(UART_LCR, LCR_8N1);
    /* No FIFO clear: input that already arrived is kept. */
    uart_write(UART_FCR, FCR_ENABLE);
    uart_write(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    uart_write(UART_IER, IER_RDA);
    tx_room = 0;
}

void serial_putc(char c)
{
    if (tx_room == 0) {
        while (!(uart_read(UART_LSR) & LSR_THRE))
            ;
        tx_room = UART_TX_FIFO_SIZE;
    }
    tx_room--;
    uart_write(UART_THR, (uint8_t)c);
}

int serial_getc(void)
{
    if (!(uart_read(UART_LSR) & LSR_DR))
        return -1;
    return uart_read(UART_RBR);
}

bool serial_rx_pending(void)
{
    return (uart_read(UART_LSR) & LSR_DR) != 0;
}

unsigned serial_reset(void)
{
    unsigned n = 0;

    serial_init();
    while (n < SERIAL_RESET_DRAIN_MAX && (uart_read(UART_LSR) & LSR_DR)) {
        uart_read(UART_RBR);
        n++;
    }
    return n;
}
