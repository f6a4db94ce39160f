/*
 * Command-line parsing: every accepted spelling and every rejected one.
 * Command lines are written as shell words ('' is an empty argument).
 */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "acpi/tables.h"
#include "cli/cli.h"
#include "machine/machine.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* Expected result; 0 in ram_size / smp means the default. */
struct ok_case {
    const char *path;
    const char *args;
    struct cli_options want;
};

struct err_case {
    const char *path;
    const char *args;
    const char *needles[3];     /* each must appear in the message */
};

static const struct ok_case ok_cases[] = {
    { "/cli/default", "", { 0 } },
    /* -m sizes */
    { "/cli/m/bare-is-mib", "-m 512", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-B", "-m 536870912B", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-b", "-m 536870912b", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-K", "-m 524288K", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-k", "-m 524288k", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-M", "-m 512M", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-m", "-m 512m", { .ram_size = 512 * MiB } },
    { "/cli/m/suffix-G", "-m 2G", { .ram_size = 2 * GiB } },
    { "/cli/m/suffix-g", "-m 2g", { .ram_size = 2 * GiB } },
    { "/cli/m/suffix-T", "-m 1T", { .ram_size = TiB } },
    { "/cli/m/suffix-t", "-m 1t", { .ram_size = TiB } },
    { "/cli/m/page", "-m 4K", { .ram_size = 4 * KiB } },
    { "/cli/m/size-key", "-m size=1G", { .ram_size = GiB } },
    { "/cli/m/size-key-bare-mib", "-m size=64", { .ram_size = 64 * MiB } },
    /* -m slots / maxmem */
    { "/cli/m/slots-maxmem", "-m 2G,slots=8,maxmem=16G",
      { .ram_size = 2 * GiB, .slots = 8, .maxmem = 16 * GiB } },
    { "/cli/m/maxmem-before-slots", "-m 1G,maxmem=4G,slots=2",
      { .ram_size = GiB, .slots = 2, .maxmem = 4 * GiB } },
    { "/cli/m/size-key-last", "-m slots=2,maxmem=4G,size=1G",
      { .ram_size = GiB, .slots = 2, .maxmem = 4 * GiB } },
    { "/cli/m/default-size-with-slots", "-m slots=1,maxmem=1G",
      { .ram_size = CLI_DEFAULT_RAM, .slots = 1, .maxmem = GiB } },
    { "/cli/m/maxmem-bare-is-bytes", "-m 1G,slots=1,maxmem=4294967296",
      { .ram_size = GiB, .slots = 1, .maxmem = 4 * GiB } },
    { "/cli/m/maxmem-page-above", "-m 1G,slots=1,maxmem=1048580K",
      { .ram_size = GiB, .slots = 1, .maxmem = GiB + 4 * KiB } },
    { "/cli/m/slots-max", "-m 1G,slots=256,maxmem=300G",
      { .ram_size = GiB, .slots = 256, .maxmem = 300 * GiB } },
    { "/cli/m/slots-0-maxmem-equal", "-m 1G,slots=0,maxmem=1G",
      { .ram_size = GiB, .slots = 0, .maxmem = GiB } },
    { "/cli/m/last-wins", "-m 1G,slots=2,maxmem=4G -m 512M",
      { .ram_size = 512 * MiB } },
    { "/cli/m/two-dashes", "--m 512M", { .ram_size = 512 * MiB } },
    /* QEMU 7.2 accepts these (checked against qemu-system-x86_64) */
    { "/cli/m/fraction", "-m 1.5G", { .ram_size = 1536 * MiB } },
    { "/cli/m/fraction-no-digits-after-point", "-m 1.G",
      { .ram_size = GiB } },
    { "/cli/m/maxmem-without-slots", "-m 1G,maxmem=4G",
      { .ram_size = GiB, .slots = 0, .maxmem = 4 * GiB } },
    { "/cli/m/slots-0-maxmem-above", "-m 1G,slots=0,maxmem=4G",
      { .ram_size = GiB, .slots = 0, .maxmem = 4 * GiB } },
    { "/cli/m/repeated-size-last-wins", "-m 1G,size=2G,size=3G",
      { .ram_size = 3 * GiB } },
    { "/cli/m/repeated-slots-last-wins", "-m 1G,slots=1,slots=2,maxmem=2G",
      { .ram_size = GiB, .slots = 2, .maxmem = 2 * GiB } },
    { "/cli/m/repeated-maxmem-last-wins",
      "-m 1G,slots=1,maxmem=2G,maxmem=3G",
      { .ram_size = GiB, .slots = 1, .maxmem = 3 * GiB } },
    { "/cli/m/libvirt", "-m size=1048576k,slots=16,maxmem=8388608k",
      { .ram_size = GiB, .slots = 16, .maxmem = 8 * GiB } },
    /* -smp */
    { "/cli/smp/bare", "-smp 4", { .smp = 4 } },
    { "/cli/smp/cpus-key", "-smp cpus=8", { .smp = 8 } },
    { "/cli/smp/one", "-smp 1", { .smp = 1 } },
    { "/cli/smp/max", "-smp 255", { .smp = 255 } },
    { "/cli/smp/last-wins", "-smp 2 -smp 3", { .smp = 3 } },
    { "/cli/smp/repeated-cpus-last-wins", "-smp 4,cpus=2", { .smp = 2 } },
    { "/cli/smp/maxcpus", "-smp 2,maxcpus=4", { .smp = 2 } },
    { "/cli/smp/topology-only", "-smp sockets=1,cores=2", { .smp = 2 } },
    { "/cli/smp/maxcpus-only", "-smp maxcpus=4", { .smp = 4 } },
    /* boot files */
    { "/cli/kernel/all", "-kernel /k -initrd /i -append 'console=ttyS0 q'",
      { .kernel = "/k", .initrd = "/i", .append = "console=ttyS0 q" } },
    { "/cli/kernel/last-wins", "-kernel /a -kernel /b", { .kernel = "/b" } },
    { "/cli/initrd/without-kernel", "-initrd /i", { .initrd = "/i" } },
    { "/cli/append/without-kernel", "-append x=1", { .append = "x=1" } },
    { "/cli/append/empty", "-append ''", { .append = "" } },
    /* -serial */
    { "/cli/serial/stdio", "-serial stdio", { .serial = CLI_SERIAL_STDIO } },
    { "/cli/serial/none", "-serial none", { .serial = CLI_SERIAL_NONE } },
    { "/cli/serial/file", "-serial file:/tmp/s.log",
      { .serial = CLI_SERIAL_FILE, .serial_path = "/tmp/s.log" } },
    { "/cli/serial/file-with-colon", "-serial file:/tmp/a:b",
      { .serial = CLI_SERIAL_FILE, .serial_path = "/tmp/a:b" } },
    { "/cli/serial/last-wins", "-serial file:/x -serial stdio",
      { .serial = CLI_SERIAL_STDIO } },
    { "/cli/serial/mon-stdio", "-serial mon:stdio",
      { .serial = CLI_SERIAL_STDIO } },
    { "/cli/serial/null", "-serial null", { .serial = CLI_SERIAL_NONE } },
    { "/cli/serial/chardev-file", "-chardev file,id=c0,path=/tmp/c.log "
      "-serial chardev:c0",
      { .serial = CLI_SERIAL_FILE, .serial_path = "/tmp/c.log" } },
    { "/cli/serial/chardev-stdio-defined-later",
      "-serial chardev:c0 -chardev stdio,id=c0",
      { .serial = CLI_SERIAL_STDIO } },
    { "/cli/serial/chardev-null", "-chardev null,id=n -serial chardev:n",
      { .serial = CLI_SERIAL_NONE } },
    /* -nodefaults: QEMU's default devices, the console being hotmem's */
    { "/cli/nodefaults/no-console", "-nodefaults",
      { .serial = CLI_SERIAL_NONE } },
    { "/cli/nodefaults/serial-given", "-serial stdio -nodefaults",
      { .serial = CLI_SERIAL_STDIO } },
    { "/cli/nodefaults/mon-stdio", "-nodefaults -serial mon:stdio",
      { .serial = CLI_SERIAL_STDIO } },
    /* accepted with no effect (docs/usage.md) */
    { "/cli/noop/qemu-script", "-display none -nographic -enable-kvm "
      "-no-user-config -overcommit mem-lock=off -msg timestamp=on "
      "-rtc base=utc -boot strict=on -monitor none -machine pc-q35-7.2 "
      "-no-hpet "
      "-M q35,usb=off,vmport=off,dump-guest-core=off,hpet=off,acpi=on",
      { 0 } },
    { "/cli/noop/rtc-boot-keys", "-rtc base=localtime,clock=host,"
      "driftfix=slew -boot order=c,menu=off,strict=off -msg "
      "timestamp=off,guest-name=on -overcommit cpu-pm=off", { 0 } },
    { "/cli/noop/machine-versions", "-M pc-i440fx-7.2 -M pc-q35-2.12 "
      "-M type=pc-8.0 -machine smm=auto", { 0 } },
    /* flags and names */
    { "/cli/flag/S", "-S", { .start_paused = true } },
    { "/cli/name/bare", "-name vm1", { .name = "vm1" } },
    { "/cli/name/guest-key", "-name guest=vm1", { .name = "vm1" } },
    { "/cli/name/comma-escape", "-name a,,b", { .name = "a,b" } },
    { "/cli/name/debug-threads", "-name x,debug-threads=on",
      { .name = "x" } },
    { "/cli/name/guest-key-last-wins", "-name vm,guest=x", { .name = "x" } },
    { "/cli/pidfile", "-pidfile /run/h.pid", { .pidfile = "/run/h.pid" } },
    { "/cli/daemonize/serial-file", "-daemonize -serial file:/s",
      { .daemonize = true, .serial = CLI_SERIAL_FILE,
        .serial_path = "/s" } },
    { "/cli/daemonize/serial-none", "-serial none -daemonize",
      { .daemonize = true, .serial = CLI_SERIAL_NONE } },
    { "/cli/daemonize/default-serial-is-none", "-daemonize",
      { .daemonize = true, .serial = CLI_SERIAL_NONE } },
    { "/cli/version/one-dash", "-version", { .show_version = true } },
    { "/cli/version/two-dashes", "--version", { .show_version = true } },
    { "/cli/help/h", "-h", { .show_help = true } },
    { "/cli/help/two-dashes", "--help", { .show_help = true } },
    { "/cli/help/one-dash", "-help", { .show_help = true } },
    { "/cli/help/stops-parsing", "-smp 2 -h -bogus disk.img",
      { .smp = 2, .show_help = true } },
    { "/cli/all", "-m 2G,slots=4,maxmem=8G --smp cpus=2 -kernel /k "
      "-initrd /i -append a -serial file:/s -S -name guest=n -pidfile /p "
      "-daemonize",
      { .ram_size = 2 * GiB, .slots = 4, .maxmem = 8 * GiB, .smp = 2,
        .kernel = "/k", .initrd = "/i", .append = "a",
        .serial = CLI_SERIAL_FILE, .serial_path = "/s", .start_paused = true,
        .name = "n", .pidfile = "/p", .daemonize = true } },
};

