/* cmd_memory.c — the MEMORY command: USAGE, STATS, DOCTOR, MALLOC-STATS,
 * PURGE and HELP, with Redis 7.0's replies.
 *
 * Redis counts bytes with jemalloc and its own encodings; this engine runs
 * on the C library's malloc, so the numbers are this engine's own:
 *   - USAGE: the key's string, its keyspace entry (and expire entry, if it
 *     has a TTL) and the value as obj_mem_usage() counts it, with the
 *     allocator's usable sizes; a big collection's elements are sampled;
 *   - STATS: what the allocator reports in use (INFO's used_memory) and the
 *     overheads this node can name; the allocator.* fields are derived as
 *     Redis derives them when its allocator gives no statistics of its own
 *     (allocated = used_memory, active = resident = the RSS less what is
 *     not the allocator's: Redis takes out Lua's memory, this node the RSS
 *     it had at startup beyond its heap -- the embedded Python interpreter
 *     and the code, ~10 MB, which would otherwise read as fragmentation);
 *   - DOCTOR: Redis' texts and thresholds for the checks that mean something
 *     here (peak, fragmentation of the allocator's part of the RSS);
 *   - MALLOC-STATS and PURGE answer as a Redis built with libc malloc does
 *     (PURGE also asks glibc to give free memory back: malloc_trim).
 * docs/commands.md lists what is approximate.
 */
#include <assert.h>
#include <malloc.h>
#include <string.h>

#include "server.h"
#include "zmalloc.h"

#define MEMORY_USAGE_SAMPLES_DEFAULT 5     /* Redis' default; 0 means every element */
#define MEMORY_DOCTOR_MIN_BYTES (5LL << 20)  /* below: too little to judge, as Redis says */
#define MEMORY_DOCTOR_FRAG_BYTES (10LL << 20)
#define CLIENT_WALK_MAX 1000000            /* bound on the client-list walk */

/* ------------------------------------------------------------ USAGE */

/* MEMORY USAGE key [SAMPLES count]: options are checked before the key is
 * looked up; the lookup neither expires the key nor counts a hit or miss
 * (Redis reads its dict directly). */
static void memory_usage_command(client *c)
{
    long long samples = MEMORY_USAGE_SAMPLES_DEFAULT;
    for (int i = 3; i < c->argc; i++) {
        if (!arg_equals(&c->argv[i], "samples") || i + 1 >= c->argc) {
            reply_err_syntax(c);
            return;
        }
        if (arg_get_ll(c, &c->argv[i + 1], &samples, NULL) != 0) return;
        if (samples < 0) {
            reply_err_syntax(c);
            return;
        }
        i++;
    }
    engine *e = c->eng;
    const marg *key = &c->argv[2];
    dict_entry *de = dict_find(e->keys, key->ptr, key->len);
    if (de == NULL) {
        reply_null(c);
        return;
    }
    size_t bytes = obj_mem_usage(de->v.val, (size_t)samples) + sds_alloc_size(de->key) +
                   sizeof(dict_entry);
    if (db_get_expire(e, key->ptr, key->len) >= 0)
        bytes += sizeof(dict_entry);               /* its entry in the expires dict */
    reply_ll(c, (long long)bytes);
}

/* ------------------------------------------------------------ STATS */

typedef struct memory_overview {
    long long used, peak, startup, rss;
    long long resident;                /* the allocator's part of the RSS (see the top) */
    long long clients_normal;          /* buffers and state of connected clients */
    long long keys_main, keys_expires; /* the keyspace's hash tables */
    long long overhead_total;
    long long keys;
    long long dataset;
    long long net;                     /* used - startup, at least 1 */
} memory_overview;

static long long clients_memory(void)
{
    long long n = 0;
    long walked = 0;
    for (client *c = server.clients_head; c && walked < CLIENT_WALK_MAX; c = c->next_all, walked++)
        n += (long long)(sizeof(*c) + c->qb_cap + c->reply_cap);
    return n;
}

