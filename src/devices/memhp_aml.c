/*
 * DSDT part of the memory hot-plug controller: Device(\_SB.MHPC) with the
 * register block as an operation region, helper methods taking a slot
 * number, and one PNP0C80 memory device per slot (ACPI 6.5 section 9.13)
 * whose _STA, _CRS, _PXM, _OST and _EJ0 call those helpers. The GED's _EVT
 * calls MSCN, which notifies Device Check (1) for inserted slots and Eject
 * Request (3) for slots being removed (section 5.6.6, table 5.166).
 */
#include "acpi/aml.h"
#include "devices/memhp.h"

/* Acquire(MLCK, 0xFFFF); MSEL = slot */
static void select_slot(struct aml *method, struct aml *slot)
{
    aml_append(method, aml_acquire(aml_name("MLCK"), 0xffff));
    aml_append(method, aml_store(slot, aml_name("MSEL")));
}

static void build_fields(struct aml *dev)
{
    struct aml *rd = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK,
                               AML_PRESERVE);
    struct aml *st = aml_field("HPMR", AML_BYTE_ACC, AML_NOLOCK,
                               AML_WRITE_AS_ZEROS);
    struct aml *ev = aml_field("HPMR", AML_BYTE_ACC, AML_NOLOCK,
                               AML_PRESERVE);
    struct aml *wr = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK,
                               AML_PRESERVE);

    aml_append(dev, aml_operation_region("HPMR", AML_SYSTEM_IO,
                                         aml_int(MEMHP_PORT),
                                         aml_int(MEMHP_LEN)));
    /* Read side: where the selected DIMM is and on which node. */
    aml_append(rd, aml_named_field("MBAL", 32));
    aml_append(rd, aml_named_field("MBAH", 32));
    aml_append(rd, aml_named_field("MSZL", 32));
    aml_append(rd, aml_named_field("MSZH", 32));
    aml_append(rd, aml_named_field("MPRX", 32));
    aml_append(dev, rd);
    /* Status/control byte: writes carry only the bit being set. */
    aml_append(st, aml_field_offset(0x14));
    aml_append(st, aml_named_field("MENA", 1));
    aml_append(st, aml_named_field("MINS", 1));
    aml_append(st, aml_named_field("MREM", 1));
    aml_append(st, aml_named_field("MEJT", 1));
    aml_append(dev, st);
    /*
     * The same byte whole, for the scan: one read sees both events of a
     * slot at once, and one write clears exactly the events it saw.
     */
    aml_append(ev, aml_field_offset(0x14));
    aml_append(ev, aml_named_field("MEVT", 8));
    aml_append(dev, ev);
    /* Write side: selector and _OST event/status. */
    aml_append(wr, aml_named_field("MSEL", 32));
    aml_append(wr, aml_named_field("MOEV", 32));
    aml_append(wr, aml_named_field("MOSC", 32));
    aml_append(dev, wr);
}

/* MSTA(slot): 0xF when a DIMM is present and enabled, else 0. */
static struct aml *build_msta(void)
{
    struct aml *m = aml_method("MSTA", 1, true);
    struct aml *on = aml_if(aml_equal(aml_name("MENA"), aml_int(1)));