static const struct err_case err_cases[] = {
    /* general */
    { "/cli/error/unknown-option", "-foo", { "unknown option -foo" } },
    { "/cli/error/unknown-option-dashes", "--foo", { "unknown option --foo" } },
    { "/cli/error/double-dash", "--", { "unknown option --" } },
    { "/cli/error/bare-argument", "disk.img", { "'disk.img'" } },
    { "/cli/error/bare-after-options", "-m 1G disk.img", { "'disk.img'" } },
    { "/cli/error/lone-dash", "-", { "'-'" } },
    { "/cli/error/missing-arg/m", "-m", { "option -m requires an argument" } },
    { "/cli/error/missing-arg/m-dashes", "--m",
      { "option --m requires an argument" } },
    { "/cli/error/missing-arg/smp", "-smp",
      { "option -smp requires an argument" } },
    { "/cli/error/missing-arg/kernel", "-kernel",
      { "option -kernel requires an argument" } },
    { "/cli/error/missing-arg/initrd", "-initrd",
      { "option -initrd requires an argument" } },
    { "/cli/error/missing-arg/append", "-S -append",
      { "option -append requires an argument" } },
    { "/cli/error/missing-arg/serial", "-serial",
      { "option -serial requires an argument" } },
    { "/cli/error/missing-arg/name", "-name",
      { "option -name requires an argument" } },
    { "/cli/error/missing-arg/pidfile", "-pidfile",
      { "option -pidfile requires an argument" } },
    /* -m malformed numbers */
    { "/cli/m/error/empty", "-m ''", { "-m:", "size ''", "empty" } },
    { "/cli/m/error/junk", "-m abc", { "-m:", "'abc'" } },
    { "/cli/m/error/trailing", "-m 512MB", { "-m:", "'512MB'", "'B'" } },
    { "/cli/m/error/unknown-suffix", "-m 512X", { "-m:", "'512X'", "'X'" } },
    { "/cli/m/error/negative", "-m -512M", { "-m:", "'-512M'", "negative" } },
    /* Issue 15, defect 14: the next option taken for the value. */
    { "/cli/m/error/option-as-value", "-m -serial stdio",
      { "-m: size '-serial' is not a number; it looks like an option: was "
        "the value left out?" } },
    { "/cli/m/error/option-as-maxmem", "-m 1G,slots=2,maxmem=--smp",
      { "-m: maxmem: size '--smp' is not a number; it looks like an "
        "option" } },
    /* Issue 15: what json-c would change silently in a JSON -object. */
    { "/cli/object/error/json-nul", "-object '{\"qom-type\": "
      "\"memory-backend-ram\", \"id\": \"m\\u0000x\", \"size\": 1048576}'",
      { "-object:", "is not a valid JSON object: \\u0000 in a string is "
        "not accepted" } },
    { "/cli/object/error/json-2-64", "-object '{\"qom-type\": "
      "\"memory-backend-ram\", \"id\": \"m\", \"size\": "
      "18446744073709551616}'",
      { "-object:", "integer 18446744073709551616 is too large (more than "
        "2^64-1)" } },
    { "/cli/object/error/json-nan", "-object '{\"qom-type\": "
      "\"memory-backend-ram\", \"id\": \"m\", \"size\": NaN}'",
      { "-object:", "NaN and Infinity are not JSON numbers" } },
    { "/cli/m/error/plus-sign", "-m +512M", { "-m:", "'+512M'" } },
    { "/cli/m/error/leading-space", "-m ' 512M'", { "-m:", "' 512M'" } },
    { "/cli/m/error/fraction-without-unit", "-m 1.5",
      { "-m:", "'1.5'", "fraction" } },
    { "/cli/m/error/fraction-without-whole", "-m .5G",
      { "-m:", "'.5G'", "decimal digit" } },
    { "/cli/m/error/fraction-misaligned", "-m 1.1G",
      { "-m:", "size 0x46666666", "page size" } },
    { "/cli/m/error/hex", "-m 0x1000", { "-m:", "'0x1000'", "decimal" } },
    { "/cli/m/error/overflow-digits", "-m 18446744073709551616B",
      { "-m:", "'18446744073709551616B'", "64 bits" } },
    { "/cli/m/error/overflow-suffix", "-m 17179869184G",
      { "-m:", "'17179869184G'", "64 bits" } },
    { "/cli/m/error/overflow-bare-mib", "-m 17592186044416",
      { "-m:", "'17592186044416'", "64 bits" } },
    /* -m values */
    { "/cli/m/error/zero", "-m 0", { "-m:", "size 0" } },
    { "/cli/m/error/zero-suffix", "-m 0G", { "-m:", "size 0" } },
    { "/cli/m/error/size-misaligned", "-m 4097K",
      { "-m:", "size 0x400400 (4097K)", "page size 0x1000 (4K)" } },
    { "/cli/m/error/size-bytes-misaligned", "-m 1000B",
      { "-m:", "size 0x3e8 (1000)", "page size" } },
    { "/cli/m/error/maxmem-misaligned", "-m 1G,slots=1,maxmem=2147483649",
      { "-m:", "maxmem 0x80000001 (2147483649)", "page size" } },
    { "/cli/m/error/maxmem-junk", "-m 1G,slots=1,maxmem=lots",
      { "-m:", "maxmem", "'lots'" } },
    { "/cli/m/error/maxmem-empty", "-m 1G,slots=1,maxmem=",
      { "-m:", "maxmem", "empty" } },
    { "/cli/m/error/maxmem-overflow", "-m 1G,slots=1,maxmem=16E",
      { "-m:", "maxmem", "'16E'" } },
    { "/cli/m/error/unknown-key", "-m 1G,foo=2", { "-m:", "'foo'" } },
                { "/cli/m/error/not-key-value", "-m 1G,slots", { "-m:", "'slots'" } },
    { "/cli/m/error/trailing-comma", "-m 1G,", { "-m:", "'1G,'" } },
    { "/cli/m/error/maxmem-below-size", "-m 512M,slots=1,maxmem=256M",
      { "-m: maxmem 0x10000000 (256M) is smaller than size 0x20000000 "
        "(512M)" } },
    { "/cli/m/error/slots-without-maxmem", "-m 1G,slots=2",
      { "-m:", "slots=2", "maxmem" } },
            { "/cli/m/error/maxmem-equal-with-slots", "-m 1G,slots=2,maxmem=1G",
      { "-m:", "maxmem 0x40000000 (1G) equals size", "slots=2" } },
    { "/cli/m/error/too-many-slots", "-m 1G,slots=257,maxmem=2G",
      { "-m:", "slots 257", "0..256" } },
    { "/cli/m/error/slots-overflow", "-m 1G,slots=99999999999999999999,"
      "maxmem=2G", { "-m:", "slots 99999999999999999999" } },
    { "/cli/m/error/slots-junk", "-m 1G,slots=x,maxmem=2G",
      { "-m:", "slots 'x'" } },
    { "/cli/m/error/slots-negative", "-m 1G,slots=-1,maxmem=2G",
      { "-m:", "slots '-1'" } },
    { "/cli/m/error/slots-trailing", "-m 1G,slots=2x,maxmem=2G",
      { "-m:", "slots '2x'" } },
    /* -smp */
    { "/cli/smp/error/zero", "-smp 0", { "-smp:", "cpus 0", "1..255" } },
    { "/cli/smp/error/too-many", "-smp 256", { "-smp:", "cpus 256" } },
    { "/cli/smp/error/junk", "-smp four", { "-smp:", "'four'" } },
    { "/cli/smp/error/empty", "-smp ''", { "-smp:", "''" } },
    { "/cli/smp/error/trailing", "-smp 4x", { "-smp:", "'4x'" } },
    { "/cli/smp/error/other-key", "-smp 4,books=2",
      { "-smp:", "'books'" } },
    { "/cli/smp/error/product", "-smp 2,sockets=1,cores=2,threads=2",
      { "-smp:", "sockets (1) * dies (1) * cores (2) * threads (2) is 4",
        "not maxcpus (2)" } },
    { "/cli/smp/error/maxcpus-below-cpus", "-smp 2,maxcpus=1",
      { "-smp:", "cpus (2) is more than maxcpus (1)" } },
    { "/cli/smp/error/maxcpus-too-many", "-smp 2,maxcpus=256",
      { "-smp:", "maxcpus 256" } },
    { "/cli/smp/error/topology-too-many", "-smp sockets=16,cores=16,threads=2",
      { "-smp:", "maxcpus 512" } },
    { "/cli/smp/error/zero-sockets", "-smp 2,sockets=0",
      { "-smp:", "sockets 0" } },
    { "/cli/smp/error/clusters", "-smp 4,clusters=2",
      { "-smp:", "clusters=2", "x86" } },
    /* -serial */
    { "/cli/serial/error/unknown", "-serial vc:80Cx24C",
      { "-serial:", "'vc:80Cx24C'" } },
    { "/cli/serial/error/mon-not-stdio", "-serial mon:unix:/s,server=on",
      { "-serial:", "mon:stdio", "HMP" } },
    { "/cli/serial/error/chardev-undefined", "-serial chardev:c9",
      { "-serial:", "chardev 'c9' is not defined" } },
    { "/cli/serial/error/chardev-socket",
      "-chardev socket,id=s,path=/s,server=on -serial chardev:s",
      { "-serial:", "chardev 's' is a socket" } },
    { "/cli/serial/error/pty", "-serial pty", { "-serial:", "'pty'" } },
    { "/cli/serial/error/empty", "-serial ''", { "-serial:", "''" } },
    { "/cli/serial/error/file-without-path", "-serial file:",
      { "-serial:", "file:" } },
    /* paths and names */
    { "/cli/kernel/error/empty", "-kernel ''", { "-kernel:", "empty" } },
    { "/cli/initrd/error/empty", "-initrd ''", { "-initrd:", "empty" } },
    { "/cli/pidfile/error/empty", "-pidfile ''", { "-pidfile:", "empty" } },
    { "/cli/name/error/other-key", "-name vm,foo=x",
      { "-name:", "'foo'" } },
    { "/cli/name/error/debug-threads-not-bool", "-name vm,debug-threads=2",
      { "-name:", "debug-threads '2'", "boolean" } },
    /* -daemonize */
    { "/cli/daemonize/error/serial-stdio", "-daemonize -serial stdio",
      { "-daemonize:", "-serial stdio" } },
    { "/cli/daemonize/error/serial-stdio-first", "-serial stdio -daemonize",
      { "-daemonize:", "-serial stdio" } },
    { "/cli/daemonize/error/serial-stdio-last-wins",
      "-serial none -daemonize -serial stdio",
      { "-daemonize:", "-serial stdio" } },
    /* -numa */
    { "/cli/numa/error/not-node", "-numa dist,src=0,dst=1",
      { "-numa", "'node'" } },
    { "/cli/numa/error/unknown-key", "-numa node,size=1G",
      { "-numa", "'size'" } },
    { "/cli/numa/error/duplicate-id", "-numa node,nodeid=1 -numa node,nodeid=1",
      { "-numa", "node 1", "twice" } },
    { "/cli/numa/error/nodeid-range", "-numa node,nodeid=64",
      { "-numa", "nodeid" } },
    /* Found by fuzz-cli: an empty cpus= crashed the parser. */
    { "/cli/numa/error/cpus-empty", "-numa node,cpus=",
      { "-numa: cpus '' is not a decimal number" } },
    { "/cli/numa/error/cpus-open-range", "-numa node,cpus=1-",
      { "-numa: cpus '' is not a decimal number" } },
    /* QEMU 7.2 refuses both (pc and q35 since 5.1) */
    { "/cli/numa/error/mem", "-m 1G -numa node,mem=1G",
      { "-numa: mem=1G is not supported", "memdev=ID" } },
    { "/cli/numa/error/no-memory", "-m 1G -numa node",
      { "-numa: no node has memory", "0x40000000" } },
    { "/cli/numa/error/no-memory-two-nodes", "-m 1G -numa node -numa node",
      { "-numa: no node has memory" } },
    { "/cli/numa/error/json-not-object", "-numa '{bad'",
      { "-numa", "not a valid JSON object" } },
    { "/cli/numa/error/json-no-type", "-numa '{\"nodeid\": 0}'",
      { "-numa", "no \"type\"" } },
    { "/cli/numa/error/cpu-twice", "-smp 2 -numa node,cpus=0-1,memdev=m "
      "-numa node,cpus=1",
      { "-numa", "cpu 1", "nodes 0 and 1" } },
    { "/cli/numa/error/cpu-beyond-smp", "-smp 2 -numa node,cpus=0-3,memdev=m",
      { "-numa", "cpu 2", "-smp" } },
    { "/cli/numa/error/cpus-reversed", "-smp 4 -numa node,cpus=3-1",
      { "-numa", "3-1" } },
    { "/cli/dump-acpi/error/missing-dir", "-dump-acpi",
      { "-dump-acpi", "requires an argument" } },
    /* -action */
    { "/cli/action/error/watchdog", "-action watchdog=pause",
      { "-action: unknown key 'watchdog'", "no watchdog" } },
    { "/cli/action/error/shutdown-value", "-action shutdown=reboot",
      { "-action: shutdown=reboot is not supported" } },
    { "/cli/action/error/panic-pause", "-action panic=pause",
      { "-action: panic=pause is not supported" } },
    /* -cpu */
    { "/cli/cpu/error/unknown-model", "-cpu Skylake-Client",
      { "-cpu: model 'Skylake-Client' is not available",
        "host, max, qemu64, kvm64" } },
    { "/cli/cpu/error/phys-bits-low", "-cpu host,phys-bits=31",
      { "-cpu:", "phys-bits 31", "32..52" } },
    { "/cli/cpu/error/phys-bits-high", "-cpu max,phys-bits=53",
      { "-cpu:", "phys-bits 53", "32..52" } },
    { "/cli/cpu/error/host-phys-bits-not-bool", "-cpu host,host-phys-bits=2",
      { "-cpu:", "host-phys-bits '2'", "boolean" } },
    { "/cli/cpu/error/feature-flag", "-cpu qemu64,+avx",
      { "-cpu:", "'+avx'" } },
    { "/cli/cpu/error/feature-key", "-cpu host,avx=on",
      { "-cpu: property 'avx' is not supported" } },
    { "/cli/cpu/error/no-model", "-cpu phys-bits=40",
      { "-cpu:", "names no model" } },
    /* -chardev, -mon, -monitor */
    { "/cli/chardev/error/backend", "-chardev pty,id=p",
      { "-chardev: backend 'pty' is not available", "socket, stdio" } },
    { "/cli/chardev/error/no-id", "-chardev socket,path=/s,server=on",
      { "-chardev:", "no id=" } },
    { "/cli/chardev/error/bad-id", "-chardev null,id=1x",
      { "-chardev: id '1x' is not an identifier" } },
    { "/cli/chardev/error/id-twice", "-chardev null,id=a -chardev null,id=a",
      { "-chardev: id 'a' is used twice" } },
    { "/cli/chardev/error/no-address", "-chardev socket,id=s,server=on",
      { "-chardev: socket 's' needs exactly one address" } },
    { "/cli/chardev/error/two-addresses",
      "-chardev socket,id=s,path=/s,fd=3,server=on",
      { "-chardev: socket 's' needs exactly one address" } },
    { "/cli/chardev/error/host-without-port",
      "-chardev socket,id=s,host=localhost,server=on",
      { "-chardev: socket 's': host= needs port=" } },
    { "/cli/chardev/error/fd-junk", "-chardev socket,id=s,fd=x,server=on",
      { "-chardev:", "fd 'x'" } },
    { "/cli/chardev/error/telnet", "-chardev socket,id=s,port=4,telnet=on",
      { "-chardev: telnet=on is not supported" } },
    { "/cli/chardev/error/unknown-key", "-chardev socket,id=s,path=/s,x=1",
      { "-chardev: socket: unknown key 'x'" } },
    { "/cli/chardev/error/file-no-path", "-chardev file,id=f",
      { "-chardev: file 'f' needs path=PATH" } },
    { "/cli/chardev/error/logfile", "-chardev null,id=n,logfile=/l",
      { "-chardev: logfile= is not supported" } },
    { "/cli/chardev/error/stdio-signal-off", "-chardev stdio,id=c,signal=off",
      { "-chardev: stdio: signal=off is not supported" } },
    { "/cli/mon/error/readline-default", "-chardev null,id=c -mon chardev=c",
      { "-mon: mode=readline", "HMP", "mode=control" } },
    { "/cli/mon/error/undefined-chardev", "-mon chardev=nope,mode=control",
      { "-mon: chardev 'nope' is not defined" } },
    { "/cli/mon/error/stdio", "-chardev stdio,id=c -mon c,mode=control",
      { "-mon: chardev 'c' is stdio", "sockets only" } },
    { "/cli/mon/error/file", "-chardev file,id=c,path=/f "
      "-mon c,mode=control", { "-mon: chardev 'c' is a file" } },
    { "/cli/mon/error/client-socket", "-chardev socket,id=c,path=/s "
      "-mon c,mode=control", { "-mon: chardev 'c' has server=off",
                               "only listens" } },
    { "/cli/mon/error/no-chardev", "-mon mode=control",
      { "-mon: chardev=ID is missing" } },
    { "/cli/mon/error/mode", "-mon c,mode=qmp", { "-mon: mode 'qmp'" } },
    { "/cli/monitor/error/stdio", "-monitor stdio",
      { "-monitor stdio:", "HMP" } },
    /* things hotmem does not have */
    { "/cli/display/error/gtk", "-display gtk",
      { "-display: 'gtk' is not available", "-display none" } },
    { "/cli/display/error/none-options", "-display none,gl=on",
      { "-display: none takes no options" } },
    { "/cli/overcommit/error/cpu-pm", "-overcommit cpu-pm=on",
      { "-overcommit: cpu-pm=on is not supported" } },
    { "/cli/overcommit/error/key", "-overcommit mem=on",
      { "-overcommit: unknown key 'mem'" } },
    { "/cli/msg/error/not-bool", "-msg timestamp=maybe",
      { "-msg: timestamp 'maybe' is not a boolean" } },
    { "/cli/rtc/error/clock", "-rtc clock=wall",
      { "-rtc: clock 'wall' is not one of host|rt|vm" } },
    { "/cli/boot/error/key", "-boot foo=1",
      { "-boot: unknown key 'foo'", "strict" } },
    { "/cli/machine/error/type", "-M microvm",
      { "-machine: type 'microvm' is not supported", "pc-q35-7.2" } },
    { "/cli/machine/error/type-version", "-M pc-q35-latest",
      { "-machine: type 'pc-q35-latest'" } },
    { "/cli/machine/error/usb-on", "-M q35,usb=on",
      { "-machine: usb=on is not supported", "USB" } },
    { "/cli/machine/error/acpi-off", "-M q35,acpi=off",
      { "-machine: acpi=off is not supported" } },
    { "/cli/machine/error/unknown", "-M q35,foo=on",
      { "-machine: unknown property 'foo'" } },
    /* boot RAM from a backend */
    { "/cli/memory-backend/error/no-object", "-M q35,memory-backend=r0",
      { "-machine: memory-backend 'r0' names no -object" } },
    { "/cli/memory-backend/error/size", "-m 1G -M memory-backend=r0 "
      "-object memory-backend-ram,id=r0,size=2G",
      { "-machine: memory-backend 'r0' has size 0x80000000",
        "-m size is 0x40000000" } },
    { "/cli/memory-backend/error/numa", "-M memory-backend=r0 "
      "-object memory-backend-ram,id=r0,size=1G -numa node,memdev=r0",
      { "memory-backend=r0 and -numa memdev=" } },
    { "/cli/mem-path/error/with-memory-backend", "-mem-path /dev/hugepages "
      "-M memory-backend=r0 -object memory-backend-ram,id=r0,size=1G",
      { "-mem-path:", "memory-backend=r0" } },
    { "/cli/mem-path/error/pc-ram-taken", "-mem-prealloc "
      "-object memory-backend-ram,id=pc.ram,size=1G",
      { "-object: id 'pc.ram'" } },
    { "/cli/mem-path/error/empty", "-mem-path ''", { "-mem-path:", "empty" } },
    { "/cli/readconfig/error/missing", "-readconfig /nonexistent/x.cfg",
      { "-readconfig:", "/nonexistent/x.cfg" } },
    /* -accel */
    { "/cli/accel/error/not-kvm", "-accel tcg", { "-accel", "'tcg'" } },
    { "/cli/accel/error/not-power-of-two", "-accel kvm,dirty-ring-size=3000",
      { "-accel", "power of two", "3000" } },
    { "/cli/accel/error/unknown-key", "-accel kvm,thread=multi",
      { "-accel", "'thread'" } },
    { "/cli/accel/error/not-a-number", "-accel kvm,dirty-ring-size=big",
      { "-accel", "'big'" } },
};

