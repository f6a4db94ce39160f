/*
 * Line input for the command console. Ring 3 keeps IF=0; when the UART has
 * nothing pending it sleeps in SYS_IDLE (sti; hlt; cli in ring 0) until the
 * UART's receive interrupt wakes it, so the guest never spins on the host's
 * CPUs. An interrupt raised between the last LSR read and the hlt stays
 * pending (IF=0) and ends the hlt at once. The GED's interrupt wakes it the
 * same way; the events it latched are handled before each UART read.
 */
#include "console.h"

#include <stdbool.h>

#include "commands.h"
#include "ospm.h"
#include "print.h"
#include "serial.h"
#include "syscall.h"

void console_run(const struct boot_info *info)
{
    static char line[CONSOLE_LINE_MAX + 1];
    unsigned len = 0;
    bool overlong = false;

    for (;;) {
        int c;

        ospm_service();
        c = serial_getc();

        if (c < 0) {
            sys_idle();
            continue;
        }
        if (c == '\r')
            continue;
        if (c != '\n') {
            if (len < CONSOLE_LINE_MAX)
                line[len++] = (char)c;
            else
                overlong = true;
            continue;
        }
        if (overlong)
            print_line("error line too long (limit %u bytes)",
                       CONSOLE_LINE_MAX);
        else {
            line[len] = '\0';
            commands_execute(info, line);
        }
        len = 0;
        overlong = false;
    }
}
