/* info.c — the INFO text.
 *
 * Redis' format exactly: each section is "# Name\r\n" followed by
 * "field:value\r\n" lines, and sections are separated by one "\r\n". Field
 * names are Redis' own so monitoring tools read us unchanged; fields for
 * machinery we do not have (RDB forks, AOF, Lua) report the idle value Redis
 * would show with that machinery switched off, and are kept to the ones
 * tools commonly read.
 */
#include <assert.h>
#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "server.h"
#include "blocking.h"
#include "cmdstats.h"
#include "durable.h"
#include "errorstats.h"
#include "snapshot.h"

enum {
    SEC_SERVER = 1 << 0,
    SEC_CLIENTS = 1 << 1,
    SEC_MEMORY = 1 << 2,
    SEC_PERSISTENCE = 1 << 3,
    SEC_STATS = 1 << 4,
    SEC_REPLICATION = 1 << 5,
    SEC_CPU = 1 << 6,
    SEC_KEYSPACE = 1 << 7,
    SEC_MODULES = 1 << 8,
    SEC_COMMANDSTATS = 1 << 9,
    SEC_ERRORSTATS = 1 << 10,
    SEC_LATENCYSTATS = 1 << 11,
    SEC_CLUSTER = 1 << 12,
};
/* INFO with no argument or "default" leaves out the per-command sections,
 * as Redis does; "all" and "everything" have them. */
#define SEC_ALL 0x1fff
#define SEC_DEFAULT (SEC_ALL & ~(SEC_COMMANDSTATS | SEC_LATENCYSTATS))

#define CLIENT_WALK_MAX 1000000   /* bound on the client-list walk */

/* ------------------------------------------------------------ memory */

size_t memory_used_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;     /* in-use heap bytes + mmapped blocks */
}

long long memory_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    long long pages_total = 0, pages_rss = 0;
    int n = fscanf(f, "%lld %lld", &pages_total, &pages_rss);
    fclose(f);
    if (n != 2) return 0;
    return pages_rss * sysconf(_SC_PAGESIZE);
}

/* Redis' bytesToHuman: "123B", "1.30M", ... */
static void bytes_human(char *buf, size_t len, long long n)
{
    static const char units[] = "KMGTPE";
    if (n < 1024) {
        snprintf(buf, len, "%lldB", n);
        return;
    }
    double d = (double)n / 1024;
    int u = 0;
    while (d >= 1024 && u < 5) { d /= 1024; u++; }
    snprintf(buf, len, "%.2f%c", d, units[u]);
}

/* ------------------------------------------------------------ sections */

static engine *info_engine(void)
{
    return server.eng;
}

static long long uptime_seconds(void)
{
    long long start = server.start_time_ms ? server.start_time_ms : mstime();
    return (mstime() - start) / 1000;
}

static sds section_server(sds s)
{
    struct utsname un;
    if (uname(&un) != 0) memset(&un, 0, sizeof(un));
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    long long up = uptime_seconds();
    s = sds_catprintf(s,
        "# Server\r\n"
        "redis_version:%s\r\n"
        "memorydb_version:%s\r\n"
        "redis_git_sha1:00000000\r\n"
        "redis_git_dirty:0\r\n"
        "redis_build_id:0\r\n"
        "redis_mode:standalone\r\n"
        "os:%s %s %s\r\n"
        "arch_bits:%d\r\n"
        "monotonic_clock:POSIX clock_gettime\r\n"
        "multiplexing_api:epoll\r\n"
        "gcc_version:%d.%d.%d\r\n"
        "process_id:%ld\r\n"
        "process_supervised:no\r\n"
        "run_id:%s\r\n"
        "tcp_port:%d\r\n"
        "server_time_usec:%lld\r\n"
        "uptime_in_seconds:%lld\r\n"
        "uptime_in_days:%lld\r\n"
        "hz:%d\r\n"
        "configured_hz:%d\r\n"
        "lru_clock:%lld\r\n"
        "executable:%s\r\n"
        "config_file:\r\n"
        "io_threads_active:0\r\n"
        "durability:%s\r\n",
        MDB_REDIS_COMPAT_VERSION, MDB_VERSION,
        un.sysname, un.release, un.machine,
        (int)(sizeof(void *) * 8),
        __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
        (long)getpid(), server.run_id, server.cfg.port, ustime(), up, up / 86400,
        server.cfg.hz, server.cfg.hz, (mstime() / 1000) & ((1 << 24) - 1), exe,
        server.cfg.durability == DURABILITY_LOG ? "log" : "none");
    return s;
}

