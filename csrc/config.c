/* config.c — runtime configuration: the parameter table over server.cfg and
 * the CONFIG command (GET / SET / RESETSTAT / REWRITE / HELP).
 *
 * Each parameter is one row: its name, how its value is parsed and printed,
 * where it lives in server_config, and whether it may change at runtime.
 * Only parameters this server really has are listed, plus a few read-only
 * ones whose honest value tools like to read (cluster-enabled: no).
 *
 * CONFIG SET with several pairs is all-or-nothing, like Redis 7: every value
 * is parsed and validated first, and only then are they all applied.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server.h"
#include "cmd_latency.h"
#include "cmd_slowlog.h"
#include "cmdstats.h"
#include "errorstats.h"
#include "notify.h"

enum param_kind {
    P_INT,        /* int field, [min, max] */
    P_MEM,        /* long long field, memory value ("1gb"), [min, max] */
    P_ENUM,       /* char[] field, one of enum_vals */
    P_STR,        /* char[] field, free text */
    P_SAVE,       /* char[] field, "" or pairs of "<seconds> <changes>" */
    P_DURABILITY, /* int field, "none" | "log" */
    P_CONST,      /* no field: a fixed value */
    P_DIR,        /* char[] field; empty means the working directory */
    P_NOTIFY,     /* no field: notify.c's flags, set as flag characters */
    P_LL_FN,      /* no field: a long long [min, max] another module keeps (get_ll/set_ll) */
};

#define F_IMMUTABLE (1 << 0)   /* fixed at startup */
#define F_PROTECTED (1 << 1)   /* Redis refuses it without enable-protected-configs */
#define F_CLAMP     (1 << 2)   /* out-of-range integers are clamped, not refused (hz) */
#define F_ONLY_NO   (1 << 3)   /* a yes/no whose "yes" we do not implement */
#define F_SENSITIVE (1 << 4)   /* CONFIG SET hides the value from the slow log, as Redis */

typedef struct config_param {
    const char *name;
    enum param_kind kind;
    int flags;
    size_t offset;             /* into server_config */
    size_t cap;                /* char[] capacity */
    long long min, max;
    const char *const *enum_vals;
    const char *const_value;
    long long (*get_ll)(void);         /* P_LL_FN */
    void (*set_ll)(long long v);
} config_param;

