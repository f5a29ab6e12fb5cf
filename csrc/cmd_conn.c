/* cmd_conn.c — connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH,
 * SELECT, CLIENT, READONLY, READWRITE.
 *
 * They change only the calling client (or, for CLIENT KILL, ask the
 * networking layer to close others); replies and error strings follow
 * Redis 7.0 exactly.
 */
#include "monitor.h"
#include "server.h"
#include "blocking.h"
#include "cmd_slowlog.h"
#include "durable.h"
#include "pause.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define CLIENT_NAME_MAX (64 * 1024)   /* a name is one argument; keep it sane */

/* ------------------------------------------------------------ helpers */

/* Redis allows '!'..'~' only: names show up in CLIENT LIST lines, which
 * are space separated. */
static int name_is_valid(const marg *a)
{
    if (a->len > CLIENT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < a->len; i++) {
        unsigned char ch = (unsigned char)a->ptr[i];
        if (ch < '!' || ch > '~')
            return 0;
    }
    return 1;
}

/* Validates and sets (or clears, for "") the name; replies the error and
 * returns -1 when invalid. */
static int client_set_name(client *c, const marg *a)
{
    if (!name_is_valid(a)) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return -1;
    }
    sds_free(c->name);
    c->name = a->len ? sds_newlen(a->ptr, a->len) : NULL;
    return 0;
}

static int arg_eq_cstr(const marg *a, const char *s)
{
    return a->len == strlen(s) && memcmp(a->ptr, s, a->len) == 0;
}

/* No ACL users here: "default" with requirepass (or any password when
 * none is set, the default user being nopass). */
static int credentials_ok(const marg *user, const marg *pass)
{
    if (!arg_eq_cstr(user, "default"))
        return 0;
    if (server.cfg.requirepass[0] == '\0')
        return 1;
    return arg_eq_cstr(pass, server.cfg.requirepass);
}

static const char wrongpass_err[] = "WRONGPASS invalid username-password pair or user is disabled.";

/* ------------------------------------------------------------ simple commands */

void pingCommand(client *c)
{
    if (c->argc > 2) {
        reply_err_arity(c, "ping");
        return;
    }
    if (pubsub_ping_reply(c))           /* RESP2 subscribed mode: ["pong", arg] */
        return;
    if (c->argc == 2)
        reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
    else
        reply_status(c, "PONG");
}