static sds section_clients(sds s)
{
    size_t max_in = 0, max_out = 0;
    long walked = 0;
    for (client *c = server.clients_head; c && walked < CLIENT_WALK_MAX; c = c->next_all, walked++) {
        if (c->qb_peak > max_in) max_in = c->qb_peak;
        if (c->reply_peak > max_out) max_out = c->reply_peak;
    }
    return sds_catprintf(s,
        "# Clients\r\n"
        "connected_clients:%lld\r\n"
        "cluster_connections:0\r\n"
        "maxclients:%d\r\n"
        "client_recent_max_input_buffer:%zu\r\n"
        "client_recent_max_output_buffer:%zu\r\n"
        "blocked_clients:%lld\r\n"
        "tracking_clients:0\r\n"
        "clients_in_timeout_table:%lld\r\n",
        server.connected_clients, server.cfg.maxclients, max_in, max_out,
        blocking_count() + networking_paused_count(),   /* Redis counts paused clients as blocked */
        blocking_count_with_timeout());
}

long long memory_peak_update(long long used)
{
    if (used > server.stat_peak_memory) server.stat_peak_memory = used;
    return server.stat_peak_memory;
}

static sds section_memory(sds s)
{
    long long used = (long long)memory_used_bytes();
    long long peak = memory_peak_update(used);
    long long rss = memory_rss_bytes();
    long long total = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    char used_h[32], rss_h[32], peak_h[32], total_h[32], max_h[32];
    bytes_human(used_h, sizeof(used_h), used);
    bytes_human(rss_h, sizeof(rss_h), rss);
    bytes_human(peak_h, sizeof(peak_h), peak);
    bytes_human(total_h, sizeof(total_h), total);
    bytes_human(max_h, sizeof(max_h), server.cfg.maxmemory);
    return sds_catprintf(s,
        "# Memory\r\n"
        "used_memory:%lld\r\n"
        "used_memory_human:%s\r\n"
        "used_memory_rss:%lld\r\n"
        "used_memory_rss_human:%s\r\n"
        "used_memory_peak:%lld\r\n"
        "used_memory_peak_human:%s\r\n"
        "used_memory_peak_perc:%.2f%%\r\n"
        "total_system_memory:%lld\r\n"
        "total_system_memory_human:%s\r\n"
        "maxmemory:%lld\r\n"
        "maxmemory_human:%s\r\n"
        "maxmemory_policy:%s\r\n"
        "mem_fragmentation_ratio:%.2f\r\n"
        "mem_allocator:libc\r\n"
        "lazyfree_pending_objects:0\r\n",
        used, used_h, rss, rss_h, peak, peak_h,
        peak ? 100.0 * (double)used / (double)peak : 0.0,
        total, total_h, server.cfg.maxmemory, max_h, server.cfg.maxmemory_policy,
        used ? (double)rss / (double)used : 0.0);
}

/* Off-box snapshots (csrc/snapshot.h): what the node's snapshot store holds,
 * read from the store directory on each INFO (a directory listing and one
 * 92-byte header). */
