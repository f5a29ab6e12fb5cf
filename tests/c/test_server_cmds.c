/* test_server_cmds.c — CONFIG, INFO and the server commands (cmd_server.c,
 * config.c, info.c) through the real dispatcher, with expected bytes taken
 * from redis-server 7.0 where the reply is deterministic.
 * Build and run: sh tests/c/run_dispatch_tests.sh */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server.h"

__attribute__((weak)) server_state server;

__attribute__((weak)) client *client_create_fake(engine *e)
{
    client *c = calloc(1, sizeof(*c));
    c->fd = -1; c->resp = 2; c->eng = e; c->flags = CLIENT_FAKE;
    return c;
}
__attribute__((weak)) void client_free_fake(client *c) { free(c->reply); free(c); }
__attribute__((weak)) mobj *obj_create_string(const char *p, size_t len)
{
    mobj *o = calloc(1, sizeof(*o));
    o->type = OBJ_STRING; o->encoding = ENC_RAW; o->refcount = 1; o->ptr = sds_newlen(p, len);
    return o;
}
__attribute__((weak)) void obj_decr_ref(mobj *o) { if (--o->refcount == 0) { sds_free(o->ptr); free(o); } }
__attribute__((weak)) void obj_incr_ref(mobj *o) { o->refcount++; }
__attribute__((weak)) mobj *obj_dup_string(const mobj *o) { return obj_create_string(o->ptr, sds_len(o->ptr)); }
__attribute__((weak)) const char *obj_string_ptr(const mobj *o, char *buf, size_t *len)
{ (void)buf; *len = sds_len(o->ptr); return o->ptr; }

static client *cl;
static int failures;

static const char *run(const char *line)
{
    static char buf[1 << 16];
    static marg argv[64];
    char *copy = strdup(line);
    int argc = 0;
    for (char *tok = strtok(copy, " "); tok && argc < 64; tok = strtok(NULL, " ")) {
        if (strcmp(tok, "''") == 0) tok = "";
        argv[argc].ptr = tok; argv[argc].len = strlen(tok); argc++;
    }
    cl->argc = argc; cl->argv = argv; cl->reply_len = 0;
    command_execute(cl);
    size_t n = cl->reply_len < sizeof(buf) - 1 ? cl->reply_len : sizeof(buf) - 1;
    memcpy(buf, cl->reply, n); buf[n] = 0;
    free(copy);
    return buf;
}

/* INFO keyspace: avg_ttl is sampled against the clock (key c expires in
 * 100 s), so its value is checked by range and the line by its other fields. */
static void check_keyspace(const char *s)
{
    const char *p = strstr(s, "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=");
    assert(p != NULL);
    long long v = atoll(p + strlen("# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl="));
    assert(v > 90000 && v <= 100000);
}

static void expect(const char *line, const char *want)
{
    const char *got = run(line);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL %s\n want %s\n got  %s\n", line, want, got);
        failures++;
    }
}

static char last_record[4096];
static void sink(void *ctx, uint64_t seq, const char *rec, size_t len)
{
    (void)ctx; (void)seq;
    snprintf(last_record, sizeof last_record, "%.*s", (int)len, rec);
}

static void defaults(server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->bind, "127.0.0.1"); cfg->port = 6390; cfg->maxclients = 10000; cfg->hz = 10;
    cfg->proto_max_bulk_len = 512LL << 20; cfg->client_query_buffer_limit = 1LL << 30;
    strcpy(cfg->maxmemory_policy, "noeviction"); cfg->tcp_keepalive = 300; cfg->tcp_backlog = 511;
    cfg->active_expire_effort = 1; strcpy(cfg->appendonly, "no"); cfg->databases = 1;
    strcpy(cfg->loglevel, "notice"); strcpy(cfg->role_name, "master");
}

