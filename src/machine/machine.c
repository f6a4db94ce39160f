/*
 * Machine assembly. machine_create() runs the steps of machine_steps[] in
 * order; each one adds a piece (KVM, layout, RAM, bus, devices, kernel,
 * vCPUs). A failing step leaves nothing running: machine_destroy() undoes
 * whatever the earlier steps built.
 */
#include "machine/machine.h"
#include "machine/machine_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus.h"
#include "devices/ged.h"
#include "devices/memhp.h"
#include "devices/pm_regs.h"
#include "devices/power_port.h"
#include "devices/serial.h"
#include "errors.h"
#include "boot/guest_image.h"
#include "hotmem/guest-abi.h"
#include "kvm.h"
#include "boot/linux_cmdline.h"
#include "boot/loader.h"
#include "machine/machine_acpi.h"
#include "machine/machine_inspect.h"
#include "mmu/layout.h"
#include "mmu/memmap.h"
#include "boot/vcpu.h"



static enum serial_backend_kind serial_backend_kind(enum machine_serial s)
{
    return s == MACHINE_SERIAL_STDIO ? SERIAL_BACKEND_STDIO
           : s == MACHINE_SERIAL_FILE ? SERIAL_BACKEND_FILE
                                      : SERIAL_BACKEND_NONE;
}

static bool step_kvm(struct machine *m, GError **err)
{
    if (m->cfg.kvm_stub)
        return true;
    m->kvm = kvm_open(m->cfg.kvm_device ? m->cfg.kvm_device : "/dev/kvm",
                      err);
    return m->kvm != NULL;
}

void machine_irq_line(struct machine *m, uint32_t gsi, bool level)
{
    g_autoptr(GError) err = NULL;

    if (m->cfg.kvm_stub)
        m->cfg.kvm_stub->irq_line(m->cfg.kvm_stub->opaque, gsi, level);
    else if (!kvm_irq_line(m->kvm, gsi, level, &err))
        g_printerr("hotmem: interrupt line %u: %s\n", gsi, err->message);
}

static bool step_objects(struct machine *m, GError **err)
{
    return machine_objects_init(m, err);
}

static bool step_dimms(struct machine *m, GError **err)
{
    return machine_dimms_init(m, err);
}

/* The guest's address width (-cpu phys-bits=...), then the layout in it. */
static bool step_layout(struct machine *m, GError **err)
{
    unsigned host = m->cfg.kvm_stub ? m->cfg.kvm_stub->phys_bits
                                    : m->kvm->phys_bits;

    if (m->cfg.kvm_stub)
        m->phys_bits = host;
    else if (!cpu_model_phys_bits(&m->cfg.cpu, host, &m->phys_bits, err))
        return false;
    return layout_compute(&m->layout, m->cfg.ram_size, m->cfg.slots,
                          m->cfg.maxmem, m->phys_bits, err);
}

static bool step_ram(struct machine *m, GError **err)
{
    return machine_ram_init(m, err);
}

static bool step_bus(struct machine *m, GError **err)
{
    m->bus = bus_new();
    return true;
}

static void com1_set_irq(void *opaque, bool level)
{
    machine_irq_line(opaque, HOTMEM_COM1_IRQ, level);
}

static bool step_serial(struct machine *m, GError **err)
{
    struct serial_ops ops = { .set_irq = com1_set_irq, .irq_opaque = m };

    m->serial_backend = serial_backend_new(serial_backend_kind(m->cfg.serial),
                                           m->cfg.serial_path,
                                           err);
    if (!m->serial_backend)
        return false;
    serial_backend_fill_ops(m->serial_backend, &ops);
    m->com1 = serial_create(m->bus, HOTMEM_COM1_PORT, &ops, err);
    if (!m->com1)
        return false;
    serial_backend_attach(m->serial_backend, m->com1);
    return true;
}

/*
 * The guest powered off. Without -no-shutdown the machine ends; with it
 * the vCPUs stop where they are (this may run on one of them, so only ask)
 * and the run state is "shutdown" until a client ends hotmem, as in QEMU:
 * SHUTDOWN, then STOP.
 */
