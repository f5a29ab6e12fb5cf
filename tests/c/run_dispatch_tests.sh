#!/bin/sh
# Builds and runs the standalone tests of reply.c, commands.c, cmd_server.c,
# config.c and info.c with ASan/UBSan. Command procs that are not linked get
# weak stubs (gen_weak_stubs.sh); object.c/networking.c pieces get weak
# minimal versions inside the tests. Run from the repository root.
set -e
out=${TMPDIR:-/tmp}/mdb_dispatch_tests.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
CC="gcc -std=gnu11 -O1 -g -Wall -Wextra -fsanitize=address,undefined -fno-sanitize-recover=undefined -Icsrc"
sh tests/c/gen_weak_stubs.sh csrc/commands.def > "$out/stubs.c"
cat tests/c/dispatch_stubs.c >> "$out/stubs.c"
CORE="csrc/util.c csrc/sds.c csrc/dict.c csrc/db.c csrc/effects.c csrc/engine.c csrc/notify.c csrc/pause.c csrc/monitor.c"
STATS="csrc/cmdstats.c csrc/errorstats.c csrc/latency_hist.c csrc/cmd_slowlog.c csrc/slowlog.c \
    csrc/cmd_latency.c csrc/latency_monitor.c csrc/latency_report.c"
$CC tests/c/test_reply.c csrc/reply.c csrc/errorstats.c csrc/sds.c -lm -o "$out/test_reply"
$CC tests/c/test_commands.c "$out/stubs.c" csrc/commands.c csrc/getkeys.c csrc/reply.c $STATS $CORE -lm -o "$out/test_commands"
$CC tests/c/test_server_cmds.c "$out/stubs.c" csrc/commands.c csrc/getkeys.c csrc/reply.c csrc/cmd_server.c \
    csrc/config.c csrc/info.c $STATS $CORE -lm -o "$out/test_server_cmds"
"$out/test_reply"
"$out/test_commands"
"$out/test_server_cmds"
