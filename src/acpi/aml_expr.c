/*
 * AML builder: statements (ACPI 6.5, 20.2.5.3), expressions (20.2.5.4),
 * buffer fields (20.2.5.2) and method invocations. Every operand is encoded
 * in order into the new node's body, which takes ownership of it.
 */
#include "acpi/aml_internal.h"

#include <stdarg.h>

/* Opcodes (20.2.5.3, 20.2.5.4); the EXT_* ones follow ExtOpPrefix. */
enum {
    STORE_OP = 0x70, ADD_OP = 0x72, SUBTRACT_OP = 0x74, INCREMENT_OP = 0x75,
    DECREMENT_OP = 0x76, MULTIPLY_OP = 0x77, SHIFT_LEFT_OP = 0x79,
    SHIFT_RIGHT_OP = 0x7A, AND_OP = 0x7B, OR_OP = 0x7D, DEREF_OF_OP = 0x83,
    NOTIFY_OP = 0x86, SIZE_OF_OP = 0x87, INDEX_OP = 0x88,
    CREATE_DWORD_FIELD_OP = 0x8A, CREATE_QWORD_FIELD_OP = 0x8F,
    LAND_OP = 0x90, LOR_OP = 0x91, LNOT_OP = 0x92, LEQUAL_OP = 0x93,
    LGREATER_OP = 0x94, LLESS_OP = 0x95, TO_INTEGER_OP = 0x99, IF_OP = 0xA0,
    ELSE_OP = 0xA1, WHILE_OP = 0xA2, RETURN_OP = 0xA4, BREAK_OP = 0xA5,
    EXT_SLEEP_OP = 0x22, EXT_ACQUIRE_OP = 0x23, EXT_RELEASE_OP = 0x27,
};

#define NULL_NAME 0x00  /* 20.2.2: Target := SuperName | NullName */

/* op operand */
static struct aml *op1(uint8_t op, struct aml *a)
{
    struct aml *n = aml_expr_new(op);

    aml_put_node(n->body, a);
    return n;
}

/* op operand operand */
static struct aml *op2(uint8_t op, struct aml *a, struct aml *b)
{
    struct aml *n = op1(op, a);

    aml_put_node(n->body, b);
    return n;
}

/* op operand... Target, a NULL target storing nowhere (NullName). */
static struct aml *with_target(struct aml *n, struct aml *target)
{
    if (target)
        aml_put_node(n->body, target);
    else
        aml_put_byte(n->body, NULL_NAME);
    return n;
}

/* --- Buffer fields (20.2.5.2) --- */

/* DefCreateXField := op SourceBuff ByteIndex NameString */
static struct aml *create_field(uint8_t op, struct aml *buffer,
                                struct aml *index, const char *name)
{
    struct aml *n = op2(op, buffer, index);

    aml_put_namestring(n->body, name);
    return n;
}

struct aml *aml_create_dword_field(struct aml *buffer, struct aml *index,
                                   const char *name)
{
    return create_field(CREATE_DWORD_FIELD_OP, buffer, index, name);
}

struct aml *aml_create_qword_field(struct aml *buffer, struct aml *index,
                                   const char *name)
{
    return create_field(CREATE_QWORD_FIELD_OP, buffer, index, name);
}

/* --- Statements (20.2.5.3) --- */

/* op PkgLength [Predicate] TermList; the TermList is appended later. */
static struct aml *block(uint8_t op, struct aml *predicate)
{
    struct aml *n = aml_node_new(AML_KIND_PLAIN, &op, 1, true);

    if (predicate)
        aml_put_node(n->body, predicate);
    return n;
}

struct aml *aml_if(struct aml *predicate)
{
    g_assert(predicate);
    return block(IF_OP, predicate);
}

struct aml *aml_else(void)
{
    return block(ELSE_OP, NULL);
}

struct aml *aml_while(struct aml *predicate)
{
    g_assert(predicate);
    return block(WHILE_OP, predicate);
}

struct aml *aml_break(void)
{
    return aml_expr_new(BREAK_OP);
}

struct aml *aml_return(struct aml *value)
{
    return op1(RETURN_OP, value);
}

struct aml *aml_notify(struct aml *object, struct aml *value)
{
    return op2(NOTIFY_OP, object, value);
}