static void guest_shutdown(struct machine *m, const char *why)
{
    json_object *data;

    if (!m->cfg.no_shutdown || !m->vcpus) {
        machine_request_exit(m, 0, true, "guest-shutdown", why);
        return;
    }
    g_mutex_lock(&m->state_lock);
    if (m->run_state == MACHINE_SHUTDOWN) {
        g_mutex_unlock(&m->state_lock);
        return;
    }
    m->run_state = MACHINE_SHUTDOWN;
    m->stopped_by_guest = true;
    g_mutex_unlock(&m->state_lock);
    vcpus_request_pause(m->vcpus);
    data = json_object_new_object();
    json_object_object_add(data, "guest", json_object_new_boolean(1));
    json_object_object_add(data, "reason",
                           json_object_new_string("guest-shutdown"));
    machine_emit(m, MACHINE_EVENT_SHUTDOWN, data);
    machine_emit(m, MACHINE_EVENT_STOP, NULL);
}

static void on_power_request(void *opaque, enum power_request req)
{
    struct machine *m = opaque;

    if (req == POWER_REQUEST_OFF)
        guest_shutdown(m, "guest powered off");
    else
        machine_request_exit(m, 1, true, "guest-panic",
                             "guest reported a fatal error (panic)");
}

static bool step_power_port(struct machine *m, GError **err)
{
    m->power = power_port_create(m->bus, on_power_request, m, err);
    return m->power != NULL;
}

static void ged_set_irq(void *opaque, bool level)
{
    machine_irq_line(opaque, GED_GSI, level);
}

static void on_pm_request(void *opaque, enum pm_request req)
{
    struct machine *m = opaque;

    if (req == PM_REQUEST_POWEROFF)
        guest_shutdown(m, "guest powered off (ACPI S5)");
    else
        machine_guest_reset(m);
}

static void memhp_notify(void *opaque)
{
    struct machine *m = opaque;

    ged_raise(m->ged, GED_EVENT_MEMORY);
}

static bool step_acpi_devices(struct machine *m, GError **err)
{
    struct memhp_ops ops = { .opaque = m, .notify = memhp_notify,
                             .ost = machine_dimm_on_ost,
                             .eject = machine_dimm_on_eject };

    m->ged = ged_create(m->bus, ged_set_irq, m, err);
    if (!m->ged)
        return false;
    m->pm = pm_regs_create(m->bus, on_pm_request, m, err);
    if (!m->pm)
        return false;
    machine_dimm_table_init(m);
    if (m->cfg.slots == 0)
        return true;
    m->memhp = memhp_create(m->bus, m->cfg.slots, m->dimm_slots,
                            &m->dimm_lock, &ops, err);
    return m->memhp != NULL;
}

/* Builds the tables and copies them into the reserved range below 1 MiB. */
static bool step_acpi_tables(struct machine *m, GError **err)
{
    struct acpi_tables t = { 0 };
    bool ok = machine_acpi_build(&m->cfg, &m->layout, &t, err);

    if (ok && !memmap_write(m->memmap, t.base, t.data->data, t.data->len)) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "ACPI tables at 0x%" G_GINT64_MODIFIER "x do not fit in "
                    "guest RAM", t.base);
        ok = false;
    }
    if (ok)
        m->rsdp_addr = t.rsdp_addr;
    acpi_tables_clear(&t);
    return ok;
}

/* A -kernel or -initrd image, read once at startup: a regular file no
 * larger than guest RAM, opened without blocking (loader_read_file()). */
static GBytes *read_file(struct machine *m, const char *what,
                         const char *path, GError **err)
{
    uint8_t *data = NULL;
    size_t len = 0;

    if (!loader_read_file(what, path, m->layout.ram_size, &data, &len, err))
        return NULL;
    return g_bytes_new_take(data, len);
}

/*
 * Writes the kernel (and initrd, command line, boot structures) into guest
 * memory from the images read at startup: at boot and again at each
 * reset, as QEMU loads its ROM blobs again.
 */
static bool load_kernel(struct machine *m, GError **err)
{
    g_autofree char *cmdline = NULL;
    struct boot_images img = { .cmdline = m->cfg.cmdline,
                               .rsdp_addr = m->rsdp_addr };
    gsize len = 0;

    if (m->kernel_image) {
        img.kernel = g_bytes_get_data(m->kernel_image, &len);
        img.kernel_size = len;
    } else {
        img.kernel = hotmem_guest_image;
        img.kernel_size = guest_image_size();
    }
    if (m->initrd_image) {
        img.initrd = g_bytes_get_data(m->initrd_image, &len);
        img.initrd_size = len;
    }
    /* The bundled guest is not Linux: no need to search its 60 KiB for
     * Linux's banner (64 K instructions at every start). */
    if (linux_cmdline_for_image(m->kernel_image ? img.kernel : NULL,
                                img.kernel_size, m->cfg.cmdline,
            &(struct linux_cmdline_policy){
                .slots = m->cfg.slots,
                .memhp_default_off = m->cfg.linux_memhp_default_off },
            &cmdline, NULL, err)) {
        img.cmdline = cmdline;
        if (loader_load(m->memmap, &m->layout, &img, &m->entry, err))
            return true;
    }
    g_prefix_error(err, "%s: ", m->cfg.kernel_path ? m->cfg.kernel_path
                                                   : "bundled hotmem-guest");
    return false;
}