static char **make_argv(const char *args, int *argc)
{
    g_autofree char *line = g_strconcat("hotmem ", args, NULL);
    GError *err = NULL;
    char **argv = NULL;

    g_assert_true(g_shell_parse_argv(line, argc, &argv, &err));
    g_assert_no_error(err);
    return argv;
}

static void assert_str(const char *got, const char *want)
{
    g_assert_cmpstr(got, ==, want);
}

static void assert_options(const struct cli_options *got,
                           const struct cli_options *want)
{
    g_assert_cmpuint(got->ram_size, ==,
                     want->ram_size ? want->ram_size : CLI_DEFAULT_RAM);
    g_assert_cmpuint(got->slots, ==, want->slots);
    g_assert_cmpuint(got->maxmem, ==, want->maxmem);
    g_assert_cmpuint(got->smp, ==, want->smp ? want->smp : 1);
    assert_str(got->kernel, want->kernel);
    assert_str(got->initrd, want->initrd);
    assert_str(got->append, want->append);
    g_assert_cmpint(got->serial, ==, want->serial);
    assert_str(got->serial_path, want->serial_path);
    g_assert_cmpint(got->start_paused, ==, want->start_paused);
    assert_str(got->name, want->name);
    assert_str(got->pidfile, want->pidfile);
    g_assert_cmpint(got->daemonize, ==, want->daemonize);
    g_assert_cmpint(got->show_version, ==, want->show_version);
    g_assert_cmpint(got->show_help, ==, want->show_help);
}

