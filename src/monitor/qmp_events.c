/*
 * QMP events: serialised when raised, on any thread, then broadcast to
 * every negotiated client from the server's main context, oldest first.
 *
 * Order. An event raised on another thread (a vCPU's) waits in a queue
 * for the main context; every reply the server sends first sends what
 * that queue holds (qmp_server_flush_events()), so a reply never
 * overtakes an event raised before it, as with QEMU, which sends events
 * at once.
 *
 * Rate limits (docs/qmp.md, "Event rate limits"). An event may name what
 * it is about (a key, "slot 3") and say whether the guest raised it on its
 * own. Those the guest raised are limited per (event, key) the way QEMU
 * limits its noisy events: the first goes out at once and opens a period;
 * within it the latest one is held, replacing any held before, and goes
 * out when the period ends, opening the next; a period with nothing held
 * ends the limit. Any other event with the same key (an answer to a host
 * request) first sends the held one, then itself, and ends the period,
 * so nothing the host waits for is delayed or lost. The held events are
 * the only thing a guest can make the server keep: one line per key.
 */
#include <string.h>

#include "monitor/qmp_internal.h"

/* QEMU's period for its rate-limited events (monitor/monitor.c). */
#define QMP_EVENT_PERIOD_MS 1000

/* The limit on one (event, key); s->throttles owns one reference. */
struct qmp_throttle {
    gint refcount;              /* atomic: the timer's goes from GLib */
    struct qmp_server *server;
    char *name;                 /* "EVENT key": its key in s->throttles */
    char *held;                 /* the period's latest event, not sent */
    GSource *timer;             /* ends the period; NULL once removed */
};

static void throttle_unref(struct qmp_throttle *t)
{
    if (!g_atomic_int_dec_and_test(&t->refcount))
        return;
    g_free(t->name);
    g_free(t->held);
    g_free(t);
}

/* Called by the hash table with events_lock held, and at server free. */
static void throttle_remove(gpointer opaque)
{
    struct qmp_throttle *t = opaque;

    /* The timer may be about to run on the main context: it finds
     * t->timer NULL and stops. Its reference keeps t alive until then. */
    g_source_destroy(t->timer);
    g_source_unref(t->timer);
    t->timer = NULL;
    throttle_unref(t);
}

static gboolean throttle_period_end(gpointer opaque)
{
    struct qmp_throttle *t = opaque;
    struct qmp_server *s = t->server;
    gboolean again = G_SOURCE_REMOVE;

    g_mutex_lock(&s->events_lock);
    if (t->timer && t->held) {
        /* The held event goes out and opens the next period. */
        g_queue_push_tail(&s->events, t->held);
        t->held = NULL;
        again = G_SOURCE_CONTINUE;
    } else if (t->timer) {
        g_hash_table_remove(s->throttles, t->name);
    }
    g_mutex_unlock(&s->events_lock);
    qmp_server_flush_events(s);
    return again;
}

/* events_lock held. A new limit, its first period starting now. */
static void throttle_start(struct qmp_server *s, const char *name)
{
    struct qmp_throttle *t = g_new0(struct qmp_throttle, 1);

    t->refcount = 2;            /* the table's and the timer's */
    t->server = s;
    t->name = g_strdup(name);
    t->timer = g_timeout_source_new(s->event_period_ms);
    /* GLib may drop the timer's reference inside g_source_destroy(),
     * with events_lock held: so the count is atomic, not locked. */
    g_source_set_callback(t->timer, throttle_period_end, t,
                          (GDestroyNotify)throttle_unref);
    g_source_attach(t->timer, s->ctx);
    g_hash_table_insert(s->throttles, t->name, t);
}

/*
 * events_lock held. Takes line: queues it, holds it, or (an answer) queues
 * the held one first and ends the limit.
 */
static void events_add(struct qmp_server *s, const char *event,
                       const char *key, bool limited, char *line)
{
    g_autofree char *name = NULL;
    struct qmp_throttle *t;

    if (!key) {
        g_queue_push_tail(&s->events, line);
        return;
    }
    name = g_strdup_printf("%s %s", event, key);
    t = g_hash_table_lookup(s->throttles, name);
    if (limited && t) {
        g_free(t->held);
        t->held = line;
        return;
    }
    if (limited) {
        throttle_start(s, name);
    } else if (t) {
        if (t->held)
            g_queue_push_tail(&s->events, g_steal_pointer(&t->held));
        g_hash_table_remove(s->throttles, name);
    }
    g_queue_push_tail(&s->events, line);
}

