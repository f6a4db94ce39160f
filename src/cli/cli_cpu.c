/* -cpu and -smp, QEMU spelling and QEMU's rules (docs/usage.md). */
#include <inttypes.h>
#include <string.h>

#include "boot/cpu_model.h"
#include "cli/cli_internal.h"

/* Properties of -cpu that only tune what hotmem already does. */
static const char *const cpu_quiet_keys[] = {
    "migratable", "check", "enforce", "kvm", "pmu", NULL,
};

static bool cpu_key(struct cli_cpu *c, const char *key, const char *val,
                    GError **err)
{
    uint64_t n;
    bool b;

    if (!strcmp(key, "phys-bits") || !strcmp(key, "host-phys-bits-limit")) {
        if (!cli_parse_count("-cpu", key, val, CPU_MODEL_MIN_PHYS_BITS,
                             CPU_MODEL_MAX_PHYS_BITS, &n, err))
            return false;
        *(!strcmp(key, "phys-bits") ? &c->phys_bits
                                    : &c->host_phys_bits_limit) = (uint32_t)n;
        return true;
    }
    if (!strcmp(key, "host-phys-bits")) {
        if (!cli_parse_onoff("-cpu", key, val, &b, err))
            return false;
        c->host_phys_bits = b;
        return true;
    }
    if (g_strv_contains(cpu_quiet_keys, key))
        return cli_parse_onoff("-cpu", key, val, &b, err);
    return cli_fail(err, "-cpu: property '%s' is not supported (hotmem "
                    "takes phys-bits, host-phys-bits, host-phys-bits-limit; "
                    "CPU features come with the model)", key);
}

/*
 * -cpu MODEL[,phys-bits=N][,host-phys-bits=on|off][,...]. "+feat" and
 * "-feat" are refused by cli_keyval_split() as elements without '='.
 */
bool cli_cpu_parse(struct cli_options *o, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-cpu", arg, "model", err);
    struct cli_cpu c = { .host_phys_bits = -1 };

    if (!kv)
        return false;
    if (strcmp(kv->pdata[0], "model"))
        return cli_fail(err, "-cpu: '%s' names no model first (expected one "
                        "of %s)", arg, cpu_model_names());
    if (!cpu_model_known(kv->pdata[1]))
        return cli_fail(err, "-cpu: model '%s' is not available (hotmem has "
                        "%s: host and max are every feature KVM offers, "
                        "qemu64 and kvm64 QEMU's x86-64 baselines)",
                        (char *)kv->pdata[1], cpu_model_names());
    for (guint i = 2; i < kv->len; i += 2) {
        if (!cpu_key(&c, kv->pdata[i], kv->pdata[i + 1], err))
            return false;
    }
    g_free(o->cpu.model);
    o->cpu = c;
    o->cpu.model = g_strdup(kv->pdata[1]);
    return true;
}

/* -smp keys as read; 0 means not given. */
struct smp_args {
    uint64_t cpus, maxcpus, sockets, dies, clusters, cores, threads;
};

static uint64_t *smp_field(struct smp_args *a, const char *key)
{
    return !strcmp(key, "cpus") ? &a->cpus :
           !strcmp(key, "maxcpus") ? &a->maxcpus :
           !strcmp(key, "sockets") ? &a->sockets :
           !strcmp(key, "dies") ? &a->dies :
           !strcmp(key, "clusters") ? &a->clusters :
           !strcmp(key, "cores") ? &a->cores :
           !strcmp(key, "threads") ? &a->threads : NULL;
}

/*
 * Fills in what was left out as QEMU 7.2 does for pc and q35 (cores are
 * preferred over sockets): with neither cpus nor maxcpus, a missing level
 * is 1; else maxcpus defaults to cpus, the first of cores, sockets, threads
 * missing takes what is left, the others are 1; cpus defaults to maxcpus.
 */
static void smp_complete(struct smp_args *a)
{
    uint64_t max;

    a->dies = a->dies ? a->dies : 1;
    a->clusters = a->clusters ? a->clusters : 1;
    if (!a->cpus && !a->maxcpus) {
        a->sockets = a->sockets ? a->sockets : 1;
        a->cores = a->cores ? a->cores : 1;
        a->threads = a->threads ? a->threads : 1;
    } else {
        max = a->maxcpus = a->maxcpus ? a->maxcpus : a->cpus;
        if (!a->cores) {
            a->sockets = a->sockets ? a->sockets : 1;
            a->threads = a->threads ? a->threads : 1;
            a->cores = max / (a->sockets * a->dies * a->threads);
        } else if (!a->sockets) {
            a->threads = a->threads ? a->threads : 1;
            a->sockets = max / (a->dies * a->cores * a->threads);
        }
        if (!a->threads)
            a->threads = max / (a->sockets * a->dies * a->cores);
    }
    if (!a->maxcpus)
        a->maxcpus = a->sockets * a->dies * a->cores * a->threads;
    if (!a->cpus)
        a->cpus = a->maxcpus;
}

static bool smp_check(const struct smp_args *a, const char *arg,
                      GError **err)
{
    uint64_t product = a->sockets * a->dies * a->cores * a->threads;

    if (a->clusters != 1)
        return cli_fail(err, "-smp: clusters=%" PRIu64 " is not supported: "
                        "x86 has no cluster level (as in QEMU)", a->clusters);
    if (product != a->maxcpus)
        return cli_fail(err, "-smp: '%s': sockets (%" PRIu64 ") * dies (%"
                        PRIu64 ") * cores (%" PRIu64 ") * threads (%" PRIu64
                        ") is %" PRIu64 ", not maxcpus (%" PRIu64 "): the "
                        "topology must multiply out to maxcpus", arg,
                        a->sockets, a->dies, a->cores, a->threads, product,
                        a->maxcpus);
    if (a->cpus > a->maxcpus)
        return cli_fail(err, "-smp: cpus (%" PRIu64 ") is more than maxcpus "
                        "(%" PRIu64 ")", a->cpus, a->maxcpus);
    if (a->maxcpus > CLI_MAX_SMP)
        return cli_fail(err, "-smp: maxcpus %" PRIu64 " is outside the "
                        "supported range 1..%d", a->maxcpus, CLI_MAX_SMP);
    return true;
}

/*
 * -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T].
 * hotmem has no CPU hot-plug: cpus vCPUs exist, maxcpus is checked and
 * kept as QEMU does. A later key replaces an earlier one, as in QEMU.
 */
bool cli_smp_parse(struct cli_options *o, const char *arg, GError **err)
{
    g_autoptr(GPtrArray) kv = cli_keyval_split("-smp", arg, "cpus", err);
    struct smp_args a = { 0 };

    if (!kv)
        return false;
    for (guint i = 0; i < kv->len; i += 2) {
        const char *key = kv->pdata[i];
        uint64_t *field = smp_field(&a, key);

        if (!field)
            return cli_fail(err, "-smp: unknown key '%s' in '%s' (expected "
                            "cpus, maxcpus, sockets, dies, cores or "
                            "threads)", key, arg);
        if (!cli_parse_count("-smp", key, kv->pdata[i + 1], 1, CLI_MAX_SMP,
                             field, err))
            return false;
    }
    smp_complete(&a);
    if (!smp_check(&a, arg, err))
        return false;
    o->smp = (uint32_t)a.cpus;
    o->maxcpus = (uint32_t)a.maxcpus;
    o->sockets = (uint32_t)a.sockets;
    o->dies = (uint32_t)a.dies;
    o->cores = (uint32_t)a.cores;
    o->threads = (uint32_t)a.threads;
    return true;
}