static void test_ok(gconstpointer data)
{
    const struct ok_case *c = data;
    struct cli_options o;
    GError *err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(c->args, &argc);

    g_assert_true(cli_parse(argc, argv, &o, &err));
    g_assert_no_error(err);
    assert_options(&o, &c->want);
    cli_options_clear(&o);
}

static void test_err(gconstpointer data)
{
    const struct err_case *c = data;
    static const struct cli_options cleared = { 0 };
    struct cli_options o;
    GError *err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(c->args, &argc);

    g_assert_false(cli_parse(argc, argv, &o, &err));
    g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
    g_test_message("%s -> %s", c->args, err->message);
    for (unsigned i = 0; i < G_N_ELEMENTS(c->needles) && c->needles[i]; i++) {
        if (!strstr(err->message, c->needles[i]))
            g_error("message \"%s\" lacks \"%s\"", err->message,
                    c->needles[i]);
    }
    assert_options(&o, &cleared);
    g_error_free(err);
}

/* An error after options that allocated leaves nothing behind. */
static void test_error_clears(void)
{
    char *argv[] = { "hotmem", "-kernel", "/k", "-initrd", "/i", "-append",
                     "a", "-name", "n", "-pidfile", "/p", "-serial",
                     "file:/s", "-S", "-m", "2G", "-smp", "2", "-m", "0",
                     NULL };
    static const struct cli_options cleared = { 0 };
    struct cli_options o;
    GError *err = NULL;

    g_assert_false(cli_parse(G_N_ELEMENTS(argv) - 1, argv, &o, &err));
    g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
    assert_options(&o, &cleared);
    cli_options_clear(&o);
    assert_options(&o, &cleared);
    g_error_free(err);
}

