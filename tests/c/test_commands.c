/* test_commands.c — dispatcher and COMMAND replies, compared byte for byte
 * with what redis-server 7.0 sends for the same requests.
 * Build and run: sh tests/c/run_dispatch_tests.sh */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdb.h"

/* networking.c is not linked: a minimal fake client. */
__attribute__((weak)) client *client_create_fake(engine *e)
{
    client *c = calloc(1, sizeof(*c));
    c->fd = -1; c->resp = 2; c->eng = e; c->flags = CLIENT_FAKE;
    return c;
}
__attribute__((weak)) void client_free_fake(client *c) { free(c->reply); free(c); }

/* object.c may not exist yet: weak minimal string objects (sds in ptr). */
__attribute__((weak)) mobj *obj_create_string(const char *p, size_t len)
{
    mobj *o = calloc(1, sizeof(*o));
    o->type = OBJ_STRING; o->encoding = ENC_RAW; o->refcount = 1; o->ptr = sds_newlen(p, len);
    return o;
}
__attribute__((weak)) void obj_decr_ref(mobj *o)
{
    if (--o->refcount == 0) { sds_free(o->ptr); free(o); }
}
__attribute__((weak)) void obj_incr_ref(mobj *o) { o->refcount++; }
__attribute__((weak)) mobj *obj_dup_string(const mobj *o)
{ return obj_create_string(o->ptr, sds_len(o->ptr)); }
__attribute__((weak)) const char *obj_string_ptr(const mobj *o, char *buf, size_t *len)
{ (void)buf; *len = sds_len(o->ptr); return o->ptr; }

static client *cl;

/* Runs a space-separated command line and returns the reply (static). */
static const char *run(const char *line)
{
    static char buf[1 << 16];
    static marg argv[64];
    char *copy = strdup(line);
    int argc = 0;
    for (char *tok = strtok(copy, " "); tok && argc < 64; tok = strtok(NULL, " ")) {
        argv[argc].ptr = tok; argv[argc].len = strlen(tok); argc++;
    }
    cl->argc = argc; cl->argv = argv; cl->reply_len = 0;
    command_execute(cl);
    assert(cl->reply_len < sizeof(buf));
    memcpy(buf, cl->reply, cl->reply_len); buf[cl->reply_len] = 0;
    free(copy);
    return buf;
}

static int failures;
static void expect(const char *line, const char *want)
{
    const char *got = run(line);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL %s\n want %s\n got  %s\n", line, want, got);
        failures++;
    }
}

int main(void)
{
    commands_init();
    engine *e = engine_create();
    cl = client_create_fake(e);

    assert(command_lookup("GET", 3) == command_lookup("get", 3));
    assert(command_lookup("gEt", 3) != NULL);
    assert(command_lookup("getx", 4) == NULL);
    assert(command_lookup("ge", 2) == NULL);
    assert(command_lookup("", 0) == NULL);
    char longname[40]; memset(longname, 'a', sizeof longname);
    assert(command_lookup(longname, sizeof longname) == NULL);
    for (int i = 0; i < command_count; i++)
        assert(command_lookup(command_table[i].name, strlen(command_table[i].name)) == &command_table[i]);

    expect("foo a b", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
    expect("foo", "-ERR unknown command 'foo', with args beginning with: \r\n");
    expect("GeT", "-ERR wrong number of arguments for 'get' command\r\n");
    {
        char line[400], want[400];
        char x[201]; memset(x, 'x', 200); x[200] = 0;
        snprintf(line, sizeof line, "foo %s b", x);
        snprintf(want, sizeof want, "-ERR unknown command 'foo', with args beginning with: '%.128s' \r\n", x);
        expect(line, want);
    }
    long long before = e->stats.numcommands;
    run("command count");
    assert(e->stats.numcommands == before + 1);

    expect("command info get mset nosuch",
        "*3\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        /* mset: Redis also has request/response tips and the OW key flag; we do not */
        "*10\r\n$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        "$-1\r\n");
    expect("command getkeysandflags get k", "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n");
    expect("command getkeys mset a b c d", "*2\r\n$1\r\na\r\n$1\r\nc\r\n");
    expect("command getkeys get", "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
    expect("command getkeys nosuch a", "-ERR Invalid command specified\r\n");
    expect("command getkeys ping a", "-ERR The command has no key arguments\r\n");
    expect("command getkeys get a b", "-ERR Invalid number of arguments specified for command\r\n");
    expect("command count x", "-ERR wrong number of arguments for 'command|count' command\r\n");
    expect("command foo", "-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n");
    expect("command list filterby module x", "*0\r\n");
    expect("command list filterby pattern getr*", "*1\r\n$8\r\ngetrange\r\n");
    expect("command list foo", "-ERR syntax error\r\n");
    expect("command docs get nosuch",
        "*2\r\n$3\r\nget\r\n*8\r\n$7\r\nsummary\r\n$34\r\nReturns the string value of a key.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n");
    cl->resp = 3;
    expect("command info get",
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n");
    expect("command docs nosuch", "%0\r\n");
    cl->resp = 2;

    /* bare COMMAND and COMMAND INFO list every row */
    const char *all = run("command");
    char hdr[16]; snprintf(hdr, sizeof hdr, "*%d\r\n", command_count);
    assert(strncmp(all, hdr, strlen(hdr)) == 0);
    all = run("command list");
    assert(strncmp(all, hdr, strlen(hdr)) == 0);
    const char *dang = run("command list filterby aclcat dangerous");
    assert(strstr(dang, "flushall") && strstr(dang, "keys") && !strstr(dang, "$3\r\nget\r\n"));
    const char *help = run("command help");
    assert(help[0] == '*' && strstr(help, "+GETKEYS <full-command>\r\n"));

    int keys[8];
    marg av[5] = {{"mset", 4}, {"a", 1}, {"1", 1}, {"b", 1}, {"2", 1}};
    assert(command_get_keys(command_lookup("mset", 4), 5, av, keys, 8) == 2 && keys[1] == 3);
    assert(command_get_keys(command_lookup("mset", 4), 5, av, keys, 1) == 1);
    int nf; const char **fl = command_flag_names(CMD_WRITE | CMD_FAST | CMD_KEYSPACE, &nf);
    assert(nf == 2 && strcmp(fl[0], "write") == 0 && strcmp(fl[1], "fast") == 0);

    /* instantaneous rates: two samples 1 s apart */
    e->fixed_now_ms = 1000000; run("command count");
    e->stats.numcommands += 499;
    e->fixed_now_ms = 1001000; run("command count");
    double ops, in, out;
    command_instantaneous(1001000, &ops, &in, &out);
    assert(ops > 499 && ops < 502);
    command_instantaneous(1001000 + 5000, &ops, &in, &out);
    assert(ops == 0);

    client_free_fake(cl);
    engine_free(e);
    if (failures) { fprintf(stderr, "test_commands: %d failures\n", failures); return 1; }
    printf("test_commands: ok\n");
    return 0;
}