static bool step_kernel(struct machine *m, GError **err)
{
    if (m->cfg.kernel_path &&
        !(m->kernel_image = read_file(m, "-kernel", m->cfg.kernel_path, err)))
        return false;
    if (m->cfg.initrd_path &&
        !(m->initrd_image = read_file(m, "-initrd", m->cfg.initrd_path, err)))
        return false;
    return load_kernel(m, err);
}

bool machine_load_images(struct machine *m, GError **err)
{
    return step_acpi_tables(m, err) && load_kernel(m, err);
}

static void on_vcpu_fatal(void *opaque, unsigned index, const char *what,
                          const char *regs)
{
    struct machine *m = opaque;
    g_autofree char *why = g_strdup_printf("vCPU %u: %s\n%s", index, what,
                                           regs);

    machine_request_exit(m, 1, true, "guest-panic", why);
}

/*
 * The guest's shutdown, reset or crash report. A reset resets the machine
 * (the vCPU goes on, held until it is done); a shutdown or a crash report
 * ends it, as a shutdown the guest asked for (what the SHUTDOWN event and
 * the exit status have always said).
 */
static bool on_vcpu_system_event(void *opaque, unsigned index, uint32_t type)
{
    if (type == KVM_SYSTEM_EVENT_RESET) {
        machine_guest_reset(opaque);
        return true;
    }
    guest_shutdown(opaque, "guest requested shutdown");
    return false;
}

static bool step_vcpus(struct machine *m, GError **err)
{
    struct vcpu_hooks hooks = { .opaque = m, .bus = m->bus,
                                .fatal = on_vcpu_fatal,
                                .system_event = on_vcpu_system_event,
                                .dirty_ring_full = machine_dirty_ring_full };

    g_autofree struct kvm_cpuid2 *cpuid =
        cpu_model_cpuid(&m->cfg.cpu, m->kvm->cpuid, m->phys_bits);

    m->vcpus = vcpus_create(m->kvm, m->cfg.smp, cpuid, &hooks, err);
    return m->vcpus && vcpus_set_boot_state(m->vcpus, &m->entry, err);
}

/*
 * The order machines are built in; later steps use what earlier ones made.
 * Steps marked kvm only run on a real KVM (not with cfg.kvm_stub).
 */
static const struct {
    const char *name;
    bool (*run)(struct machine *m, GError **err);
    bool kvm;
} machine_steps[] = {
    { "kvm", step_kvm, false },
    /* The in-kernel irqchip and PIT as created, for a reset. */
    { "reset-state", machine_reset_init, true },
    { "objects", step_objects, false },
    { "layout", step_layout, false },
    { "ram", step_ram, false },
    { "dirty-log", machine_dirty_init, false }, /* the ring needs no vCPU */
    { "bus", step_bus, false },
    { "serial", step_serial, false },
    { "power-port", step_power_port, false },
    { "acpi-devices", step_acpi_devices, false },
    { "dimms", step_dimms, false },
    { "acpi-tables", step_acpi_tables, false },
    { "kernel", step_kernel, false },
    { "vcpus", step_vcpus, true },
    /* KVM_GET_STATS_FD blocks while a vCPU runs: before machine_start(). */
    { "stats", machine_stats_init, true },
    { "dirty-rings", machine_dirty_attach_vcpus, true },
};

struct machine *machine_create(const struct machine_config *cfg, GError **err)
{
    struct machine *m = g_new0(struct machine, 1);

    m->cfg = *cfg;
    m->exit_status = -1;
    m->main_ctx = g_main_context_ref_thread_default();
    g_mutex_init(&m->exit_lock);
    g_mutex_init(&m->state_lock);
    for (size_t i = 0; i < G_N_ELEMENTS(machine_steps); i++) {
        if (machine_steps[i].kvm && cfg->kvm_stub)
            continue;
        if (!machine_steps[i].run(m, err)) {
            machine_destroy(m);
            return NULL;
        }
    }
    m->built = true;
    return m;
}