/* argc counts, not the NULL terminator, end the command line. */
static void test_argc_bounds(void)
{
    char *argv[] = { "hotmem", "-m", "1G", "-bogus", NULL };
    struct cli_options o;
    GError *err = NULL;

    g_assert_true(cli_parse(3, argv, &o, &err));
    g_assert_cmpuint(o.ram_size, ==, GiB);
    cli_options_clear(&o);
    g_assert_false(cli_parse(2, argv, &o, &err));
    g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "-m requires an argument"));
    g_error_free(err);
}

static void test_init_clear(void)
{
    struct cli_options o;

    cli_options_init(&o);
    g_assert_cmpuint(o.ram_size, ==, CLI_DEFAULT_RAM);
    g_assert_cmpuint(o.smp, ==, 1);
    g_assert_cmpint(o.serial, ==, CLI_SERIAL_STDIO);
    o.kernel = g_strdup("/k");
    o.name = g_strdup("n");
    cli_options_clear(&o);
    g_assert_null(o.kernel);
    g_assert_null(o.name);
    g_assert_cmpuint(o.ram_size, ==, CLI_DEFAULT_RAM);
    cli_options_clear(&o);
}

struct size_case {
    const char *s;
    uint64_t unit;
    uint64_t want;      /* 0: must fail */
};

static void test_parse_size(void)
{
    static const struct size_case cases[] = {
        { "0", 1, 0 }, { "1", 1, 1 }, { "1", MiB, MiB }, { "1", GiB, GiB },
        { "3k", 1, 3 * KiB }, { "3K", MiB, 3 * KiB }, { "7M", 1, 7 * MiB },
        { "2g", 1, 2 * GiB }, { "2T", 1, 2 * TiB }, { "1P", 1, 1ULL << 50 },
        { "15E", 1, 15ULL << 60 }, { "5b", MiB, 5 },
        { "18446744073709551615", 1, UINT64_MAX },
    };
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "x", "1x", "1KB", "1.0", "1,5",
        "16E", "18446744073709551616", "99999999999999999999999",
        "0x10",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t v = 42;
        GError *err = NULL;

        g_assert_true(cli_parse_size(cases[i].s, cases[i].unit, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, cases[i].want);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint64_t v = 42;
        GError *err = NULL;
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);

        g_assert_false(cli_parse_size(bad[i], 1, &v, &err));
        g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
        g_assert_nonnull(strstr(err->message, quoted));
        g_assert_cmpuint(v, ==, 42);
        g_error_free(err);
    }
    /* An overflow that only the default unit causes. */
    {
        uint64_t v = 42;
        GError *err = NULL;

        g_assert_false(cli_parse_size("17592186044416", MiB, &v, &err));
        g_assert_error(err, CLI_ERROR, CLI_ERROR_INVALID);
        g_error_free(err);
    }
}

static void test_usage(void)
{
    static const char *const opts[] = {
        "-m [size=]SIZE[,slots=N,maxmem=SIZE]", "-smp ", "-kernel PATH",
        "-initrd PATH", "-append STRING", "-serial stdio|mon:stdio|file:PATH",
        "-cpu host|max", "-chardev ", "-mon ", "-no-shutdown ",
        "-no-reboot ", "-mem-path PATH", "-mem-prealloc ", "-readconfig FILE",
        "-nodefaults ", "-display none", "-enable-kvm ",
        "-S ", "-name ", "-pidfile PATH", "-daemonize ", "-version ", "-h ",
        "-help ",
    };
    const char *u = cli_usage();

    g_assert_nonnull(u);
    g_assert_true(u == cli_usage());
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *line = g_strconcat("\n  ", opts[i], NULL);

        if (!strstr(u, line))
            g_error("usage lacks a line for %s:\n%s", opts[i], u);
    }
}

static void parse_ok(const char *line, struct cli_options *o)
{
    g_autoptr(GError) err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(line, &argc);

    if (!cli_parse(argc, argv, o, &err))
        g_error("%s: %s", line, err->message);
}