static const char *const policy_vals[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction", NULL};
static const char *const loglevel_vals[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const yesno_vals[] = {"yes", "no", NULL};

#define CFG_OFF(f) offsetof(server_config, f)
#define CFG_CAP(f) sizeof(((server_config *)0)->f)
#define INT_ROW(n, f, fl, lo, hi) {n, P_INT, fl, CFG_OFF(f), 0, lo, hi, NULL, NULL, NULL, NULL}
#define MEM_ROW(n, f, fl, lo, hi) {n, P_MEM, fl, CFG_OFF(f), 0, lo, hi, NULL, NULL, NULL, NULL}
#define STR_ROW(n, k, f, fl, vals) {n, k, fl, CFG_OFF(f), CFG_CAP(f), 0, 0, vals, NULL, NULL, NULL}
#define CONST_ROW(n, v) {n, P_CONST, F_IMMUTABLE, 0, 0, 0, 0, NULL, v, NULL, NULL}
#define LL_FN_ROW(n, lo, hi, get, set) {n, P_LL_FN, 0, 0, 0, lo, hi, NULL, NULL, get, set}

static const config_param params[] = {
    STR_ROW("bind", P_STR, bind, F_IMMUTABLE, NULL),
    INT_ROW("port", port, F_IMMUTABLE, 0, 65535),
    STR_ROW("dir", P_DIR, dir, F_PROTECTED, NULL),
    INT_ROW("maxclients", maxclients, 0, 1, INT_MAX),
    INT_ROW("hz", hz, F_CLAMP, 0, INT_MAX),
    INT_ROW("timeout", timeout, 0, 0, INT_MAX),
    INT_ROW("tcp-keepalive", tcp_keepalive, 0, 0, INT_MAX),
    INT_ROW("tcp-backlog", tcp_backlog, F_IMMUTABLE, 0, INT_MAX),
    MEM_ROW("proto-max-bulk-len", proto_max_bulk_len, 0, 1024 * 1024, (long long)SDS_MAX_LEN),
    MEM_ROW("client-query-buffer-limit", client_query_buffer_limit, 0, 1024 * 1024, LLONG_MAX),
    MEM_ROW("maxmemory", maxmemory, 0, 0, LLONG_MAX),
    STR_ROW("maxmemory-policy", P_ENUM, maxmemory_policy, 0, policy_vals),
    STR_ROW("appendonly", P_ENUM, appendonly, F_ONLY_NO, yesno_vals),
    STR_ROW("save", P_SAVE, save, 0, NULL),
    INT_ROW("databases", databases, F_IMMUTABLE, 1, INT_MAX),
    STR_ROW("requirepass", P_STR, requirepass, F_SENSITIVE, NULL),
    STR_ROW("logfile", P_STR, logfile, F_IMMUTABLE, NULL),
    STR_ROW("loglevel", P_ENUM, loglevel, 0, loglevel_vals),
    INT_ROW("active-expire-effort", active_expire_effort, 0, 1, 10),
    {"notify-keyspace-events", P_NOTIFY, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
    {"durability", P_DURABILITY, F_IMMUTABLE, CFG_OFF(durability), 0, 0, 0, NULL, NULL, NULL, NULL},
    LL_FN_ROW("slowlog-log-slower-than", -1, LLONG_MAX, slowlog_get_slower_than, slowlog_set_slower_than),
    LL_FN_ROW("slowlog-max-len", 0, LLONG_MAX, slowlog_get_max_len, slowlog_set_max_len),
    LL_FN_ROW("latency-monitor-threshold", 0, LLONG_MAX, latency_get_threshold_ms, latency_set_threshold_ms),
    CONST_ROW("cluster-enabled", "no"),
};
#define N_PARAMS ((int)(sizeof(params) / sizeof(params[0])))

#define HZ_MIN 1
#define HZ_MAX 500
#define VALUE_MAX 1024          /* longest char[] field (dir, logfile) */

/* A parsed, validated value waiting to be applied. */
typedef struct parsed_value {
    long long ll;
    char str[VALUE_MAX];
} parsed_value;

static char err_buf[256];      /* reasons with numbers in them; single-threaded */

/* ------------------------------------------------------------ helpers */

static const config_param *param_find(const char *name, size_t len)
{
    for (int i = 0; i < N_PARAMS; i++)
        if (strlen(params[i].name) == len && strncasecmp(params[i].name, name, len) == 0)
            return &params[i];
    return NULL;
}

static void *field_ptr(const config_param *p)
{
    return (char *)&server.cfg + p->offset;
}

/* Redis memory values: digits with an optional unit; "k"/"m"/"g" are powers
 * of 1000, "kb"/"mb"/"gb" powers of 1024. Returns 0 ok, -1 bad. */
static int parse_memory(const char *s, size_t len, long long *out)
{
    static const struct { const char *unit; long long mul; } units[] = {
        {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000 * 1000}, {"mb", 1024 * 1024},
        {"g", 1000LL * 1000 * 1000}, {"gb", 1024LL * 1024 * 1024},
    };
    size_t digits = 0;
    while (digits < len && isdigit((unsigned char)s[digits])) digits++;
    if (digits == 0 || digits > 19) return -1;
    long long mul = 1;
    if (digits < len) {
        size_t ulen = len - digits;
        int found = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strlen(units[i].unit) == ulen && strncasecmp(units[i].unit, s + digits, ulen) == 0) {
                mul = units[i].mul;
                found = 1;
            }
        }
        if (!found) return -1;
    }
    long long v;
    if (!string2ll(s, digits, &v) || v < 0) return -1;
    if (v > LLONG_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

/* "" or pairs of non-negative integers separated by spaces. */
static int valid_save(const char *s)
{
    int words = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ' ') p++;
        long long v;
        if (!string2ll(start, (size_t)(p - start), &v) || v < 0) return 0;
        words++;
    }
    return words % 2 == 0;
}

static const char *range_error(long long lo, long long hi)
{
    snprintf(err_buf, sizeof(err_buf), "argument must be between %lld and %lld inclusive", lo, hi);
    return err_buf;
}

static const char *enum_error(const char *const *vals)
{
    size_t used = (size_t)snprintf(err_buf, sizeof(err_buf), "argument(s) must be one of the following: ");
    for (int i = 0; vals[i] && used < sizeof(err_buf); i++)
        used += (size_t)snprintf(err_buf + used, sizeof(err_buf) - used, "%s%s", i ? ", " : "", vals[i]);
    return err_buf;
}

/* ------------------------------------------------------------ parse / apply */

/* Validates value for p into *out. Returns 0, or -1 with *err set. */
static int param_parse(const config_param *p, const char *value, size_t vlen,
                       parsed_value *out, const char **err)
{
    if (p->flags & F_IMMUTABLE) { *err = "can't set immutable config"; return -1; }
    if (p->flags & F_PROTECTED) { *err = "can't set protected config"; return -1; }
    switch (p->kind) {
    case P_INT:
    case P_LL_FN: {
        long long v;
        if (!string2ll(value, vlen, &v)) { *err = "argument couldn't be parsed into an integer"; return -1; }
        if (v < p->min || v > p->max) { *err = range_error(p->min, p->max); return -1; }
        out->ll = v;
        return 0;
    }
    case P_MEM: {
        long long v;
        if (parse_memory(value, vlen, &v) != 0) { *err = "argument must be a memory value"; return -1; }
        if (v < p->min || v > p->max) { *err = range_error(p->min, p->max); return -1; }
        out->ll = v;
        return 0;
    }
    case P_ENUM:
        for (int i = 0; p->enum_vals[i]; i++) {
            if (strlen(p->enum_vals[i]) == vlen && strncasecmp(p->enum_vals[i], value, vlen) == 0) {
                if ((p->flags & F_ONLY_NO) && strcmp(p->enum_vals[i], "no") != 0) {
                    *err = "not supported: writes are made durable by the replicated log, not an AOF";
                    return -1;
                }
                snprintf(out->str, sizeof(out->str), "%s", p->enum_vals[i]);
                return 0;
            }
        }
        *err = p->enum_vals == yesno_vals ? "argument must be 'yes' or 'no'" : enum_error(p->enum_vals);
        return -1;
    case P_STR:
    case P_SAVE:
        if (vlen >= p->cap || memchr(value, '\0', vlen)) { *err = "argument is too long or contains NUL"; return -1; }
        memcpy(out->str, value, vlen);
        out->str[vlen] = '\0';
        if (p->kind == P_SAVE && !valid_save(out->str)) { *err = "Invalid save parameters"; return -1; }
        return 0;
    case P_NOTIFY: {
        int flags = notify_flags_parse(value, vlen);
        if (flags < 0) { *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."; return -1; }
        out->ll = flags;
        return 0;
    }
    case P_DURABILITY:
    case P_CONST:
    case P_DIR:
        break;        /* all immutable or protected: refused above */
    }
    *err = "can't set immutable config";
    return -1;
}

static void param_apply(const config_param *p, const parsed_value *v)
{
    switch (p->kind) {
    case P_INT: {
        long long x = v->ll;
        if (p->flags & F_CLAMP) x = x < HZ_MIN ? HZ_MIN : (x > HZ_MAX ? HZ_MAX : x);
        *(int *)field_ptr(p) = (int)x;
        break;
    }
    case P_MEM:
        *(long long *)field_ptr(p) = v->ll;
        break;
    case P_LL_FN:
        p->set_ll(v->ll);
        break;
    case P_NOTIFY:
        notify_flags_set((int)v->ll);
        break;
    case P_ENUM:
    case P_STR:
    case P_SAVE:
        assert(strlen(v->str) < p->cap);
        memcpy(field_ptr(p), v->str, strlen(v->str) + 1);
        break;
    case P_DURABILITY:
    case P_CONST:
    case P_DIR:
        assert(0 && "immutable parameter reached apply");
        break;
    }
}

/* Formats p's current value into buf (VALUE_MAX bytes). */
static const char *param_value(const config_param *p, char *buf)
{
    switch (p->kind) {
    case P_INT:
        snprintf(buf, VALUE_MAX, "%d", *(const int *)field_ptr(p));
        return buf;
    case P_MEM:
        snprintf(buf, VALUE_MAX, "%lld", *(const long long *)field_ptr(p));
        return buf;
    case P_LL_FN:
        snprintf(buf, VALUE_MAX, "%lld", p->get_ll());
        return buf;
    case P_ENUM:
    case P_STR:
    case P_SAVE:
        snprintf(buf, VALUE_MAX, "%.*s", (int)p->cap, (const char *)field_ptr(p));
        return buf;
    case P_NOTIFY:
        return notify_flags_format(notify_flags_get(), buf, VALUE_MAX);
    case P_DURABILITY:
        return server.cfg.durability == DURABILITY_LOG ? "log" : "none";
    case P_CONST:
        return p->const_value;
    case P_DIR: {
        const char *dir = (const char *)field_ptr(p);
        if (dir[0]) {
            snprintf(buf, VALUE_MAX, "%.*s", (int)p->cap, dir);
            return buf;
        }
        return getcwd(buf, VALUE_MAX) ? buf : "";
    }
    }
    return "";
}

/* ------------------------------------------------------------ public API */

int config_set(const char *name, const char *value, size_t vlen, const char **err)
{
    const config_param *p = param_find(name, strlen(name));
    if (p == NULL) {
        *err = "Unknown option";
        return -1;
    }
    parsed_value v;
    if (param_parse(p, value, vlen, &v, err) != 0) return -1;
    param_apply(p, &v);
    return 0;
}

void config_get_matching(const char *pattern, size_t plen,
                         void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
    char buf[VALUE_MAX];
    for (int i = 0; i < N_PARAMS; i++) {
        const config_param *p = &params[i];
        if (!string_match_len(pattern, plen, p->name, strlen(p->name), 1)) continue;
        fn(ctx, p->name, param_value(p, buf));
    }
}

/* ------------------------------------------------------------ CONFIG command */

/* CONFIG GET pattern [pattern ...]: each parameter once, even when several
 * patterns match it; a flat array in RESP2, a map in RESP3. A name without
 * glob characters is answered under the name as typed (Redis 7.0 does). */
static void config_get_command(client *c)
{
    char seen[N_PARAMS] = {0};
    char buf[VALUE_MAX];
    size_t h = reply_deferred_len(c);
    long pairs = 0;
    for (int a = 2; a < c->argc; a++) {
        const marg *arg = &c->argv[a];
        if (!memchr(arg->ptr, '*', arg->len) && !memchr(arg->ptr, '?', arg->len) &&
            !memchr(arg->ptr, '[', arg->len)) {
            for (int i = 0; i < N_PARAMS; i++) {
                const config_param *p = &params[i];
                if (seen[i] || strlen(p->name) != arg->len ||
                    strncasecmp(p->name, arg->ptr, arg->len) != 0)
                    continue;
                seen[i] = 1;
                reply_bulk(c, arg->ptr, arg->len);
                reply_bulk_cstr(c, param_value(p, buf));
                pairs++;
            }
            continue;
        }
        for (int i = 0; i < N_PARAMS; i++) {
            const config_param *p = &params[i];
            if (seen[i]) continue;
            if (!string_match_len(c->argv[a].ptr, c->argv[a].len, p->name, strlen(p->name), 1)) continue;
            seen[i] = 1;
            reply_bulk_cstr(c, p->name);
            reply_bulk_cstr(c, param_value(p, buf));
            pairs++;
        }
    }
    reply_set_deferred_map_len(c, h, pairs);
}

/* A value CONFIG SET hides from the slow log: ours marked F_SENSITIVE, and
 * the replication credentials Redis 7.0 hides, which this server does not
 * have (a password sent for them is a password all the same). */
static int param_sensitive(const marg *name)
{
    static const char *const others[] = {"masterauth", "masteruser"};
    const config_param *p = param_find(name->ptr, name->len);
    if (p != NULL)
        return (p->flags & F_SENSITIVE) != 0;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (arg_equals(name, others[i]))
            return 1;
    return 0;
}

static void reply_config_set_failed(client *c, const marg *name, const char *reason)
{
    int n = name->len > 128 ? 128 : (int)name->len;
    reply_error_fmt(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                    n, name->ptr, reason);
}

/* CONFIG SET name value [name value ...]: validate everything, then apply. */
static void config_set_command(client *c)
{
    if ((c->argc - 2) % 2 != 0) {
        reply_err_syntax(c);
        return;
    }
    int npairs = (c->argc - 2) / 2;
    /* Every sensitive value is hidden from the slow log, even when another
     * pair is refused (Redis 7.0 looks at all of them first). */
    for (int k = 0; k < npairs; k++)
        if (param_sensitive(&c->argv[2 + 2 * k]))
            command_redact_arg(c, 3 + 2 * k);
    if (npairs > N_PARAMS) {        /* more pairs than parameters: a duplicate for sure */
        reply_config_set_failed(c, &c->argv[2], "duplicate parameter");
        return;
    }
    const config_param *which[N_PARAMS];
    parsed_value *vals = malloc(sizeof(parsed_value) * (size_t)npairs);
    if (vals == NULL) abort();
    for (int k = 0; k < npairs; k++) {
        const marg *name = &c->argv[2 + 2 * k], *value = &c->argv[3 + 2 * k];
        const config_param *p = param_find(name->ptr, name->len);
        if (p == NULL) {
            reply_error_fmt(c, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                            (int)name->len, name->ptr);                 /* whole, as Redis */
            free(vals);
            return;
        }
        for (int j = 0; j < k; j++) {
            if (which[j] == p) {
                reply_config_set_failed(c, name, "duplicate parameter");
                free(vals);
                return;
            }
        }
        const char *err = NULL;
        if (param_parse(p, value->ptr, value->len, &vals[k], &err) != 0) {
            reply_config_set_failed(c, name, err);
            free(vals);
            return;
        }
        which[k] = p;
    }
    for (int k = 0; k < npairs; k++) param_apply(which[k], &vals[k]);
    free(vals);
    reply_ok(c);
}

/* CONFIG RESETSTAT: zero the counters INFO reports. */
static void config_resetstat_command(client *c)
{
    memset(&c->eng->stats, 0, sizeof(c->eng->stats));
    if (server.eng && server.eng != c->eng) memset(&server.eng->stats, 0, sizeof(server.eng->stats));
    server.stat_peak_memory = (long long)memory_used_bytes();
    server.stat_total_commands_us = 0;
    command_instantaneous_reset();
    cmdstats_reset();
    errorstats_reset();
    reply_ok(c);
}

static void config_help_command(client *c)
{
    static const char *const help[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file (there is none: always an error).",
        "HELP",
        "    Print this help.",
    };
    int n = (int)(sizeof(help) / sizeof(help[0]));
    reply_array_len(c, n);
    for (int i = 0; i < n; i++) reply_status(c, help[i]);
}

/* There is no config file to rewrite. */
static void config_rewrite_command(client *c)
{
    reply_error(c, "ERR The server is running without a config file");
}

static const subcommand config_subs[] = {
    {"get", -3, 1, config_get_command},
    {"set", -4, 1, config_set_command},
    {"resetstat", 2, 1, config_resetstat_command},
    {"rewrite", 2, 1, config_rewrite_command},
    {"help", 2, 0, config_help_command},
};

int config_subcommand_is_admin(const marg *sub)
{
    const subcommand *s = subcommand_find(config_subs, SUBCOMMANDS_N(config_subs), sub);
    return s != NULL && s->admin;
}

int config_subcommand_arity(const marg *sub)
{
    const subcommand *s = subcommand_find(config_subs, SUBCOMMANDS_N(config_subs), sub);
    return s != NULL ? s->arity : 0;
}

void configCommand(client *c)
{
    const subcommand *s = subcommand_find(config_subs, SUBCOMMANDS_N(config_subs), &c->argv[1]);
    assert(s != NULL && "the dispatcher refuses unknown CONFIG subcommands");
    s->fn(c);
}

/* requirepass set: a connection must AUTH before anything but AUTH, HELLO,
 * QUIT and RESET (the dispatcher asks; the default user is nopass when it
 * is empty, as in Redis). */
int server_requires_auth(void)
{
    return server.cfg.requirepass[0] != '\0';
}