void machine_destroy(struct machine *m)
{
    if (!m)
        return;
    machine_inspect_cancel_all(m);  /* their threads read guest memory */
    machine_stats_free(m);      /* before the vCPU fds go */
    vcpu_throttle_free(m->throttle);    /* its thread kicks the vCPUs */
    vcpus_destroy(m->vcpus);
    machine_dimms_free(m);
    memhp_destroy(m->memhp);
    pm_regs_destroy(m->pm);
    ged_destroy(m->ged);
    power_port_destroy(m->power);
    serial_destroy(m->com1);
    serial_backend_free(m->serial_backend);
    bus_free(m->bus);
    machine_dirty_free(m);
    memmap_free(m->memmap);
    kvm_close(m->kvm);
    machine_objects_free(m);
    if (m->ram)
        munmap(m->ram, m->layout.ram_size);
    g_free(m->nodes);
    g_clear_pointer(&m->kernel_image, g_bytes_unref);
    g_clear_pointer(&m->initrd_image, g_bytes_unref);
    machine_reset_free(m);
    g_main_context_unref(m->main_ctx);
    g_mutex_clear(&m->exit_lock);
    g_mutex_clear(&m->state_lock);
    g_free(m);
}

bool machine_start(struct machine *m, bool paused, GError **err)
{
    m->run_state = paused ? MACHINE_PRELAUNCH : MACHINE_RUNNING;
    return vcpus_start(m->vcpus, paused, err);
}

void machine_emit_keyed(struct machine *m, enum machine_event event,
                        const char *key, bool limited, json_object *data)
{
    if (m->cfg.emit)
        m->cfg.emit(m->cfg.opaque, machine_events[event].name, key, limited,
                    data);
    else
        json_object_put(data);
}

void machine_emit(struct machine *m, enum machine_event event,
                  json_object *data)
{
    machine_emit_keyed(m, event, NULL, false, data);
}

enum machine_run_state machine_run_state(struct machine *m)
{
    enum machine_run_state s;

    g_mutex_lock(&m->state_lock);
    s = m->run_state;
    g_mutex_unlock(&m->state_lock);
    return s;
}

bool machine_needs_reset(struct machine *m)
{
    bool r;

    g_mutex_lock(&m->state_lock);
    r = m->stopped_by_guest;
    g_mutex_unlock(&m->state_lock);
    return r;
}

void machine_revive(struct machine *m)
{
    g_mutex_lock(&m->state_lock);
    m->stopped_by_guest = false;
    m->run_state = MACHINE_PRELAUNCH;
    g_mutex_unlock(&m->state_lock);
}

unsigned machine_phys_bits(struct machine *m)
{
    return m->phys_bits;
}

const char *machine_run_state_name(enum machine_run_state s)
{
    static const char *const names[] = {
        [MACHINE_PRELAUNCH] = "prelaunch", [MACHINE_RUNNING] = "running",
        [MACHINE_PAUSED] = "paused", [MACHINE_SHUTDOWN] = "shutdown",
        [MACHINE_INMIGRATE] = "inmigrate",
        [MACHINE_FINISH_MIGRATE] = "finish-migrate",
        [MACHINE_POSTMIGRATE] = "postmigrate",
    };

    return names[s];
}

/*
 * Moves between running and paused; false when already there or ending.
 * A machine a migration stopped (finish-migrate) counts as running: stop
 * makes it stay paused once the migration is done. One waiting for an
 * incoming migration does not move: cont only asks it to run afterwards,
 * as QEMU's cont does in "inmigrate".
 */
static bool change_run_state(struct machine *m, bool run)
{
    bool changed;
    enum machine_run_state s;

    g_mutex_lock(&m->state_lock);
    s = m->run_state;
    if (s == MACHINE_INMIGRATE) {
        m->incoming_autostart = run;
        changed = false;
    } else {
        changed = s != MACHINE_SHUTDOWN &&
                  (run ? s != MACHINE_RUNNING && s != MACHINE_FINISH_MIGRATE
                       : s == MACHINE_RUNNING || s == MACHINE_FINISH_MIGRATE);
    }
    if (changed)
        m->run_state = run ? MACHINE_RUNNING : MACHINE_PAUSED;
    g_mutex_unlock(&m->state_lock);
    return changed;
}