    aml_append(m, aml_store(aml_int(0), aml_local(0)));
    select_slot(m, aml_arg(0));
    aml_append(on, aml_store(aml_int(0xf), aml_local(0)));
    aml_append(m, on);
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* Local = (hi << 32) | lo */
static struct aml *join64(const char *hi, const char *lo, struct aml *dst)
{
    return aml_or(aml_shiftleft(aml_name("%s", hi), aml_int(32)),
                  aml_name("%s", lo), dst);
}

/*
 * The minimum, maximum and length fields of a memory resource descriptor
 * in buffer buf (ACPI 6.5 sections 6.4.3.5.1 and 6.4.3.5.2: QWord fields at
 * byte 14, 22, 38; DWord fields at 10, 14, 22).
 */
static const unsigned qword_offsets[3] = { 14, 22, 38 };
static const char *const qword_names[3] = { "MINL", "MAXL", "LENL" };
static const unsigned dword_offsets[3] = { 10, 14, 22 };
static const char *const dword_names[3] = { "MIN3", "MAX3", "LEN3" };

static void create_fields(struct aml *scope,
                          struct aml *(*field)(struct aml *, struct aml *,
                                               const char *),
                          const char *buf, const unsigned offsets[3],
                          const char *const names[3])
{
    for (unsigned i = 0; i < 3; i++)
        aml_append(scope, field(aml_name("%s", buf), aml_int(offsets[i]),
                                 names[i]));
}

/*
 * MCRS(slot): the DIMM's range as a QWordMemory descriptor, or as a
 * DWordMemory one when it lies below 4 GiB (section 6.4.3.5).
 */
static struct aml *build_mcrs(void)
{
    struct aml *m = aml_method("MCRS", 1, true);
    struct aml *r64 = aml_resource_template();
    struct aml *r32 = aml_resource_template();
    struct aml *low = aml_if(aml_lless(aml_name("MAXL"),
                                       aml_int(0x100000000ULL)));

    select_slot(m, aml_arg(0));
    aml_append(r64, aml_qword_memory(0, 0, 0, true, true));
    aml_append(m, aml_name_decl("MR64", r64));
    create_fields(m, aml_create_qword_field, "MR64", qword_offsets,
                  qword_names);
    aml_append(m, join64("MBAH", "MBAL", aml_name("MINL")));
    aml_append(m, join64("MSZH", "MSZL", aml_name("LENL")));
    aml_append(m, aml_add(aml_name("MINL"), aml_name("LENL"),
                          aml_name("MAXL")));
    aml_append(m, aml_decrement(aml_name("MAXL")));
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(r32, aml_dword_memory(0, 0, 0, true, true));
    aml_append(low, aml_name_decl("MR32", r32));
    create_fields(low, aml_create_dword_field, "MR32", dword_offsets,
                  dword_names);
    aml_append(low, aml_store(aml_name("MINL"), aml_name("MIN3")));
    aml_append(low, aml_store(aml_name("MAXL"), aml_name("MAX3")));
    aml_append(low, aml_store(aml_name("LENL"), aml_name("LEN3")));
    aml_append(low, aml_return(aml_name("MR32")));
    aml_append(m, low);
    aml_append(m, aml_return(aml_name("MR64")));
    return m;
}

/* MPXM(slot): the DIMM's proximity domain. */
static struct aml *build_mpxm(void)
{
    struct aml *m = aml_method("MPXM", 1, true);

    select_slot(m, aml_arg(0));
    aml_append(m, aml_store(aml_name("MPRX"), aml_local(0)));
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* MOST(slot, event, status): _OST; the status write completes it. */
static struct aml *build_most(void)
{
    struct aml *m = aml_method("MOST", 3, true);

    select_slot(m, aml_arg(0));
    aml_append(m, aml_store(aml_arg(1), aml_name("MOEV")));
    aml_append(m, aml_store(aml_arg(2), aml_name("MOSC")));
    aml_append(m, aml_release(aml_name("MLCK")));
    return m;
}

/* MEJ0(slot, arg): eject. */
static struct aml *build_mej0(void)
{
    struct aml *m = aml_method("MEJ0", 2, true);

