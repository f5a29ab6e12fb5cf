/* pause.c — see pause.h. */
#include "pause.h"

static int type_now;                  /* PAUSE_* in force (until end_ms) */
static long long end_at_ms;
static int ended;                     /* a pause ended and its clients still wait */

void pause_start(int type, long long end_ms)
{
    if (type > type_now) type_now = type;
    if (end_ms > end_at_ms) end_at_ms = end_ms;
}

void pause_stop(void)
{
    if (type_now != PAUSE_NONE) ended = 1;
    type_now = PAUSE_NONE;
    end_at_ms = 0;
}

/* The pause in force now: ends it once its end has passed. */
static int type_at(long long (*now_ms)(void))
{
    if (type_now != PAUSE_NONE && now_ms() >= end_at_ms)
        pause_stop();
    return type_now;
}

int pause_in_force(void)
{
    return type_now != PAUSE_NONE;
}

long long pause_end_ms(void)
{
    return end_at_ms;
}

/* Redis's "may replicate" commands besides writes: PUBLISH, and PFCOUNT
 * (which may rewrite the HyperLogLog's cached count). */
int pause_write_like(const mcommand *cmd)
{
    return (cmd->flags & CMD_WRITE) || cmd->proc == publishCommand || cmd->proc == pfcountCommand;
}

int pause_holds(const client *c, const mcommand *cmd, long long (*now_ms)(void))
{
    /* (log replay and tests are not clients; a monitor is never held, as
     * Redis 7.0 never pauses one: it is flagged a replica there) */
    if (type_now == PAUSE_NONE || (c->flags & (CLIENT_FAKE | CLIENT_REPLAY | CLIENT_MONITOR)))
        return 0;
    int type = type_at(now_ms);
    if (type == PAUSE_ALL)
        return 1;
    if (type != PAUSE_WRITE)
        return 0;
    /* WRITE: what could change the data or be propagated, and a
     * transaction with any of those queued */
    if (pause_write_like(cmd))
        return 1;
    return cmd->proc == execCommand && multi_queue_has_write(c);
}

int pause_take_ended(long long (*now_ms)(void))
{
    (void)type_at(now_ms);
    int r = ended;
    ended = 0;
    return r;
}