static sds section_snapshot_fields(sds s)
{
    char dir[2048];
    snapshot_store_info si;
    snapshot_store_dir_for(server.cfg.dir, dir, sizeof(dir));
    snapshot_store_summary(dir, &si);
    long long now_s = mstime() / 1000;
    long long created_s = si.found ? si.latest.created_ms / 1000 : -1;
    return sds_catprintf(s,
        "memorydb_snapshot_dir:%s\r\n"
        "memorydb_snapshot_status:%s\r\n"
        "memorydb_snapshot_last_error:%s\r\n"
        "memorydb_snapshot_count:%d\r\n"
        "memorydb_snapshot_last_seq:%lld\r\n"
        "memorydb_snapshot_last_epoch:%lld\r\n"
        "memorydb_snapshot_last_keys:%lld\r\n"
        "memorydb_snapshot_last_time:%lld\r\n"
        "memorydb_snapshot_age_sec:%lld\r\n"
        "memorydb_snapshot_size_bytes:%lld\r\n",
        dir, si.status, si.last_error, si.count,
        si.found ? (long long)si.latest.seq : -1,
        si.found ? (long long)si.latest.epoch : -1,
        si.found ? (long long)si.latest.key_count : -1,
        created_s,
        si.found ? now_s - created_s : -1,
        si.found ? (long long)si.latest.file_bytes : -1);
}

static sds section_persistence(sds s)
{
    engine *e = info_engine();
    long long lastsave = server.lastsave_unix ? server.lastsave_unix : server.start_time_ms / 1000;
    s = sds_catprintf(s,
        "# Persistence\r\n"
        "loading:0\r\n"
        "async_loading:0\r\n"
        "rdb_changes_since_last_save:%lld\r\n"
        "rdb_bgsave_in_progress:0\r\n"
        "rdb_last_save_time:%lld\r\n"
        "rdb_last_bgsave_status:ok\r\n"
        "rdb_last_bgsave_time_sec:-1\r\n"
        "rdb_current_bgsave_time_sec:-1\r\n"
        "rdb_saves:0\r\n"
        "aof_enabled:0\r\n"
        "aof_rewrite_in_progress:0\r\n"
        "aof_rewrite_scheduled:0\r\n"
        "aof_last_rewrite_time_sec:-1\r\n"
        "aof_current_rewrite_time_sec:-1\r\n"
        "aof_last_bgrewrite_status:ok\r\n"
        "aof_last_write_status:ok\r\n",
        e ? e->dirty : 0, lastsave);
    return section_snapshot_fields(s);
}

static sds section_stats(sds s)
{
    engine *e = info_engine();
    engine_stats zero;
    memset(&zero, 0, sizeof(zero));
    const engine_stats *st = e ? &e->stats : &zero;
    double ops, in_kbps, out_kbps;
    command_instantaneous(mstime(), &ops, &in_kbps, &out_kbps);
    return sds_catprintf(s,
        "# Stats\r\n"
        "total_connections_received:%lld\r\n"
        "total_commands_processed:%lld\r\n"
        "instantaneous_ops_per_sec:%lld\r\n"
        "total_net_input_bytes:%lld\r\n"
        "total_net_output_bytes:%lld\r\n"
        "instantaneous_input_kbps:%.2f\r\n"
        "instantaneous_output_kbps:%.2f\r\n"
        "rejected_connections:%lld\r\n"
        "sync_full:0\r\n"
        "sync_partial_ok:0\r\n"
        "sync_partial_err:0\r\n"
        "expired_keys:%lld\r\n"
        "evicted_keys:%lld\r\n"
        "keyspace_hits:%lld\r\n"
        "keyspace_misses:%lld\r\n"
        "pubsub_channels:%ld\r\n"
        "pubsub_patterns:%ld\r\n"
        "pubsubshard_channels:0\r\n"
        "latest_fork_usec:0\r\n"
        "total_forks:0\r\n"
        "unexpected_error_replies:0\r\n"   /* errors from a primary or an AOF: we have neither */
        "total_error_replies:%lld\r\n",
        st->numconnections, st->numcommands, (long long)(ops + 0.5),
        st->net_input_bytes, st->net_output_bytes, in_kbps, out_kbps,
        st->rejected_conn, st->expiredkeys, st->evictedkeys,
        st->keyspace_hits, st->keyspace_misses,
        e ? pubsub_active_count(e, 0) : 0L, e ? pubsub_active_count(e, 1) : 0L,
        st->total_error_replies);
}