/* DefSleep := SleepOp MsecTime (a TermArg) */
struct aml *aml_sleep(uint64_t ms)
{
    struct aml *n = aml_ext_expr_new(EXT_SLEEP_OP);

    aml_put_int(n->body, ms);
    return n;
}

/* --- Expressions (20.2.5.4) --- */

struct aml *aml_store(struct aml *src, struct aml *dst)
{
    return op2(STORE_OP, src, dst);
}

struct aml *aml_add(struct aml *a, struct aml *b, struct aml *target)
{
    return with_target(op2(ADD_OP, a, b), target);
}

struct aml *aml_subtract(struct aml *a, struct aml *b, struct aml *target)
{
    return with_target(op2(SUBTRACT_OP, a, b), target);
}

struct aml *aml_multiply(struct aml *a, struct aml *b, struct aml *target)
{
    return with_target(op2(MULTIPLY_OP, a, b), target);
}

struct aml *aml_and(struct aml *a, struct aml *b, struct aml *target)
{
    return with_target(op2(AND_OP, a, b), target);
}

struct aml *aml_or(struct aml *a, struct aml *b, struct aml *target)
{
    return with_target(op2(OR_OP, a, b), target);
}

struct aml *aml_shiftleft(struct aml *a, struct aml *count)
{
    return with_target(op2(SHIFT_LEFT_OP, a, count), NULL);
}

struct aml *aml_shiftright(struct aml *a, struct aml *count,
                           struct aml *target)
{
    return with_target(op2(SHIFT_RIGHT_OP, a, count), target);
}

struct aml *aml_increment(struct aml *a)
{
    return op1(INCREMENT_OP, a);
}

struct aml *aml_decrement(struct aml *a)
{
    return op1(DECREMENT_OP, a);
}

struct aml *aml_lnot(struct aml *a)
{
    return op1(LNOT_OP, a);
}

struct aml *aml_land(struct aml *a, struct aml *b)
{
    return op2(LAND_OP, a, b);
}

struct aml *aml_lor(struct aml *a, struct aml *b)
{
    return op2(LOR_OP, a, b);
}

struct aml *aml_equal(struct aml *a, struct aml *b)
{
    return op2(LEQUAL_OP, a, b);
}

struct aml *aml_lless(struct aml *a, struct aml *b)
{
    return op2(LLESS_OP, a, b);
}

struct aml *aml_lgreater(struct aml *a, struct aml *b)
{
    return op2(LGREATER_OP, a, b);
}

struct aml *aml_to_integer(struct aml *a, struct aml *target)
{
    return with_target(op1(TO_INTEGER_OP, a), target);
}

/* DefIndex := IndexOp BuffPkgStrObj IndexValue Target (NullName here) */
struct aml *aml_index(struct aml *obj, struct aml *index)
{
    return with_target(op2(INDEX_OP, obj, index), NULL);
}

struct aml *aml_derefof(struct aml *a)
{
    return op1(DEREF_OF_OP, a);
}

struct aml *aml_sizeof(struct aml *a)
{
    return op1(SIZE_OF_OP, a);
}

/* DefAcquire := AcquireOp MutexObject Timeout (a WordData, not a TermArg) */
struct aml *aml_acquire(struct aml *mutex, uint16_t timeout)
{
    struct aml *n = aml_ext_expr_new(EXT_ACQUIRE_OP);

    aml_put_node(n->body, mutex);
    aml_put_le(n->body, timeout, 2);
    return n;
}

struct aml *aml_release(struct aml *mutex)
{
    struct aml *n = aml_ext_expr_new(EXT_RELEASE_OP);

    aml_put_node(n->body, mutex);
    return n;
}

/* MethodInvocation := NameString TermArgList (20.2.5.4) */
struct aml *aml_call(const char *method, ...)
{
    struct aml *n = aml_sequence();
    struct aml *arg;
    unsigned argc = 0;
    va_list ap;

    aml_put_namestring(n->body, method);
    va_start(ap, method);
    while ((arg = va_arg(ap, struct aml *))) {
        aml_put_node(n->body, arg);
        argc++;
    }
    va_end(ap);
    if (argc > 7)   /* MethodFlags hold ArgCount in 3 bits (20.2.5.2) */
        g_error("AML call of %s with %u arguments; at most 7", method, argc);
    return n;
}