    select_slot(m, aml_arg(0));
    aml_append(m, aml_store(aml_int(1), aml_name("MEJT")));
    aml_append(m, aml_release(aml_name("MLCK")));
    return m;
}

static struct aml *slot_method(const char *name, unsigned argc,
                               const char *helper, unsigned slot,
                               bool returns)
{
    struct aml *m = aml_method(name, argc, false);
    struct aml *call;

    if (argc == 0)
        call = aml_call(helper, aml_int(slot), NULL);
    else if (argc == 1)
        call = aml_call(helper, aml_int(slot), aml_arg(0), NULL);
    else
        call = aml_call(helper, aml_int(slot), aml_arg(0), aml_arg(1), NULL);
    aml_append(m, returns ? aml_return(call) : call);
    return m;
}

static struct aml *build_slot_device(unsigned slot)
{
    struct aml *dev = aml_device("MP%02X", slot);

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C80")));
    aml_append(dev, aml_name_decl("_UID", aml_int(slot)));
    aml_append(dev, slot_method("_CRS", 0, "MCRS", slot, true));
    aml_append(dev, slot_method("_STA", 0, "MSTA", slot, true));
    aml_append(dev, slot_method("_PXM", 0, "MPXM", slot, true));
    /* _OST(event, status, info): the info buffer is not needed. */
    aml_append(dev, slot_method("_OST", 3, "MOST", slot, false));
    aml_append(dev, slot_method("_EJ0", 1, "MEJ0", slot, false));
    return dev;
}

/* MNTF(slot, code): Notify the slot's device (Notify needs a fixed name). */
static struct aml *build_mntf(unsigned slots)
{
    struct aml *m = aml_method("MNTF", 2, false);

    for (unsigned i = 0; i < slots; i++) {
        struct aml *is = aml_if(aml_equal(aml_arg(0), aml_int(i)));

        aml_append(is, aml_notify(aml_name("MP%02X", i), aml_arg(1)));
        aml_append(m, is);
    }
    return m;
}

/* If (And (Local1, bit)) { MNTF (Local0, code) } */
static struct aml *notify_if(uint32_t bit, unsigned code)
{
    struct aml *test = aml_if(aml_and(aml_local(1), aml_int(bit), NULL));

    aml_append(test, aml_call("MNTF", aml_local(0), aml_int(code), NULL));
    return test;
}

/*
 * MSCN(): for every slot, report each pending event: Device Check for
 * inserting, Eject Request for removing, both when a DIMM was added and
 * its removal requested before the guest looked (one GED event then
 * stands for both). Each slot's status is read once and exactly the events
 * read are cleared (write 1 to clear), so an event the VMM raises after
 * that read stays set; its GED event runs _EVT, and this scan, again.
 */
static struct aml *build_mscn(void)
{
    struct aml *m = aml_method("MSCN", 0, true);
    struct aml *loop = aml_while(aml_lless(aml_local(0), aml_name("MDNR")));
    struct aml *seen = aml_if(aml_local(1));

    aml_append(m, aml_store(aml_int(0), aml_local(0)));
    aml_append(m, aml_acquire(aml_name("MLCK"), 0xffff));
    aml_append(loop, aml_store(aml_local(0), aml_name("MSEL")));
    aml_append(loop, aml_and(aml_name("MEVT"),
                             aml_int(MEMHP_STATUS_EVENTS), aml_local(1)));
    aml_append(loop, notify_if(MEMHP_STATUS_INSERTING, 1));
    aml_append(loop, notify_if(MEMHP_STATUS_REMOVING, 3));
    aml_append(seen, aml_store(aml_local(1), aml_name("MEVT")));
    aml_append(loop, seen);
    aml_append(loop, aml_increment(aml_local(0)));
    aml_append(m, loop);
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_int(1)));
    return m;
}

void memhp_build_aml(struct aml *scope, unsigned slots)
{
    struct aml *dev, *crs;

    if (slots == 0)
        return;
    dev = aml_device("MHPC");
    crs = aml_resource_template();
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0A06")));
    aml_append(dev, aml_name_decl("_UID", aml_string("Memory hotplug")));
    aml_append(crs, aml_io(MEMHP_PORT, MEMHP_PORT, 1, MEMHP_LEN));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(dev, aml_name_decl("MDNR", aml_int(slots)));
    build_fields(dev);
    aml_append(dev, aml_mutex("MLCK", 0));
    aml_append(dev, build_msta());
    aml_append(dev, build_mcrs());
    aml_append(dev, build_mpxm());
    aml_append(dev, build_most());
    aml_append(dev, build_mej0());
    for (unsigned i = 0; i < slots; i++)
        aml_append(dev, build_slot_device(i));
    aml_append(dev, build_mntf(slots));
    aml_append(dev, build_mscn());
    aml_append(scope, dev);
}