void qmp_events_init(struct qmp_server *s, unsigned period_ms)
{
    g_mutex_init(&s->events_lock);
    g_queue_init(&s->events);
    s->event_period_ms = period_ms ? period_ms : QMP_EVENT_PERIOD_MS;
    s->throttles = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                         throttle_remove);
}

/* Events still held or queued are dropped: nobody is left to get them. */
void qmp_events_free(struct qmp_server *s)
{
    g_mutex_lock(&s->events_lock);
    if (s->events_source) {
        g_source_destroy(s->events_source);
        g_source_unref(s->events_source);
        s->events_source = NULL;
    }
    g_hash_table_remove_all(s->throttles);
    g_queue_clear_full(&s->events, g_free);
    g_mutex_unlock(&s->events_lock);
    /* The timers' own references went with their sources. */
    g_hash_table_destroy(s->throttles);
    g_mutex_clear(&s->events_lock);
}

static void server_broadcast(struct qmp_server *s, const char *line)
{
    GPtrArray *targets = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qmp_client_unref);
    size_t len = strlen(line);

    /* A snapshot: sending may disconnect a client and shrink s->clients. */
    for (guint i = 0; i < s->clients->len; i++) {
        struct qmp_client *c = g_ptr_array_index(s->clients, i);

        if (c->negotiated)
            g_ptr_array_add(targets, qmp_client_ref(c));
    }
    for (guint i = 0; i < targets->len; i++)
        qmp_client_queue(g_ptr_array_index(targets, i), line, len);
    g_ptr_array_free(targets, TRUE);
}

void qmp_server_flush_events(struct qmp_server *s)
{
    GQueue pending;
    GSource *src;
    char *line;

    g_mutex_lock(&s->events_lock);
    pending = s->events;
    g_queue_init(&s->events);
    src = s->events_source;
    s->events_source = NULL;
    g_mutex_unlock(&s->events_lock);
    if (src) {
        g_source_destroy(src);
        g_source_unref(src);
    }
    while ((line = g_queue_pop_head(&pending))) {
        server_broadcast(s, line);
        g_free(line);
    }
}

static gboolean events_ready(gpointer opaque)
{
    qmp_server_flush_events(opaque);
    return G_SOURCE_REMOVE;
}

static char *event_serialise(const char *event, json_object *data)
{
    gint64 now = g_get_real_time();
    json_object *ts = json_object_new_object();
    json_object *msg = json_object_new_object();
    GString *line = g_string_new(NULL);

    json_object_object_add(ts, "seconds",
                           json_object_new_int64(now / G_USEC_PER_SEC));
    json_object_object_add(ts, "microseconds",
                           json_object_new_int64(now % G_USEC_PER_SEC));
    json_object_object_add(msg, "timestamp", ts);
    json_object_object_add(msg, "event", json_object_new_string(event));
    /* Events without data carry no "data" member, as QEMU's (STOP, ...). */
    if (data)
        json_object_object_add(msg, "data", data);
    qmp_json_append(line, msg);
    g_string_append(line, "\r\n");
    json_object_put(msg);
    return g_string_free(line, FALSE);
}

void qmp_server_emit_keyed(struct qmp_server *s, const char *event,
                           const char *key, bool limited, json_object *data)
{
    /* Stamped now: a held event keeps the time the guest raised it. */
    char *line = event_serialise(event, data);
    bool here = g_main_context_is_owner(s->ctx);

    g_mutex_lock(&s->events_lock);
    events_add(s, event, key, limited, line);
    if (!here && !s->events_source && !g_queue_is_empty(&s->events)) {
        /* Default priority, as client I/O: events are not starved by a
         * busy client, and replies flush them first anyway. */
        s->events_source = g_idle_source_new();
        g_source_set_priority(s->events_source, G_PRIORITY_DEFAULT);
        g_source_set_callback(s->events_source, events_ready, s, NULL);
        g_source_attach(s->events_source, s->ctx);
    }
    g_mutex_unlock(&s->events_lock);
    if (here)
        qmp_server_flush_events(s);
}

void qmp_server_emit(struct qmp_server *s, const char *event,
                     json_object *data)
{
    qmp_server_emit_keyed(s, event, NULL, false, data);
}