static void memory_overview_take(engine *e, memory_overview *m)
{
    memset(m, 0, sizeof(*m));
    m->used = (long long)memory_used_bytes();
    m->peak = memory_peak_update(m->used);
    m->startup = server.stat_startup_memory;
    m->rss = memory_rss_bytes();
    long long not_heap = server.stat_startup_rss - server.stat_startup_memory;
    m->resident = not_heap > 0 && m->rss > not_heap ? m->rss - not_heap : m->rss;
    m->clients_normal = clients_memory();
    m->keys = (long long)db_size(e);
    if (dict_size(e->keys) > 0)
        m->keys_main = (long long)dict_mem_usage(e->keys);
    if (dict_size(e->expires) > 0)
        m->keys_expires = (long long)dict_mem_usage(e->expires);
    m->overhead_total = m->startup + m->clients_normal + m->keys_main + m->keys_expires;
    m->dataset = m->used > m->overhead_total ? m->used - m->overhead_total : 0;
    m->net = m->used > m->startup ? m->used - m->startup : 1;
}

static void reply_pair_ll(client *c, const char *name, long long v)
{
    reply_bulk_cstr(c, name);
    reply_ll(c, v);
}

/* Redis computes its ratios in single precision: the same digits come out. */
static void reply_pair_ratio(client *c, const char *name, float v)
{
    reply_bulk_cstr(c, name);
    reply_double(c, (double)v);
}

static void memory_stats_command(client *c)
{
    memory_overview m;
    memory_overview_take(c->eng, &m);
    /* no allocator statistics: Redis' stand-ins */
    long long allocated = m.used, active = m.resident, resident = m.resident;
    int has_db = m.keys_main > 0;
    reply_map_len(c, 27 + has_db);
    reply_pair_ll(c, "peak.allocated", m.peak);
    reply_pair_ll(c, "total.allocated", m.used);
    reply_pair_ll(c, "startup.allocated", m.startup);
    reply_pair_ll(c, "replication.backlog", 0);     /* replication is the log's, in logd */
    reply_pair_ll(c, "clients.slaves", 0);
    reply_pair_ll(c, "clients.normal", m.clients_normal);
    reply_pair_ll(c, "cluster.links", 0);
    reply_pair_ll(c, "aof.buffer", 0);
    reply_pair_ll(c, "lua.caches", 0);
    reply_pair_ll(c, "functions.caches", 0);
    if (has_db) {
        reply_bulk_cstr(c, "db.0");
        reply_map_len(c, 3);
        reply_pair_ll(c, "overhead.hashtable.main", m.keys_main);
        reply_pair_ll(c, "overhead.hashtable.expires", m.keys_expires);
        reply_pair_ll(c, "overhead.hashtable.slot-to-keys", 0);
    }
    reply_pair_ll(c, "overhead.total", m.overhead_total);
    reply_pair_ll(c, "keys.count", m.keys);
    reply_pair_ll(c, "keys.bytes-per-key", m.keys ? m.net / m.keys : 0);
    reply_pair_ll(c, "dataset.bytes", m.dataset);
    reply_pair_ratio(c, "dataset.percentage", (float)m.dataset * 100 / (float)m.net);
    reply_pair_ratio(c, "peak.percentage", m.peak ? (float)m.used * 100 / (float)m.peak : 0);
    reply_pair_ll(c, "allocator.allocated", allocated);
    reply_pair_ll(c, "allocator.active", active);
    reply_pair_ll(c, "allocator.resident", resident);
    reply_pair_ratio(c, "allocator-fragmentation.ratio", allocated ? (float)active / (float)allocated : 0);
    reply_pair_ll(c, "allocator-fragmentation.bytes", active - allocated);
    reply_pair_ratio(c, "allocator-rss.ratio", active ? (float)resident / (float)active : 0);
    reply_pair_ll(c, "allocator-rss.bytes", resident - active);
    reply_pair_ratio(c, "rss-overhead.ratio", resident ? (float)m.rss / (float)resident : 0);
    reply_pair_ll(c, "rss-overhead.bytes", m.rss - resident);
    reply_pair_ratio(c, "fragmentation", m.used ? (float)m.rss / (float)m.used : 0);
    reply_pair_ll(c, "fragmentation.bytes", m.rss - m.used);
}

/* ------------------------------------------------------------ DOCTOR */

static const char doctor_empty[] =
    "Hi Sam, this instance is empty or is using very little memory, my issues detector can't "
    "be used in these conditions. Please, leave for your mission on Earth and fill it with "
    "some data. The new Sam and I will be back to our programming as soon as I finished "
    "rebooting.\n";
static const char doctor_healthy[] =
    "Hi Sam, I can't find any memory issue in your instance. I can only account for what "
    "occurs on this base.\n";
static const char doctor_intro[] =
    "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