void machine_pause(struct machine *m)
{
    bool was_migrating = machine_run_state(m) == MACHINE_FINISH_MIGRATE;

    if (!change_run_state(m, false))
        return;
    vcpus_pause(m->vcpus);
    machine_clock_freeze(m);
    /* The migration already sent STOP when it stopped the guest. */
    if (!was_migrating)
        machine_emit(m, MACHINE_EVENT_STOP, NULL);
}

void machine_resume(struct machine *m)
{
    if (!change_run_state(m, true))
        return;
    machine_clock_thaw(m);
    vcpus_resume(m->vcpus);
    machine_emit(m, MACHINE_EVENT_RESUME, NULL);
}

void machine_powerdown(struct machine *m)
{
    machine_emit(m, MACHINE_EVENT_POWERDOWN, NULL);
    ged_raise(m->ged, GED_EVENT_POWER);
}

void machine_quit(struct machine *m)
{
    machine_request_exit(m, 0, false, "host-qmp-quit", NULL);
}

void machine_request_exit(struct machine *m, int status, bool guest,
                          const char *reason, const char *why)
{
    json_object *data;
    bool first;

    g_mutex_lock(&m->exit_lock);
    first = m->exit_status < 0;
    if (first)
        m->exit_status = status;
    g_mutex_unlock(&m->exit_lock);
    if (!first)
        return;
    g_mutex_lock(&m->state_lock);
    m->run_state = MACHINE_SHUTDOWN;
    g_mutex_unlock(&m->state_lock);
    if (reason) {
        data = json_object_new_object();
        json_object_object_add(data, "guest", json_object_new_boolean(guest));
        json_object_object_add(data, "reason",
                               json_object_new_string(reason));
        machine_emit(m, MACHINE_EVENT_SHUTDOWN, data);
    }
    /* A clean power-off is silent, as in QEMU; anything else says why. */
    if (why && status != 0)
        g_printerr("hotmem: %s\n", why);
    if (m->cfg.on_exit)
        m->cfg.on_exit(m->cfg.opaque);
}

int machine_exit_status(struct machine *m)
{
    int s;

    g_mutex_lock(&m->exit_lock);
    s = m->exit_status;
    g_mutex_unlock(&m->exit_lock);
    return s;
}

void machine_stop_vcpus(struct machine *m)
{
    vcpus_stop(m->vcpus);
}

static void memslot_json(void *opaque, const struct memmap_slot *s)
{
    json_object *list = opaque, *o = json_object_new_object();
    json_object *flags = json_object_new_array();

    if (s->flags & KVM_MEM_LOG_DIRTY_PAGES)
        json_object_array_add(flags,
                              json_object_new_string("log-dirty-pages"));
    if (s->flags & KVM_MEM_READONLY)
        json_object_array_add(flags, json_object_new_string("readonly"));
    json_object_object_add(o, "slot", json_object_new_int64(s->slot));
    json_object_object_add(o, "addr", json_object_new_uint64(s->gpa));
    json_object_object_add(o, "size", json_object_new_uint64(s->size));
    json_object_object_add(o, "host-addr",
                           json_object_new_uint64((uintptr_t)s->hva));
    json_object_object_add(o, "flags", flags);
    json_object_object_add(o, "owner", json_object_new_string(s->owner));
    json_object_object_add(o, "removing",
                           json_object_new_boolean(s->removing));
    json_object_array_add(list, o);
}

/* mincore() over one memslot's mapping: its resident bytes. */
static void memslot_resident(void *opaque, const struct memmap_slot *s)
{
    uint64_t *total = opaque;
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (size_t)((s->size + (uint64_t)page - 1) / (uint64_t)page);
    g_autofree unsigned char *vec = g_malloc(pages);

    if (mincore(s->hva, (size_t)s->size, vec) < 0)
        return;
    for (size_t i = 0; i < pages; i++)
        *total += (vec[i] & 1) ? (uint64_t)page : 0;
}

uint64_t machine_guest_resident(struct machine *m)
{
    uint64_t total = 0;

    memmap_foreach(m->memmap, memslot_resident, &total);
    return total;
}

json_object *machine_query_memslots(struct machine *m)
{
    json_object *r = json_object_new_object();
    json_object *slots = json_object_new_array();
    /* The generation of exactly the table walked. */
    uint64_t gen = memmap_foreach(m->memmap, memslot_json, slots);

    json_object_object_add(r, "generation", json_object_new_uint64(gen));
    json_object_object_add(r, "slots", slots);
    return r;
}