void echoCommand(client *c)
{
    reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

void quitCommand(client *c)
{
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void resetCommand(client *c)
{
    multi_client_reset(c);              /* discard MULTI, UNWATCH (multi.c) */
    pubsub_client_reset(c);             /* unsubscribe from everything, no replies (pubsub.c) */
    monitor_client_reset(c);            /* stop monitoring (monitor.c) */
    c->resp = 2;
    sds_free(c->name);
    c->name = NULL;
    /* Redis 7.0 keeps NO-EVICT across RESET; the connection is logged out */
    c->flags &= ~(CLIENT_READONLY_MODE | CLIENT_NO_TOUCH);
    /* and replies are on again (a SKIP already running still mutes +RESET) */
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT);
    client_default_auth(c);
    reply_status(c, "RESET");
}

void readonlyCommand(client *c)
{
    c->flags |= CLIENT_READONLY_MODE;
    reply_ok(c);
}

void readwriteCommand(client *c)
{
    c->flags &= ~CLIENT_READONLY_MODE;
    reply_ok(c);
}

void selectCommand(client *c)
{
    long long id;
    if (!string2ll(c->argv[1].ptr, c->argv[1].len, &id)) {
        reply_err_not_integer(c);
        return;
    }
    int dbs = server.cfg.databases > 0 ? server.cfg.databases : 1;
    if (id < 0 || id >= dbs) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    reply_ok(c);
}

void authCommand(client *c)
{
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    /* Hidden from MONITOR and the slow log whether or not they are right (Redis 7.0) */
    for (int j = 1; j < c->argc; j++)
        command_redact_arg(c, j);
    if (c->argc == 2) {
        if (server.cfg.requirepass[0] == '\0') {
            reply_error(c, "ERR AUTH <password> called without any password configured for "
                           "the default user. Are you sure your configuration is correct?");
            return;
        }
        if (!arg_eq_cstr(&c->argv[1], server.cfg.requirepass)) {
            reply_error(c, wrongpass_err);
            return;
        }
        c->flags |= CLIENT_AUTHENTICATED;
        reply_ok(c);
        return;
    }
    if (!credentials_ok(&c->argv[1], &c->argv[2])) {
        reply_error(c, wrongpass_err);
        return;
    }
    c->flags |= CLIENT_AUTHENTICATED;
    reply_ok(c);
}

/* ------------------------------------------------------------ HELLO */

static void reply_hello_map(client *c)
{
    const char *role = strcmp(server.cfg.role_name, "slave") == 0 ? "replica" : "master";
    reply_map_len(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, MDB_REDIS_COMPAT_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_ll(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_ll(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, role);
    reply_bulk_cstr(c, "modules");
    reply_array_len(c, 0);
}

void helloCommand(client *c)
{
    long long ver = 0;
    if (c->argc >= 2) {
        if (!string2ll(c->argv[1].ptr, c->argv[1].len, &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    /* Options take effect one by one, as Redis 7.0 applies them: a name set
     * before a failing option stays set, AUTH authenticates before a bad
     * SETNAME after it fails; the protocol switches only if all succeed. */
    for (int j = 2; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_equals(&c->argv[j], "auth") && more >= 2) {
            command_redact_arg(c, j + 1);
            command_redact_arg(c, j + 2);
            if (!credentials_ok(&c->argv[j + 1], &c->argv[j + 2])) {
                reply_error(c, wrongpass_err);
                return;
            }
            c->flags |= CLIENT_AUTHENTICATED;
            j += 2;
        } else if (arg_equals(&c->argv[j], "setname") && more >= 1) {
            if (client_set_name(c, &c->argv[j + 1]) != 0)
                return;                           /* replied */
            j += 1;
        } else {
            reply_error_fmt(c, "ERR Syntax error in HELLO option '%.*s'",   /* whole, as Redis */
                            (int)c->argv[j].len, c->argv[j].ptr);
            return;
        }
    }
    if (!(c->flags & (CLIENT_AUTHENTICATED | CLIENT_FAKE))) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the "
                       "same time");
        return;
    }
    if (ver)
        c->resp = (int)ver;
    reply_hello_map(c);
}

/* ------------------------------------------------------------ CLIENT */

static const char *const client_help[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients of specified IDs only.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Set client meta attr. Options are:",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Prints this help.",
};

static void client_help_cmd(client *c)
{
    long n = (long)(sizeof(client_help) / sizeof(client_help[0]));
    reply_array_len(c, n);
    for (long i = 0; i < n; i++)
        reply_status(c, client_help[i]);
}

/* Client types, as CLIENT LIST TYPE and CLIENT KILL TYPE name them. A
 * connection here is pubsub while it has subscriptions (any protocol, as
 * in Redis 7.0), else normal; no connection is a master or a replica (a
 * replica node reads the log, not a replication link). */
enum { CLIENT_TYPE_ANY = -2, CLIENT_TYPE_UNKNOWN = -1, CLIENT_TYPE_NORMAL = 0,
       CLIENT_TYPE_PUBSUB = 1, CLIENT_TYPE_NONE_HERE = 2 };

static int client_type_parse(const marg *t)
{
    if (arg_equals(t, "normal"))
        return CLIENT_TYPE_NORMAL;
    if (arg_equals(t, "pubsub"))
        return CLIENT_TYPE_PUBSUB;
    if (arg_equals(t, "master") || arg_equals(t, "replica") || arg_equals(t, "slave"))
        return CLIENT_TYPE_NONE_HERE;
    return CLIENT_TYPE_UNKNOWN;
}

static int client_type_is(const client *o, int type)
{
    if (type == CLIENT_TYPE_ANY)
        return 1;
    return type == ((o->flags & CLIENT_PUBSUB) ? CLIENT_TYPE_PUBSUB : CLIENT_TYPE_NORMAL);
}

static void reply_err_unknown_type(client *c, const marg *t)
{
    reply_error_fmt(c, "ERR Unknown client type '%.*s'", (int)t->len, t->ptr);   /* whole, as Redis */
}

static void client_list_reply(client *c, sds s)
{
    reply_verbatim(c, s, sds_len(s), "txt");
    sds_free(s);
}

static int id_in_args(uint64_t id, const long long *ids, int n)
{
    for (int i = 0; i < n; i++)
        if ((uint64_t)ids[i] == id)
            return 1;
    return 0;
}

#define CLIENT_LIST_MAX_IDS 1024

static void client_list_cmd(client *c)
{
    durable_reply_waits_for_keyspace();    /* shows what pending writes did to clients */
    long long ids[CLIENT_LIST_MAX_IDS];
    int nids = -1;
    int type = CLIENT_TYPE_ANY;
    if (c->argc == 4 && arg_equals(&c->argv[2], "type")) {
        type = client_type_parse(&c->argv[3]);
        if (type == CLIENT_TYPE_UNKNOWN) {
            reply_err_unknown_type(c, &c->argv[3]);
            return;
        }
    } else if (c->argc > 3 && arg_equals(&c->argv[2], "id")) {
        nids = 0;
        for (int j = 3; j < c->argc; j++) {
            long long v;
            if (!string2ll(c->argv[j].ptr, c->argv[j].len, &v)) {   /* 0, -5: match none */
                reply_error(c, "ERR Invalid client ID");
                return;
            }
            if (nids < CLIENT_LIST_MAX_IDS)
                ids[nids++] = v;
        }
    } else if (c->argc != 2) {
        reply_err_syntax(c);
        return;
    }
    sds s = sds_empty();
    if (c->fd < 0 && nids < 0 && client_type_is(c, type)) {   /* a fake client lists itself */
        s = client_info_string(s, c);
        s = sds_cat(s, "\n");
    }
    long long bound = server.connected_clients + 1;
    for (client *o = server.clients_head; o && bound-- > 0; o = o->next_all) {
        if (nids >= 0 && !id_in_args(o->id, ids, nids))
            continue;
        if (!client_type_is(o, type))
            continue;
        s = client_info_string(s, o);
        s = sds_cat(s, "\n");
    }
    client_list_reply(c, s);
}

static void client_info_cmd(client *c)
{
    durable_reply_waits_for_keyspace();    /* shows what pending writes did to clients */
    sds s = client_info_string(sds_empty(), c);
    s = sds_cat(s, "\n");
    client_list_reply(c, s);
}

typedef struct kill_filter {
    int has_id;
    uint64_t id;
    const marg *addr, *laddr, *user;
    int type;            /* CLIENT_TYPE_* to match, CLIENT_TYPE_ANY if not given */
    int skipme;
} kill_filter;

static int kill_filter_parse(client *c, kill_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->type = CLIENT_TYPE_ANY;
    f->skipme = 1;
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_err_syntax(c);
            return -1;
        }
        const marg *opt = &c->argv[i], *val = &c->argv[i + 1];
        if (arg_equals(opt, "id")) {
            long long v;
            if (!string2ll(val->ptr, val->len, &v) || v <= 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return -1;
            }
            f->has_id = 1;
            f->id = (uint64_t)v;
        } else if (arg_equals(opt, "type")) {
            f->type = client_type_parse(val);
            if (f->type == CLIENT_TYPE_UNKNOWN) {
                reply_err_unknown_type(c, val);
                return -1;
            }
        } else if (arg_equals(opt, "addr")) {
            f->addr = val;
        } else if (arg_equals(opt, "laddr")) {
            f->laddr = val;
        } else if (arg_equals(opt, "user")) {
            if (!arg_eq_cstr(val, "default")) {      /* the only user there is */
                reply_error_fmt(c, "ERR No such user '%.*s'", (int)val->len, val->ptr);
                return -1;
            }
            f->user = val;
        } else if (arg_equals(opt, "skipme")) {
            if (arg_equals(val, "yes")) f->skipme = 1;
            else if (arg_equals(val, "no")) f->skipme = 0;
            else { reply_err_syntax(c); return -1; }
        } else {
            reply_err_syntax(c);
            return -1;
        }
    }
    return 0;
}

static int kill_filter_match(const kill_filter *f, const client *self, const client *o)
{
    if (!client_type_is(o, f->type))
        return 0;
    if (f->has_id && o->id != f->id)
        return 0;
    if (f->addr && !arg_eq_cstr(f->addr, o->addr))
        return 0;
    if (f->laddr && !arg_eq_cstr(f->laddr, o->laddr))
        return 0;
    if (f->user && !arg_eq_cstr(f->user, "default"))
        return 0;
    if (f->skipme && o == self)
        return 0;
    return 1;
}

/* The caller gets its reply before it goes; others close before the next
 * loop iteration. */
static void kill_one(client *c, client *victim)
{
    if (victim == c)
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    else
        client_close_async(victim);
}

static void client_kill_cmd(client *c)
{
    if (c->argc == 3) {                 /* legacy: CLIENT KILL ip:port */
        long long bound = server.connected_clients + 1;
        for (client *o = server.clients_head; o && bound-- > 0; o = o->next_all) {
            if (arg_eq_cstr(&c->argv[2], o->addr) && !(o->flags & CLIENT_CLOSE_ASAP)) {
                reply_ok(c);
                kill_one(c, o);
                return;
            }
        }
        reply_error(c, "ERR No such client");
        return;
    }
    kill_filter f;
    if (kill_filter_parse(c, &f) != 0)
        return;
    long long killed = 0;
    long long bound = server.connected_clients + 1;
    for (client *o = server.clients_head; o && bound-- > 0; o = o->next_all) {
        if (kill_filter_match(&f, c, o) && !(o->flags & CLIENT_CLOSE_ASAP)) {
            kill_one(c, o);
            killed++;
        }
    }
    reply_ll(c, killed);
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: Redis checks the reason before the id,
 * and answers 0 for an id that is not blocked (or not there). */
/* Redis's error for a CLIENT subcommand given more arguments than it takes
 * (the subcommand named as typed, cut at 128 bytes as Redis cuts it). */
static void reply_err_client_sub_args(client *c)
{
    int n = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
    reply_error_fmt(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                       "Try CLIENT HELP.", n, c->argv[1].ptr);
}

static void client_unblock_cmd(client *c)
{
    if (c->argc > 4) {
        reply_err_client_sub_args(c);
        return;
    }
    int with_error = 0;
    if (c->argc == 4) {
        if (arg_equals(&c->argv[3], "error")) {
            with_error = 1;
        } else if (!arg_equals(&c->argv[3], "timeout")) {
            reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    long long id;
    if (arg_get_ll(c, &c->argv[2], &id, NULL) != 0)
        return;
    int unblocked = 0;
    long long bound = server.connected_clients + 1;
    for (client *o = server.clients_head; o && bound-- > 0; o = o->next_all) {
        if ((long long)o->id == id) {
            unblocked = blocking_unblock(o, with_error);   /* o's reply is made first */
            break;
        }
    }
    durable_reply_waits_for_keyspace();   /* whether a client waited shows pending writes */
    reply_ll(c, unblocked);
}

static void client_flag_onoff(client *c, int flag)
{
    if (arg_equals(&c->argv[2], "on")) {
        c->flags |= flag;
        reply_ok(c);
    } else if (arg_equals(&c->argv[2], "off")) {
        c->flags &= ~flag;
        reply_ok(c);
    } else {
        reply_err_syntax(c);
    }
}

static void client_setinfo_cmd(client *c)
{
    const marg *attr = &c->argv[2];
    if (!arg_equals(attr, "lib-name") && !arg_equals(attr, "lib-ver")) {
        int n = attr->len > 128 ? 128 : (int)attr->len;
        reply_error_fmt(c, "ERR Unrecognized option '%.*s'", n, attr->ptr);
        return;
    }
    if (!name_is_valid(&c->argv[3])) {
        reply_error_fmt(c, "ERR %s cannot contain spaces, newlines or special characters.",
                        arg_equals(attr, "lib-name") ? "lib-name" : "lib-ver");
        return;
    }
    reply_ok(c);       /* accepted; not shown by CLIENT LIST in the 7.0 format */
}

/* ON answers +OK; OFF and SKIP answer nothing (networking.c drops the
 * replies). A connection without a socket (the ZeroMQ API) needs a reply
 * for every request, so it cannot turn them off. */
static void client_reply_cmd(client *c)
{
    int off = arg_equals(&c->argv[2], "off"), skip = arg_equals(&c->argv[2], "skip");
    if (arg_equals(&c->argv[2], "on")) {
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT | CLIENT_REPLY_SKIP);
        reply_ok(c);
    } else if ((off || skip) && c->fd < 0) {
        reply_error(c, "ERR CLIENT REPLY OFF|SKIP needs a RESP connection");
    } else if (off) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (skip) {
        if (!(c->flags & CLIENT_REPLY_OFF)) c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_err_syntax(c);
    }
}

static void client_id_cmd(client *c) { reply_ll(c, (long long)c->id); }
static void client_getname_cmd(client *c) {
    if (c->name) reply_bulk(c, c->name, sds_len(c->name));
    else reply_null(c);
}
static void client_setname_cmd(client *c) {
    if (client_set_name(c, &c->argv[2]) == 0) reply_ok(c);
}
static void client_getredir_cmd(client *c) { reply_ll(c, -1); }

/* One timer, at the end of the pause in force, only to wake the loop: its
 * before-sleep hook resumes the paused clients (networking.c). Replaced on
 * every PAUSE and dropped by UNPAUSE, so pauses cannot use up the loop's
 * timer slots (which blocking commands' timeouts need). */
static long long pause_timer_id;

static long long pause_wake(ae_loop *l, long long id, void *data)
{
    (void)l; (void)id; (void)data;
    pause_timer_id = 0;
    return -1;
}

static void pause_timer_rearm(long long in_ms)
{
    if (server.loop == NULL)
        return;
    ae_del_timer(server.loop, pause_timer_id);
    pause_timer_id = in_ms > 0 ? ae_add_timer(server.loop, in_ms, pause_wake, NULL) : 0;
    if (pause_timer_id < 0)
        pause_timer_id = 0;             /* no slot: the cron (1/hz) ends it */
}

/* CLIENT PAUSE <ms> [WRITE|ALL], with Redis 7.0's errors and their order.
 * A timeout so large that now + timeout overflows ends at once, which is
 * what Redis's arithmetic does with it. */
static void client_pause_cmd(client *c)
{
    if (c->argc > 4) {
        reply_err_client_sub_args(c);
        return;
    }
    int type = PAUSE_ALL;
    if (c->argc == 4) {
        if (arg_equals(&c->argv[3], "write")) type = PAUSE_WRITE;
        else if (!arg_equals(&c->argv[3], "all")) {
            reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    long long ms;
    if (arg_get_ll(c, &c->argv[2], &ms, "ERR timeout is not an integer or out of range") != 0)
        return;
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    long long now = monotonic_ms();
    long long end = ms > LLONG_MAX - now ? now : now + ms;
    pause_start(type, end);
    pause_timer_rearm(pause_end_ms() - now);
    reply_ok(c);
}

static void client_unpause_cmd(client *c)
{
    pause_stop();
    pause_timer_rearm(0);
    reply_ok(c);
}
static void client_noevict_cmd(client *c) { client_flag_onoff(c, CLIENT_NO_EVICT); }
static void client_notouch_cmd(client *c) { client_flag_onoff(c, CLIENT_NO_TOUCH); }

static const subcommand client_subs[] = {
    {"id", 2, 0, client_id_cmd},
    {"info", 2, 0, client_info_cmd},
    {"list", -2, 1, client_list_cmd},
    {"kill", -3, 1, client_kill_cmd},
    {"setname", 3, 0, client_setname_cmd},
    {"getname", 2, 0, client_getname_cmd},
    {"getredir", 2, 0, client_getredir_cmd},
    {"no-evict", 3, 1, client_noevict_cmd},
    {"no-touch", 3, 0, client_notouch_cmd},
    {"setinfo", 4, 0, client_setinfo_cmd},
    {"reply", 3, 0, client_reply_cmd},
    {"pause", -3, 1, client_pause_cmd},
    {"unpause", 2, 1, client_unpause_cmd},
    {"unblock", -3, 1, client_unblock_cmd},
    {"help", 2, 0, client_help_cmd},
};

static const subcommand *client_sub_find(const marg *sub)
{
    return subcommand_find(client_subs, SUBCOMMANDS_N(client_subs), sub);
}

int client_subcommand_is_admin(const marg *sub)
{
    const subcommand *s = client_sub_find(sub);
    return s != NULL && s->admin;
}

int client_subcommand_arity(const marg *sub)
{
    const subcommand *s = client_sub_find(sub);
    return s != NULL ? s->arity : 0;
}

void clientCommand(client *c)
{
    const subcommand *s = client_sub_find(&c->argv[1]);
    assert(s != NULL && "the dispatcher refuses unknown CLIENT subcommands");
    s->fn(c);
}