static const char doctor_peak[] =
    " * Peak memory: In the past this instance used more than 150% the memory that is "
    "currently using. The allocator is normally not able to release memory after a peak, so "
    "you can expect to see a big fragmentation ratio, however this is actually harmless and is "
    "only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is "
    "currently bigger than expected, the memory will be used as soon as you fill the Redis "
    "instance with more data. If the memory peak was only occasional and you want to try to "
    "reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is "
    "to shutdown and restart the instance.\n\n";
static const char doctor_total_rss[] =
    " * High total RSS: This instance has a memory fragmentation and RSS overhead greater "
    "than 1.4 (this means that the Resident Set Size of the Redis process is much larger than "
    "the sum of the logical allocations Redis performed). This problem is usually due either "
    "to a large peak memory (check if there is a peak memory entry above in the report) or may "
    "result from a workload that causes the allocator to fragment memory a lot. If the problem "
    "is a large peak memory, then there is no issue. Otherwise, make sure you are using the "
    "Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is "
    "\"libc\".\n\n";
static const char doctor_alloc_frag[] =
    " * High allocator fragmentation: This instance has an allocator external fragmentation "
    "greater than 1.1. This problem is usually due either to a large peak memory (check if "
    "there is a peak memory entry above in the report) or may result from a workload that "
    "causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config "
    "option.\n\n";
static const char doctor_outro[] = "I'm here to keep you safe, Sam. I want to help you.\n";

/* Redis' checks that mean something here. Without allocator statistics
 * its allocator fragmentation is resident / used as well (see the STATS
 * stand-ins), and so is its total fragmentation once the RSS that is not
 * the heap's is left out; the allocator RSS overhead is 1, and the process
 * RSS overhead is the interpreter's: neither is reported. */
static sds memory_doctor_report(engine *e)
{
    memory_overview m;
    memory_overview_take(e, &m);
    if (m.used < MEMORY_DOCTOR_MIN_BYTES)
        return sds_new(doctor_empty);
    long long frag_bytes = m.resident - m.used;
    float frag = (float)m.resident / (float)m.used;
    int big_peak = (double)m.peak / (double)m.used > 1.5;
    int high_frag = frag > 1.4f && frag_bytes > MEMORY_DOCTOR_FRAG_BYTES;
    int high_alloc_frag = frag > 1.1f && frag_bytes > MEMORY_DOCTOR_FRAG_BYTES;
    if (!big_peak && !high_frag && !high_alloc_frag)
        return sds_new(doctor_healthy);
    sds s = sds_new(doctor_intro);
    if (big_peak) s = sds_cat(s, doctor_peak);
    if (high_frag) s = sds_cat(s, doctor_total_rss);
    if (high_alloc_frag) s = sds_cat(s, doctor_alloc_frag);
    return sds_cat(s, doctor_outro);
}

static void memory_doctor_command(client *c)
{
    sds report = memory_doctor_report(c->eng);
    reply_verbatim(c, report, sds_len(report), "txt");
    sds_free(report);
}

/* ------------------------------------------------------------ MALLOC-STATS, PURGE, HELP */

static void memory_malloc_stats_command(client *c)
{
    reply_bulk_cstr(c, "Stats not supported for the current allocator");
}

static void memory_purge_command(client *c)
{
    malloc_trim(0);                    /* glibc gives free pages back; nothing to report */
    reply_ok(c);
}

static void memory_help_command(client *c)
{
    static const char *const help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    };
    int n = (int)(sizeof(help) / sizeof(help[0]));
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, help[i]);
}

/* Subcommand arities, as Redis 7.0 declares them; the dispatcher refuses
 * unknown subcommands and wrong counts before the handler runs. None is
 * administrative in Redis 7.0 (MONITOR shows them all). */
static const subcommand memory_subs[] = {
    {"usage", -3, 0, memory_usage_command},
    {"stats", 2, 0, memory_stats_command},
    {"doctor", 2, 0, memory_doctor_command},
    {"malloc-stats", 2, 0, memory_malloc_stats_command},
    {"purge", 2, 0, memory_purge_command},
    {"help", 2, 0, memory_help_command},
};

int memory_subcommand_arity(const marg *sub)
{
    const subcommand *s = subcommand_find(memory_subs, SUBCOMMANDS_N(memory_subs), sub);
    return s != NULL ? s->arity : 0;
}

void memoryCommand(client *c)
{
    const subcommand *s = subcommand_find(memory_subs, SUBCOMMANDS_N(memory_subs), &c->argv[1]);
    assert(s != NULL && "the dispatcher refuses unknown MEMORY subcommands");
    s->fn(c);
}
