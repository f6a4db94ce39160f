/*
 * Command-line parsing, QEMU spelling. Pure: parses into struct cli_options
 * and reports bad input through GError naming the option; never exits.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#define CLI_DEFAULT_RAM     (256ULL << 20)
#define CLI_MAX_SLOTS       256
#define CLI_MAX_SMP         255

#define CLI_MAX_NUMA_NODES  64

enum cli_serial { CLI_SERIAL_STDIO, CLI_SERIAL_FILE, CLI_SERIAL_NONE };

/* One -numa node (QEMU's -numa node,...). */
struct cli_numa_node {
    uint32_t nodeid;
    uint64_t mem;           /* 0 here: the memdev backend's size decides */
    char *memdev;           /* memdev= (NULL: a node without memory) */
    uint64_t cpus[(CLI_MAX_SMP + 64) / 64];    /* cpus= bitmap */
};

/* -cpu MODEL[,phys-bits=N][,host-phys-bits=on|off][,...] */
struct cli_cpu {
    char *model;                /* NULL: host */
    uint32_t phys_bits;         /* phys-bits= (0: the model's default) */
    int host_phys_bits;         /* host-phys-bits=: -1 unset, 0 off, 1 on */
    uint32_t host_phys_bits_limit;  /* 0: none */
};

struct cli_options {
    uint64_t ram_size;      /* -m size= */
    bool ram_size_given;    /* -m gave a size (else memory-backend's) */
    uint32_t slots;         /* -m slots= (0: no hotplug) */
    uint64_t maxmem;        /* -m maxmem= (0 when not given) */
    uint32_t smp;           /* -smp [cpus=]: the vCPUs that exist */
    uint32_t maxcpus;       /* -smp maxcpus= (>= smp; no CPU hot-plug) */
    uint32_t sockets, dies, cores, threads;     /* -smp topology */
    struct cli_cpu cpu;     /* -cpu */
    char *kernel;           /* -kernel PATH or NULL (bundled guest) */
    char *initrd;
    char *append;
    enum cli_serial serial;
    char *serial_path;      /* for CLI_SERIAL_FILE */
    bool start_paused;      /* -S */
    char *incoming;         /* -incoming URI|defer (NULL: none) */
    bool no_shutdown;       /* -no-shutdown: guest power-off stops the VM */
    bool no_reboot;         /* -no-reboot: guest reset ends hotmem */
    bool mem_prealloc;      /* -mem-prealloc */
    char *mem_path;         /* -mem-path PATH */
    /*
     * Boot RAM's backend: -machine memory-backend=ID, or "pc.ram", the
     * -object that -mem-path / -mem-prealloc imply. NULL: anonymous RAM.
     */
    char *memory_backend;
    uint32_t dirty_ring_size;   /* -accel kvm,dirty-ring-size= (0: off) */
    char *name;             /* -name guest= */
    char *process_name;     /* -name process= */
    bool mem_lock;          /* -overcommit mem-lock=on: mlockall */
    char *pidfile;
    bool daemonize;
    bool show_version;
    bool show_help;
    struct cli_numa_node *numa;     /* nr_numa entries */
    unsigned nr_numa;
    uint32_t *cpu_node;             /* smp entries when nr_numa > 0 */
    char *dump_acpi;                /* -dump-acpi DIR */
    bool memhp_default_online;      /* -machine memhp-default-online= */
    GPtrArray *qmp;                 /* -qmp specs (char *) */
    GPtrArray *objects;             /* -object bags (json_object *) */
    GPtrArray *devices;             /* -device bags (json_object *) */
};

/* Error domain for bad command lines. */
#define CLI_ERROR (cli_error_quark())
GQuark cli_error_quark(void);
enum { CLI_ERROR_INVALID };

void cli_options_init(struct cli_options *o);
void cli_options_clear(struct cli_options *o);

/*
 * argv[0] is the program name. o need not be initialised: it is overwritten
 * (anything it held is not freed). On error, o is left cleared. A later
 * occurrence of an option replaces an earlier one. -h and -version stop the
 * parse at once, as in QEMU. With -daemonize the default serial is none.
 */
bool cli_parse(int argc, char **argv, struct cli_options *o, GError **err);

/*
 * Parses a size with an optional K/M/G/T suffix (powers of 1024; a bare
 * number for -m is MiB as in QEMU when default_unit is 1 << 20). Like
 * qemu_strtosz(), B, P and E are accepted too and case does not matter.
 * Decimal whole numbers only: fractions, signs and overflow are errors.
 */
bool cli_parse_size(const char *s, uint64_t default_unit, uint64_t *out,
                    GError **err);

/*
 * QEMU's two spellings of an object or device: "type,key=value,..." (the
 * first bare word goes to implied_key, ",," is a comma) or a JSON object.
 * Returns a new flat property bag; values of the first form are strings.
 */
json_object *cli_props_parse(const char *opt, const char *arg,
                             const char *implied_key, GError **err);

struct machine_config;
/*
 * The options that make a machine with c's configuration, as cli_parse()
 * reads them (x-query-cmdline, docs/migration.md): -m, -smp, -cpu,
 * -machine, -accel, every -object, -numa, -kernel, -initrd, -append,
 * -mem-prealloc, -no-shutdown, -no-reboot, every -device. Not what is the
 * new process's own (-serial, -qmp, -S, -incoming, -name, -pidfile, ...).
 * NULL-terminated, without the program name; g_strfreev() it.
 */
char **cli_format_config(const struct machine_config *c);
/*
 * One -object or -device bag as "VALUE,key=value,..." (implied_key's value
 * first, commas doubled), or as its JSON text when a value is a list or an
 * object; cli_props_parse() reads either back to the same bag.
 */
char *cli_format_props(json_object *bag, const char *implied_key);
/* program and argv as one line for a POSIX shell (words quoted as needed). */
char *cli_format_shell(const char *program, char *const *argv);

/* Text for -h. */
const char *cli_usage(void);