int main(void)
{
    commands_init();
    engine *e = engine_create();
    e->effect_sink = sink;
    defaults(&server.cfg);
    server.eng = e;
    server.start_time_ms = mstime();
    strcpy(server.run_id, "0123456789012345678901234567890123456789");
    cl = client_create_fake(e);

    /* CONFIG */
    expect("config get hz", "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    expect("config get hz h* HZ", "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    expect("config get nosuch", "*0\r\n");
    expect("config get", "-ERR wrong number of arguments for 'config|get' command\r\n");
    expect("config set hz 600", "+OK\r\n");
    expect("config get hz", "*2\r\n$2\r\nhz\r\n$3\r\n500\r\n");
    expect("config set hz 10", "+OK\r\n");
    expect("config set foo bar", "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
    expect("config set hz abc", "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n");
    expect("config set databases 3", "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n");
    expect("config set maxmemory-policy foo", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n");
    expect("config set appendonly maybe", "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'\r\n");
    expect("config set maxmemory 1zz", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n");
    expect("config set maxmemory -1", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n");
    expect("config set timeout -1", "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n");
    expect("config set active-expire-effort 11", "-ERR CONFIG SET failed (possibly related to argument 'active-expire-effort') - argument must be between 1 and 10 inclusive\r\n");
    expect("config set hz 10 hz 11", "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n");
    expect("config set hz 10 port", "-ERR syntax error\r\n");
    expect("config set hz", "-ERR wrong number of arguments for 'config|set' command\r\n");
    expect("config set loglevel foo", "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning\r\n");
    expect("config set save abc", "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters\r\n");
    expect("config set save ''", "+OK\r\n");
    expect("config set dir /tmp", "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n");
    expect("config set tcp-backlog 5", "-ERR CONFIG SET failed (possibly related to argument 'tcp-backlog') - can't set immutable config\r\n");
    /* all-or-nothing */
    expect("config set hz 20 maxmemory-policy bad", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n");
    assert(server.cfg.hz == 10);
    expect("config set hz 20 maxmemory-policy ALLKEYS-LRU maxmemory 1gb", "+OK\r\n");
    assert(server.cfg.hz == 20 && strcmp(server.cfg.maxmemory_policy, "allkeys-lru") == 0);
    expect("config get maxmemory", "*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n");
    expect("config set maxmemory 10k", "+OK\r\n");
    assert(server.cfg.maxmemory == 10000);
    expect("config get cluster-enabled", "*2\r\n$15\r\ncluster-enabled\r\n$2\r\nno\r\n");
    expect("config get appendonly", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    expect("config get save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    expect("config get durability", "*2\r\n$10\r\ndurability\r\n$4\r\nnone\r\n");
    expect("config rewrite", "-ERR The server is running without a config file\r\n");
    expect("config foo", "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n");
    assert(run("config help")[0] == '*');
    assert(config_set("hz", "15", 2, &(const char *){0}) == 0 && server.cfg.hz == 15);
    const char *err = NULL;
    assert(config_set("nope", "1", 1, &err) == -1 && err != NULL);
    cl->resp = 3;
    expect("config get hz port", "%2\r\n$2\r\nhz\r\n$2\r\n15\r\n$4\r\nport\r\n$4\r\n6390\r\n");
    cl->resp = 2;
    const char *all = run("config get *");
    assert(strstr(all, "$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n"));

    /* keyspace commands */
    expect("dbsize", ":0\r\n");
    expect("debug digest", "+0000000000000000000000000000000000000000\r\n");
    db_set(e, "a", 1, obj_create_string("hello", 5), 0);
    db_set(e, "b", 1, obj_create_string("hello", 5), 0);
    db_set(e, "c", 1, obj_create_string("other", 5), 0);
    db_set_expire(e, "c", 1, mstime() + 100000);
    expect("dbsize", ":3\r\n");
    const char *d = run("debug digest");
    assert(d[0] == '+' && strlen(d) == 43 && strcmp(d, "+0000000000000000000000000000000000000000\r\n") != 0);
    char dv[256]; snprintf(dv, sizeof dv, "%s", run("debug digest-value a b c nosuch"));
    assert(strncmp(dv, "*4\r\n+", 5) == 0);
    assert(strncmp(dv + 4, dv + 4 + 43, 43) == 0);        /* a and b hold equal values */
    assert(strncmp(dv + 4, dv + 4 + 86, 43) != 0);
    assert(strcmp(dv + 4 + 129, "+0000000000000000000000000000000000000000\r\n") == 0);
    expect("debug foo", "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n");
    expect("debug sleep 0", "+OK\r\n");
    expect("debug sleep x", "+OK\r\n");        /* strtod, as Redis: garbage sleeps 0 s */
    expect("debug set-active-expire 0", "+OK\r\n");
    assert(server.active_expire_disabled == 1);
    expect("debug set-active-expire 1", "+OK\r\n");
    assert(server.active_expire_disabled == 0);

    /* INFO */
    const char *info = run("info");
    assert(strncmp(strchr(info, '\n') + 1, "# Server\r\nredis_version:7.0.0\r\n", 31) == 0);
    assert(strstr(info, "\r\n\r\n# Clients\r\n") && strstr(info, "\r\n\r\n# Keyspace\r\n"));
    check_keyspace(info);
    assert(strstr(info, "maxmemory_policy:allkeys-lru\r\n") && strstr(info, "mem_allocator:libc\r\n"));
    assert(strstr(info, "total_commands_processed:") && strstr(info, "role:master\r\n"));
    expect("info nosuch", "$0\r\n\r\n");
    const char *ks = run("info KEYSPACE nosuch");
    assert(strncmp(ks, "$4", 2) == 0 && strncmp(strchr(ks, '\n') + 1, "# Keyspace\r\n", 12) == 0);
    check_keyspace(ks);
    cl->resp = 3;
    ks = run("info keyspace");
    assert(strncmp(ks, "=", 1) == 0 && strstr(ks, "\r\ntxt:# Keyspace\r\n") != NULL);
    check_keyspace(ks);
    cl->resp = 2;
    info = run("info cpu server");
    assert(strstr(info, "# Server") < strstr(info, "# CPU"));
    long long errs_before = e->stats.total_error_replies;
    run("debug foo");
    info = run("info stats");
    char needle[64]; snprintf(needle, sizeof needle, "total_error_replies:%lld\r\n", errs_before + 1);
    assert(strstr(info, needle));
    sds s = info_generate(sds_empty(), "all");
    assert(strncmp(s, "# Server\r\n", 10) == 0 && s[sds_len(s) - 1] == '\n' && s[sds_len(s) - 3] != '\n');
    sds_free(s);
    expect("config resetstat", "+OK\r\n");
    assert(e->stats.total_error_replies == 0);

    /* FLUSHALL emits its effect */
    last_record[0] = 0;
    expect("flushall x", "-ERR syntax error\r\n");
    expect("flushall async", "+OK\r\n");
    assert(strstr(last_record, "FLUSHALL"));
    expect("dbsize", ":0\r\n");
    expect("flushdb", "+OK\r\n");

    /* TIME, ROLE, LASTSAVE, SHUTDOWN */
    const char *t = run("time");
    assert(strncmp(t, "*2\r\n$10\r\n", 9) == 0);
    expect("role", "*3\r\n$6\r\nmaster\r\n:2\r\n*0\r\n");
    char ls[32]; snprintf(ls, sizeof ls, ":%lld\r\n", server.start_time_ms / 1000);
    expect("lastsave", ls);
    expect("shutdown abort", "-ERR No shutdown in progress.\r\n");
    expect("shutdown abort nosave", "-ERR syntax error\r\n");
    expect("shutdown save nosave", "-ERR syntax error\r\n");
    expect("shutdown foo", "-ERR syntax error\r\n");
    assert(server.shutdown_asap == 0);
    expect("shutdown nosave now", "");
    assert(server.shutdown_asap == 1);

    client_free_fake(cl);
    engine_free(e);
    if (failures) { fprintf(stderr, "test_server_cmds: %d failures\n", failures); return 1; }
    printf("test_server_cmds: ok\n");
    return 0;
}