/* memdev= and cpus=: kept as written; vCPUs map to their nodes. */
static void test_numa_explicit(void)
{
    struct cli_options o;

    parse_ok("-m 6G -smp 4 -object memory-backend-ram,id=m3,size=2G "
             "-object memory-backend-ram,id=m5,size=4G "
             "-numa node,nodeid=3,memdev=m3,cpus=0-1 "
             "-numa node,nodeid=5,memdev=m5,cpus=2,cpus=3", &o);
    g_assert_cmpuint(o.nr_numa, ==, 2);
    g_assert_cmpuint(o.numa[0].nodeid, ==, 3);
    g_assert_cmpstr(o.numa[0].memdev, ==, "m3");
    g_assert_cmpuint(o.numa[1].nodeid, ==, 5);
    g_assert_cmpstr(o.numa[1].memdev, ==, "m5");
    g_assert_cmpuint(o.cpu_node[0], ==, 3);
    g_assert_cmpuint(o.cpu_node[1], ==, 3);
    g_assert_cmpuint(o.cpu_node[2], ==, 5);
    g_assert_cmpuint(o.cpu_node[3], ==, 5);
    cli_options_clear(&o);
}

/* A node without memdev= has no memory (QEMU accepts it beside others). */
static void test_numa_memoryless(void)
{
    struct cli_options o;

    parse_ok("-m 1G -smp 3 -object memory-backend-ram,id=r0,size=1G "
             "-numa node,memdev=r0 -numa node -numa node", &o);
    g_assert_cmpuint(o.nr_numa, ==, 3);
    g_assert_cmpstr(o.numa[0].memdev, ==, "r0");
    g_assert_null(o.numa[1].memdev);
    g_assert_null(o.numa[2].memdev);
    g_assert_cmpuint(o.numa[2].nodeid, ==, 2);
    /* vCPUs no node claims are spread round-robin. */
    g_assert_cmpuint(o.cpu_node[0], ==, 0);
    g_assert_cmpuint(o.cpu_node[1], ==, 1);
    g_assert_cmpuint(o.cpu_node[2], ==, 2);
    cli_options_clear(&o);
}

/* libvirt's spelling, with QMP's NumaOptions as JSON too. */
static void test_numa_libvirt(void)
{
    struct cli_options o;

    parse_ok("-m size=2097152k,slots=16,maxmem=8388608k -smp 4 "
             "-object '{\"qom-type\":\"memory-backend-ram\",\"id\":"
             "\"ram-node0\",\"size\":1073741824}' "
             "-numa node,nodeid=0,cpus=0-1,memdev=ram-node0 "
             "-object '{\"qom-type\":\"memory-backend-ram\",\"id\":"
             "\"ram-node1\",\"size\":1073741824}' "
             "-numa '{\"type\":\"node\",\"nodeid\":1,\"cpus\":[2,3],"
             "\"memdev\":\"ram-node1\"}' "
             "-device '{\"driver\":\"pc-dimm\",\"node\":0,\"memdev\":"
             "\"ram-node0\",\"id\":\"dimm0\",\"slot\":0}'", &o);
    g_assert_cmpuint(o.ram_size, ==, 2 * GiB);
    g_assert_cmpuint(o.slots, ==, 16);
    g_assert_cmpuint(o.nr_numa, ==, 2);
    g_assert_cmpstr(o.numa[1].memdev, ==, "ram-node1");
    g_assert_cmpuint(o.cpu_node[1], ==, 0);
    g_assert_cmpuint(o.cpu_node[2], ==, 1);
    g_assert_cmpuint(o.cpu_node[3], ==, 1);
    g_assert_cmpuint(o.objects->len, ==, 2);
    g_assert_cmpuint(o.devices->len, ==, 1);
    cli_options_clear(&o);
}