/* A replica's source is the log, not a primary's socket: master_host is
 * reported as "log" (port 0), offsets are log sequence numbers, and our own
 * memorydb_* fields give the epoch, commit and applied seqs and the lag. */
static sds replica_fields(sds s)
{
    const durable_stats *st = durable_get_stats();
    unsigned long long applied = durable_applied_seq();
    const char *err = durable_apply_error();
    return sds_catprintf(s,
        "master_host:log\r\n"
        "master_port:0\r\n"
        "master_link_status:%s\r\n"
        "master_last_io_seconds_ago:0\r\n"
        "master_sync_in_progress:%d\r\n"
        "slave_read_repl_offset:%llu\r\n"
        "slave_repl_offset:%llu\r\n"
        "slave_priority:100\r\n"
        "slave_read_only:1\r\n"
        "replica_announced:1\r\n"
        "memorydb_apply_status:%s\r\n"
        "memorydb_apply_errors:%llu\r\n",
        durable_peer_alive() ? "up" : "down",
        durable_role() == ROLE_LOADING,
        applied, applied, err ? err : "ok", (unsigned long long)st->apply_errors);
}

static sds section_replication(sds s)
{
    engine *e = info_engine();
    int replica = durable_role() != ROLE_PRIMARY;
    s = sds_catprintf(s, "# Replication\r\nrole:%s\r\n", replica ? "slave" : "master");
    if (replica)
        s = replica_fields(s);
    unsigned long long offset = durable_active() ? durable_log_commit()
                                                 : (e ? (unsigned long long)e->effect_seq : 0ULL);
    s = sds_catprintf(s,
        "connected_slaves:0\r\n"
        "master_failover_state:no-failover\r\n"
        "master_replid:%s\r\n"
        "master_replid2:0000000000000000000000000000000000000000\r\n"
        "master_repl_offset:%llu\r\n"
        "second_repl_offset:-1\r\n"
        "repl_backlog_active:0\r\n"
        "repl_backlog_size:0\r\n"
        "repl_backlog_first_byte_offset:0\r\n"
        "repl_backlog_histlen:0\r\n",
        server.run_id[0] ? server.run_id : "0000000000000000000000000000000000000000", offset);
    if (durable_active()) {
        unsigned long long applied = durable_applied_seq(), commit = durable_log_commit();
        s = sds_catprintf(s,
            "memorydb_durability:log\r\n"
            "memorydb_epoch:%llu\r\n"
            "memorydb_log_commit_seq:%llu\r\n"
            "memorydb_log_last_seq:%llu\r\n"
            "memorydb_applied_seq:%llu\r\n"
            "memorydb_lag_entries:%llu\r\n"
            "memorydb_effects_committed:%llu\r\n"
            "memorydb_effects_logged:%llu\r\n",
            (unsigned long long)durable_epoch(), commit,
            (unsigned long long)durable_log_last(), applied,
            replica && commit > applied ? commit - applied : 0ULL,
            (unsigned long long)durable_get_stats()->commit_seq,
            (unsigned long long)durable_get_stats()->records_out);
    }
    return s;
}

