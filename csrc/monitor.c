/* monitor.c — see monitor.h. */
#include "monitor.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server.h"

/* The monitors, in the order they started: each line goes to them in that
 * order. At most one entry per connection, so the array is bounded by
 * maxclients (plus fake clients in tests). */
static struct {
    client **v;
    int n, cap;
} monitors;

static int find_monitor(const client *c)
{
    for (int i = 0; i < monitors.n; i++)
        if (monitors.v[i] == c)
            return i;
    return -1;
}

void monitor_client_reset(client *c)
{
    if (!(c->flags & CLIENT_MONITOR))
        return;
    int i = find_monitor(c);
    assert(i >= 0 && "a monitor not in the list");
    memmove(&monitors.v[i], &monitors.v[i + 1], (size_t)(monitors.n - i - 1) * sizeof(client *));
    monitors.n--;
    c->flags &= ~CLIENT_MONITOR;
}

void monitorCommand(client *c)
{
    /* Run by EXEC (MULTI state lasts until EXEC ends): Redis 7.0 refuses it
     * with this text (EXEC denies blocking, and a monitor counts as one). */
    if (c->flags & CLIENT_IN_MULTI) {
        reply_error(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->flags & CLIENT_MONITOR)
        return;                               /* already one: Redis replies nothing */
    if (monitors.n == monitors.cap) {
        int cap = monitors.cap ? monitors.cap * 2 : 8;
        client **v = realloc(monitors.v, (size_t)cap * sizeof(*v));
        if (v == NULL) {
            reply_error(c, "ERR out of memory");
            return;
        }
        monitors.v = v;
        monitors.cap = cap;
    }
    monitors.v[monitors.n++] = c;
    c->flags |= CLIENT_MONITOR;
    reply_ok(c);
}

int monitor_refuses(client *c, const mcommand *cmd)
{
    if (!(c->flags & CLIENT_MONITOR))
        return 0;
    /* PUBLISH is what Redis calls may-replicate: it reaches replicas too. */
    if (!(cmd->flags & (CMD_WRITE | CMD_READONLY)) && cmd->proc != publishCommand)
        return 0;
    /* Redis flags a container's subcommands one by one: OBJECT HELP and
     * MEMORY STATS read nothing */
    if (c->argc >= 2 && command_has_subcommands(cmd) && !command_subcommand_has_keys(cmd, &c->argv[1]))
        return 0;
    reply_error(c, "ERR Replica can't interact with the keyspace");
    return 1;
}

sds monitor_cat_quoted(sds s, const char *p, size_t len)
{
    s = sds_make_room(s, len + 2);
    s = sds_catlen(s, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        const char *esc = NULL;
        switch (ch) {
        case '\\': esc = "\\\\"; break;
        case '"':  esc = "\\\""; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\a': esc = "\\a"; break;
        case '\b': esc = "\\b"; break;
        default: break;
        }
        if (esc != NULL) {
            s = sds_catlen(s, esc, 2);
        } else if (ch >= 0x20 && ch < 0x7f) {   /* isprint in the C locale, whatever ours is */
            s = sds_catlen(s, (const char *)&ch, 1);
        } else {
            char hex[5];
            snprintf(hex, sizeof(hex), "\\x%02x", ch);
            s = sds_catlen(s, hex, 4);
        }
    }
    return sds_catlen(s, "\"", 1);
}

/* Whether a monitor sees this command line: Redis hides administrative
 * commands, which it marks per subcommand (CONFIG HELP and CLIENT INFO are
 * shown, CONFIG GET and CLIENT LIST are not). */
static int shown_to_monitors(const client *c, const mcommand *cmd)
{
    if (c->argc >= 2 && command_has_subcommands(cmd))
        return !command_subcommand_is_admin(cmd, &c->argv[1]);
    return !(cmd->flags & CMD_ADMIN);
}

static sds monitor_line(const client *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    sds s = sds_catprintf(sds_empty(), "+%ld.%06ld [0 %s]", (long)tv.tv_sec, (long)tv.tv_usec,
                          c->addr);
    for (int i = 0; i < c->argc; i++) {
        s = sds_catlen(s, " ", 1);
        if (command_arg_redacted(c, i))
            s = sds_cat(s, "\"(redacted)\"");
        else
            s = monitor_cat_quoted(s, c->argv[i].ptr, c->argv[i].len);
    }
    return sds_catlen(s, "\r\n", 2);
}

void monitor_feed(client *c, const mcommand *cmd)
{
    if (monitors.n > 0 && !(c->flags & CLIENT_REPLAY) && shown_to_monitors(c, cmd)) {
        sds line = monitor_line(c);
        for (int i = 0; i < monitors.n; i++) {
            client *m = monitors.v[i];
            /* Redis mutes a client from CLIENT REPLY SKIP until its next
             * command ran; here that is CLIENT_REPLY_SKIP_NEXT until then
             * (c's own SKIP line, while SKIP runs, is still shown). */
            if (m->eng != c->eng || (m != c && (m->flags & CLIENT_REPLY_SKIP_NEXT)))
                continue;
            if (!pubsub_may_push(m))
                continue;
            reply_raw(m, line, sds_len(line));
            /* A line reports the command that just ran, write included: it
             * waits for that command's end. A command that blocked wrote
             * nothing and has no end yet, so its line waits only for the
             * writes before it (not for some other client's next reply). */
            pubsub_push_done(m, c->eng, c, !(c->flags & CLIENT_BLOCKED));
        }
        sds_free(line);
    }
}