static void test_smp_topology(void)
{
    static const struct {
        const char *args;
        uint32_t cpus, maxcpus, sockets, dies, cores, threads;
    } cases[] = {   /* as QEMU 7.2's query-hotpluggable-cpus shows them */
        { "-smp 2,maxcpus=4", 2, 4, 1, 1, 4, 1 },
        { "-smp sockets=1,cores=2", 2, 2, 1, 1, 2, 1 },
        { "-smp cores=2", 2, 2, 1, 1, 2, 1 },
        { "-smp 4,sockets=2", 4, 4, 2, 1, 2, 1 },
        { "-smp maxcpus=4", 4, 4, 1, 1, 4, 1 },
        { "-smp sockets=2,cores=2,maxcpus=8", 8, 8, 2, 1, 2, 2 },
        { "-smp 2,dies=2", 2, 2, 1, 2, 1, 1 },
        { "-smp 6,sockets=2,cores=3", 6, 6, 2, 1, 3, 1 },
        { "-smp 3", 3, 3, 1, 1, 3, 1 },
        { "", 1, 1, 1, 1, 1, 1 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct cli_options o;

        parse_ok(cases[i].args, &o);
        g_test_message("%s", cases[i].args);
        g_assert_cmpuint(o.smp, ==, cases[i].cpus);
        g_assert_cmpuint(o.maxcpus, ==, cases[i].maxcpus);
        g_assert_cmpuint(o.sockets, ==, cases[i].sockets);
        g_assert_cmpuint(o.dies, ==, cases[i].dies);
        g_assert_cmpuint(o.cores, ==, cases[i].cores);
        g_assert_cmpuint(o.threads, ==, cases[i].threads);
        cli_options_clear(&o);
    }
}

static void test_cpu(void)
{
    struct cli_options o;

    parse_ok("", &o);
    g_assert_null(o.cpu.model);
    g_assert_cmpint(o.cpu.host_phys_bits, ==, -1);
    cli_options_clear(&o);
    parse_ok("-cpu host,phys-bits=39", &o);
    g_assert_cmpstr(o.cpu.model, ==, "host");
    g_assert_cmpuint(o.cpu.phys_bits, ==, 39);
    cli_options_clear(&o);
    parse_ok("-cpu max,host-phys-bits=on,host-phys-bits-limit=42,"
             "migratable=on -cpu qemu64,host-phys-bits=off", &o);
    g_assert_cmpstr(o.cpu.model, ==, "qemu64");     /* the last -cpu */
    g_assert_cmpint(o.cpu.host_phys_bits, ==, 0);
    g_assert_cmpuint(o.cpu.host_phys_bits_limit, ==, 0);
    cli_options_clear(&o);
    parse_ok("-cpu kvm64,host-phys-bits=on,host-phys-bits-limit=42", &o);
    g_assert_cmpint(o.cpu.host_phys_bits, ==, 1);
    g_assert_cmpuint(o.cpu.host_phys_bits_limit, ==, 42);
    cli_options_clear(&o);
}

static void assert_qmp_specs(const char *args, const char *const *want)
{
    struct cli_options o;
    guint n = g_strv_length((char **)want);

    parse_ok(args, &o);
    g_assert_cmpuint(o.qmp ? o.qmp->len : 0, ==, n);
    for (guint i = 0; i < n; i++)
        g_assert_cmpstr(o.qmp->pdata[i], ==, want[i]);
    cli_options_clear(&o);
}

/* -chardev socket + -mon mode=control: one more QMP listener. */
static void test_chardev_mon(void)
{
    static const char *const libvirt_fd[] = {
        "fd:23,server=on,wait=off", NULL };
    static const char *const libvirt_path[] = {
        "unix:/var/lib/libvirt/qemu/domain-1-vm/monitor.sock,server=on,"
        "wait=off", NULL };
    static const char *const tcp_and_qmp[] = {
        "unix:/q,server=on,wait=off", "tcp:127.0.0.1:4444,server=on,wait=on",
        "tcp::5555,server=on,wait=off", NULL };
    static const char *const comma[] = {
        "unix:/a,,b,server=on,wait=off", NULL };
    static const char *const none[] = { NULL };
    static const char *const pretty[] = { "unix:/p,server=on,wait=off",
                                          NULL };

    assert_qmp_specs("-chardev socket,id=charmonitor,fd=23,server=on,"
                     "wait=off -mon chardev=charmonitor,id=monitor,"
                     "mode=control", libvirt_fd);
    assert_qmp_specs("-chardev socket,id=charmonitor,path=/var/lib/libvirt/"
                     "qemu/domain-1-vm/monitor.sock,server=on,wait=off "
                     "-mon chardev=charmonitor,id=monitor,mode=control",
                     libvirt_path);
    /* -mon before its -chardev; -qmp first as written */
    assert_qmp_specs("-qmp unix:/q,server=on,wait=off "
                     "-mon c1,mode=control,pretty=on -mon c2,mode=control "
                     "-chardev socket,id=c1,host=127.0.0.1,port=4444,"
                     "server=on,nodelay=on "
                     "-chardev socket,id=c2,port=5555,server=on,wait=off",
                     tcp_and_qmp);
    assert_qmp_specs("-chardev socket,id=c,path=/a,,b,server=on,wait=off "
                     "-mon c,mode=control", comma);
    assert_qmp_specs("-qmp-pretty unix:/p,server=on,wait=off", pretty);
    /* a monitor on a null chardev reads nothing: no listener */
    assert_qmp_specs("-chardev null,id=n -mon n,mode=control -monitor none",
                     none);
}

static void test_runtime_flags(void)
{
    struct cli_options o;

    parse_ok("-action reboot=shutdown,shutdown=pause,panic=shutdown", &o);
    g_assert_true(o.no_shutdown);
    g_assert_true(o.no_reboot);
    cli_options_clear(&o);
    parse_ok("-no-reboot -no-shutdown -action reboot=reset "
             "-action shutdown=poweroff", &o);
    g_assert_false(o.no_shutdown);
    g_assert_false(o.no_reboot);
    cli_options_clear(&o);

    parse_ok("", &o);
    g_assert_false(o.no_shutdown);
    g_assert_false(o.no_reboot);
    g_assert_false(o.mem_lock);
    cli_options_clear(&o);
    parse_ok("-no-shutdown -no-reboot -overcommit mem-lock=on "
             "-name vm,process=hm-vm", &o);
    g_assert_true(o.no_shutdown);
    g_assert_true(o.no_reboot);
    g_assert_true(o.mem_lock);
    g_assert_cmpstr(o.process_name, ==, "hm-vm");
    g_assert_cmpstr(o.name, ==, "vm");
    cli_options_clear(&o);
}

static const char *bag_str(json_object *bag, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(bag, key, &v)
           ? json_object_get_string(v) : NULL;
}

/* -mem-path / -mem-prealloc: boot RAM in an -object called pc.ram. */
static void test_mem_path(void)
{
    struct cli_options o;
    json_object *bag;

    parse_ok("-m 512M -mem-path /dev/hugepages", &o);
    g_assert_cmpstr(o.memory_backend, ==, "pc.ram");
    g_assert_cmpuint(o.objects->len, ==, 1);
    bag = o.objects->pdata[0];
    g_assert_cmpstr(bag_str(bag, "qom-type"), ==, "memory-backend-file");
    g_assert_cmpstr(bag_str(bag, "mem-path"), ==, "/dev/hugepages");
    g_assert_cmpstr(bag_str(bag, "size"), ==, "536870912");
    g_assert_null(bag_str(bag, "prealloc"));
    cli_options_clear(&o);

    /* -mem-prealloc: prealloc=on is every backend's default. */
    parse_ok("-mem-prealloc -object memory-backend-ram,id=a,size=1G "
             "-object memory-backend-ram,id=b,size=1G,prealloc=off", &o);
    g_assert_cmpstr(o.memory_backend, ==, "pc.ram");
    g_assert_cmpuint(o.objects->len, ==, 3);
    bag = o.objects->pdata[0];
    g_assert_cmpstr(bag_str(bag, "id"), ==, "pc.ram");
    g_assert_cmpstr(bag_str(bag, "qom-type"), ==, "memory-backend-ram");
    g_assert_cmpstr(bag_str(bag, "prealloc"), ==, "true");
    g_assert_cmpstr(bag_str(o.objects->pdata[1], "prealloc"), ==, "true");
    g_assert_cmpstr(bag_str(o.objects->pdata[2], "prealloc"), ==, "off");
    g_assert_true(o.mem_prealloc);
    cli_options_clear(&o);
}

/* -M memory-backend=ID: without -m, the backend's size is the RAM size. */
static void test_memory_backend(void)
{
    struct cli_options o;

    parse_ok("-M q35,memory-backend=r0 -object '{\"qom-type\":"
             "\"memory-backend-ram\",\"id\":\"r0\",\"size\":2147483648}'",
             &o);
    g_assert_cmpstr(o.memory_backend, ==, "r0");
    g_assert_cmpuint(o.ram_size, ==, 2 * GiB);
    g_assert_cmpuint(o.objects->len, ==, 1);
    cli_options_clear(&o);
    parse_ok("-m 1G -M pc-q35-7.2,memory-backend=pc.ram -object "
             "memory-backend-ram,id=pc.ram,size=1G -mem-prealloc", &o);
    g_assert_cmpstr(o.memory_backend, ==, "pc.ram");
    g_assert_cmpuint(o.objects->len, ==, 1);    /* no second pc.ram */
    cli_options_clear(&o);
}

static void test_readconfig(void)
{
    g_autofree char *dir = g_dir_make_tmp("hotmem-cli-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "vm.cfg", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.cfg", NULL);
    g_autofree char *args = g_strdup_printf("-smp 1 -readconfig %s -S",
                                            path);
    g_autofree char *bad_args = g_strdup_printf("-readconfig %s", bad);
    struct cli_options o;
    g_autoptr(GError) err = NULL;
    int argc;
    g_auto(GStrv) argv = make_argv(bad_args, &argc);

    g_assert_true(g_file_set_contents(path,
        "# qemu config file\n\n[machine]\n  type = \"q35\"\n"
        "[memory]\n  size = \"1024\"\n  slots = \"4\"\n  maxmem = \"4G\"\n"
        "[smp-opts]\n  cpus = \"2\"\n  maxcpus = \"4\"\n"
        "[name]\n  guest = \"a,b\"\n"
        "[object \"m0\"]\n  qom-type = \"memory-backend-ram\"\n"
        "  size = \"256M\"\n"
        "[device \"d0\"]\n  driver = \"pc-dimm\"\n  memdev = \"m0\"\n",
        -1, NULL));
    parse_ok(args, &o);
    g_assert_cmpuint(o.ram_size, ==, GiB);
    g_assert_cmpuint(o.slots, ==, 4);
    g_assert_cmpuint(o.smp, ==, 2);
    g_assert_cmpuint(o.maxcpus, ==, 4);
    g_assert_cmpstr(o.name, ==, "a,b");
    g_assert_true(o.start_paused);
    g_assert_cmpuint(o.objects->len, ==, 1);
    g_assert_cmpstr(bag_str(o.objects->pdata[0], "id"), ==, "m0");
    g_assert_cmpstr(bag_str(o.devices->pdata[0], "id"), ==, "d0");
    cli_options_clear(&o);

    g_assert_true(g_file_set_contents(bad,
        "[memory]\n  size = \"1G\"\n[drive \"hd\"]\n  file = \"x\"\n", -1,
        NULL));
    g_assert_false(cli_parse(argc, argv, &o, &err));
    g_assert_nonnull(strstr(err->message, "bad.cfg:3: section [drive] is "
                            "not supported"));
    g_clear_error(&err);
    g_assert_true(g_file_set_contents(bad,
        "[memory]\n  size = \"1G\",\n", -1, NULL));
    g_assert_false(cli_parse(argc, argv, &o, &err));
    g_assert_nonnull(strstr(err->message, "bad.cfg:2: the value of 'size' "
                            "must be in double quotes"));
    g_clear_error(&err);
    g_assert_true(g_file_set_contents(bad,
        "[memory]\n  size = \"0x1\"\n", -1, NULL));
    g_assert_false(cli_parse(argc, argv, &o, &err));
    g_assert_nonnull(strstr(err->message, "bad.cfg:1: -m:"));
    g_unlink(bad);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_accel(void)
{
    struct cli_options o;

    parse_ok("-accel kvm,dirty-ring-size=4096", &o);
    g_assert_cmpuint(o.dirty_ring_size, ==, 4096);
    cli_options_clear(&o);
    parse_ok("-accel kvm", &o);
    g_assert_cmpuint(o.dirty_ring_size, ==, 0);
    cli_options_clear(&o);
}

static void test_dump_acpi(void)
{
    struct cli_options o;

    parse_ok("-dump-acpi /tmp/tables -m 512M,slots=4,maxmem=8G", &o);
    g_assert_cmpstr(o.dump_acpi, ==, "/tmp/tables");
    g_assert_cmpuint(o.slots, ==, 4);
    cli_options_clear(&o);
}

/* The machine configuration main() builds from o (its nodes in *nodes). */
static void config_from(const struct cli_options *o, struct machine_config *c,
                        struct acpi_numa_node **nodes, const char ***memdevs)
{
    *nodes = g_new0(struct acpi_numa_node, o->nr_numa + 1);
    *memdevs = g_new0(const char *, o->nr_numa + 1);
    for (unsigned i = 0; i < o->nr_numa; i++) {
        (*nodes)[i].id = o->numa[i].nodeid;
        (*memdevs)[i] = o->numa[i].memdev;
    }
    *c = (struct machine_config){
        .ram_size = o->ram_size, .slots = o->slots, .maxmem = o->maxmem,
        .smp = o->smp, .kernel_path = o->kernel, .initrd_path = o->initrd,
        .cmdline = o->append,
        .linux_memhp_default_off = !o->memhp_default_online,
        .dirty_ring_size = o->dirty_ring_size, .nr_nodes = o->nr_numa,
        .nodes = *nodes, .cpu_node = o->cpu_node, .node_memdev = *memdevs,
        .ram_memdev = o->memory_backend, .prealloc_default = o->mem_prealloc,
        .cpu = { .name = o->cpu.model, .phys_bits = o->cpu.phys_bits,
                 .host_phys_bits = o->cpu.host_phys_bits,
                 .host_phys_bits_limit = o->cpu.host_phys_bits_limit },
        .no_shutdown = o->no_shutdown, .no_reboot = o->no_reboot,
        .objects = o->objects ? (json_object *const *)o->objects->pdata
                              : NULL,
        .nr_objects = o->objects ? o->objects->len : 0,
        .devices = o->devices ? (json_object *const *)o->devices->pdata
                              : NULL,
        .nr_devices = o->devices ? o->devices->len : 0,
    };
}

/* The shell line x-query-cmdline would print for the machine line makes. */
static char *format_line(const char *line)
{
    struct cli_options o;
    struct machine_config c;
    g_autofree struct acpi_numa_node *nodes = NULL;
    g_autofree const char **memdevs = NULL;
    g_auto(GStrv) argv = NULL;
    char *text;

    parse_ok(line, &o);
    config_from(&o, &c, &nodes, &memdevs);
    argv = cli_format_config(&c);
    text = cli_format_shell("hotmem", argv);
    cli_options_clear(&o);
    return text;
}

/*
 * x-query-cmdline's text: every option the machine keeps, in the spelling
 * the parser reads back to the same machine (the line is a fixed point).
 */
static const struct {
    const char *path, *line, *want;
} format_cases[] = {
    { "/cli/format/plain", "-m 512M,slots=4,maxmem=8G -smp 2",
      "hotmem -m 512M,slots=4,maxmem=8G -smp 2 -cpu host" },
    { "/cli/format/odd-sizes", "-m 1025M,slots=1,maxmem=2097156K",
      "hotmem -m 1025M,slots=1,maxmem=2097156K -smp 1 -cpu host" },
    { "/cli/format/linux",
      "-m 1G -kernel /k/vmlinux -initrd '/k/init rd' "
      "-append 'console=ttyS0 a=b,c' -machine memhp-default-online=off "
      "-cpu qemu64,phys-bits=42 -no-reboot -no-shutdown -serial none -S",
      "hotmem -m 1G -smp 1 -cpu qemu64,phys-bits=42 "
      "-machine memhp-default-online=off -kernel /k/vmlinux "
      "-initrd '/k/init rd' -append 'console=ttyS0 a=b,c' -no-shutdown "
      "-no-reboot" },
    { "/cli/format/objects-devices",
      "-m 256M,slots=2,maxmem=2G -accel kvm,dirty-ring-size=4096 "
      "-object memory-backend-file,id=f1,size=64M,mem-path=/tmp/a,,b,share=on "
      "-object '{\"qom-type\": \"memory-backend-ram\", \"id\": \"r1\", "
      "\"size\": 1048576, \"host-nodes\": [0], \"policy\": \"bind\"}' "
      "-device pc-dimm,id=d1,memdev=f1,slot=1,addr=0x140000000,node=0",
      "hotmem -m 256M,slots=2,maxmem=2G -smp 1 -cpu host "
      "-accel kvm,dirty-ring-size=4096 "
      "-object memory-backend-file,id=f1,size=64M,mem-path=/tmp/a,,b,share=on "
      "-object '{\"qom-type\":\"memory-backend-ram\",\"id\":\"r1\","
      "\"size\":1048576,\"host-nodes\":[0],\"policy\":\"bind\"}' "
      "-device pc-dimm,id=d1,memdev=f1,slot=1,addr=0x140000000,node=0" },
    { "/cli/format/numa",
      "-m 6G -smp 5 -object memory-backend-ram,id=m3,size=2G "
      "-object memory-backend-ram,id=m5,size=4G "
      "-numa node,nodeid=3,memdev=m3,cpus=0-1,cpus=4 "
      "-numa node,nodeid=5,memdev=m5,cpus=2-3 -mem-prealloc",
      "hotmem -m 6G -smp 5 -cpu host "
      "-object memory-backend-ram,id=m3,size=2G,prealloc=on "
      "-object memory-backend-ram,id=m5,size=4G,prealloc=on "
      "-numa node,nodeid=3,memdev=m3,cpus=0-1,cpus=4 "
      "-numa node,nodeid=5,memdev=m5,cpus=2-3 -mem-prealloc" },
    { "/cli/format/mem-path", "-m 128M -mem-path /dev/shm/ram",
      "hotmem -m 128M -smp 1 -cpu host -machine memory-backend=pc.ram "
      "-object memory-backend-file,id=pc.ram,size=134217728,"
      "mem-path=/dev/shm/ram" },
};

static void test_format(gconstpointer data)
{
    const __typeof__(format_cases[0]) *c = data;
    g_autofree char *got = format_line(c->line);
    g_autofree char *again = format_line(got + strlen("hotmem "));

    g_assert_cmpstr(got, ==, c->want);
    g_assert_cmpstr(again, ==, got);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/numa/explicit", test_numa_explicit);
    g_test_add_func("/cli/numa/memoryless", test_numa_memoryless);
    g_test_add_func("/cli/numa/libvirt", test_numa_libvirt);
    g_test_add_func("/cli/smp/topology", test_smp_topology);
    g_test_add_func("/cli/cpu/models", test_cpu);
    g_test_add_func("/cli/chardev/mon-control", test_chardev_mon);
    g_test_add_func("/cli/flags/runtime", test_runtime_flags);
    g_test_add_func("/cli/mem-path/pc-ram", test_mem_path);
    g_test_add_func("/cli/memory-backend/size", test_memory_backend);
    g_test_add_func("/cli/readconfig/sections", test_readconfig);
    g_test_add_func("/cli/dump-acpi/dir", test_dump_acpi);
    g_test_add_func("/cli/accel/dirty-ring-size", test_accel);
    for (size_t i = 0; i < G_N_ELEMENTS(format_cases); i++)
        g_test_add_data_func(format_cases[i].path, &format_cases[i],
                             test_format);
    for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++)
        g_test_add_data_func(ok_cases[i].path, &ok_cases[i], test_ok);
    for (size_t i = 0; i < G_N_ELEMENTS(err_cases); i++)
        g_test_add_data_func(err_cases[i].path, &err_cases[i], test_err);
    g_test_add_func("/cli/error/clears-options", test_error_clears);
    g_test_add_func("/cli/argc-bounds", test_argc_bounds);
    g_test_add_func("/cli/init-clear", test_init_clear);
    g_test_add_func("/cli/parse-size/table", test_parse_size);
    g_test_add_func("/cli/usage/every-option", test_usage);
    return g_test_run();
}