static sds section_cpu(sds s)
{
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return sds_catprintf(s,
        "# CPU\r\n"
        "used_cpu_sys:%ld.%06ld\r\n"
        "used_cpu_user:%ld.%06ld\r\n"
        "used_cpu_sys_children:%ld.%06ld\r\n"
        "used_cpu_user_children:%ld.%06ld\r\n",
        (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
        (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
        (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
        (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec);
}

/* Redis estimates avg_ttl from what its expire cycle samples; we sample
 * up to this many keys with a TTL when INFO is asked (0: none sampled). */
#define AVG_TTL_SAMPLES 64

static long long avg_ttl_ms(engine *e)
{
    long long sum = 0, n = 0, now = mstime();
    for (int i = 0; i < AVG_TTL_SAMPLES; i++) {
        dict_entry *de = dict_random_entry(e->expires);
        if (!de)
            break;
        if (db_key_reserved(de->key, sds_len(de->key)))
            continue;
        long long ttl = de->v.s64 - now;
        sum += ttl > 0 ? ttl : 0;
        n++;
    }
    return n ? sum / n : 0;
}

static sds section_keyspace(sds s)
{
    engine *e = info_engine();
    s = sds_cat(s, "# Keyspace\r\n");
    size_t keys = e ? db_size(e) : 0;
    if (keys > 0) {
        /* Reserved keys (db_key_reserved) all carry a TTL: leave them out of both. */
        unsigned long expires = dict_size(e->expires);
        expires = expires > e->reserved_keys ? expires - e->reserved_keys : 0;
        s = sds_catprintf(s, "db0:keys=%zu,expires=%lu,avg_ttl=%lld\r\n", keys, expires,
                          expires ? avg_ttl_ms(e) : 0LL);
    }
    return s;
}

static sds section_modules(sds s)
{
    return sds_cat(s, "# Modules\r\n");      /* none can be loaded */
}

static sds section_commandstats(sds s)
{
    return cmdstats_info(sds_cat(s, "# Commandstats\r\n"));
}

static sds section_errorstats(sds s)
{
    return errorstats_info(sds_cat(s, "# Errorstats\r\n"));
}

static sds section_latencystats(sds s)
{
    return latencystats_info(sds_cat(s, "# Latencystats\r\n"));
}

static sds section_cluster(sds s)
{
    return sds_cat(s, "# Cluster\r\ncluster_enabled:0\r\n");
}

/* ------------------------------------------------------------ selection */

static const struct { const char *name; int bit; sds (*gen)(sds); } sections[] = {
    {"server", SEC_SERVER, section_server},
    {"clients", SEC_CLIENTS, section_clients},
    {"memory", SEC_MEMORY, section_memory},
    {"persistence", SEC_PERSISTENCE, section_persistence},
    {"stats", SEC_STATS, section_stats},
    {"replication", SEC_REPLICATION, section_replication},
    {"cpu", SEC_CPU, section_cpu},
    {"modules", SEC_MODULES, section_modules},
    {"commandstats", SEC_COMMANDSTATS, section_commandstats},
    {"errorstats", SEC_ERRORSTATS, section_errorstats},
    {"latencystats", SEC_LATENCYSTATS, section_latencystats},
    {"cluster", SEC_CLUSTER, section_cluster},
    {"keyspace", SEC_KEYSPACE, section_keyspace},
};
#define N_SECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))

static int section_bits(const char *word, size_t len)
{
    if (len == 7 && strncasecmp(word, "default", 7) == 0)
        return SEC_DEFAULT;
    if ((len == 3 && strncasecmp(word, "all", 3) == 0) ||
        (len == 10 && strncasecmp(word, "everything", 10) == 0))
        return SEC_ALL;
    for (int i = 0; i < N_SECTIONS; i++)
        if (strlen(sections[i].name) == len && strncasecmp(sections[i].name, word, len) == 0)
            return sections[i].bit;
    return 0;      /* unknown sections contribute nothing */
}

/* section: one name, or several separated by spaces ("server clients");
 * NULL or "" means default. Sections come out in Redis' order. */
sds info_generate(sds s, const char *section)
{
    int bits = 0;
    if (section == NULL || section[0] == '\0') {
        bits = SEC_DEFAULT;
    } else {
        const char *p = section;
        while (*p) {
            while (*p == ' ') p++;
            const char *start = p;
            while (*p && *p != ' ') p++;
            if (p > start) bits |= section_bits(start, (size_t)(p - start));
        }
    }
    int emitted = 0;
    for (int i = 0; i < N_SECTIONS; i++) {
        if (!(bits & sections[i].bit)) continue;
        if (emitted++) s = sds_cat(s, "\r\n");
        s = sections[i].gen(s);
    }
    return s;
}
