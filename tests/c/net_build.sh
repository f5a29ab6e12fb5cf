#!/bin/sh
# net_build.sh OUT [MAIN.c] — links MAIN (default tests/c/net_main.c) with every csrc/*.c that
# compiles, plus generated stubs for command procs not written yet, so the
# network server can be exercised before the whole engine exists.
set -e
OUT=${1:-/tmp/net_server}
MAIN=${2:-tests/c/net_main.c}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -I$ROOT/csrc ${NET_CFLAGS:-}"
OBJS=""
for f in "$ROOT"/csrc/*.c; do
    o="$TMP/$(basename "$f" .c).o"
    if gcc $CFLAGS -c "$f" -o "$o" 2>"$TMP/err"; then OBJS="$OBJS $o"; else echo "skip $(basename "$f") (does not compile yet)" >&2; fi
done
gcc $CFLAGS -c "$ROOT/$MAIN" -o "$TMP/net_main.o"
# Undefined *Command symbols become stubs replying an error.
: > "$TMP/stubs.c"
echo '#include "mdb.h"' >> "$TMP/stubs.c"
if ! gcc ${NET_CFLAGS:-} -o "$OUT" "$TMP/net_main.o" $OBJS -lm -lpthread 2>"$TMP/link"; then
    grep -o "undefined reference to \`[A-Za-z_0-9]*'" "$TMP/link" | sed "s/.*\`\(.*\)'/\1/" | sort -u > "$TMP/undef"
    grep -v 'Command$' "$TMP/undef" >&2 && { echo "non-command symbols missing" >&2; }
    for s in $(grep 'Command$' "$TMP/undef"); do
        echo "void $s(client *c) { reply_error(c, \"ERR command not built yet\"); }" >> "$TMP/stubs.c"
    done
    gcc $CFLAGS -c "$TMP/stubs.c" -o "$TMP/stubs.o"
    gcc ${NET_CFLAGS:-} -o "$OUT" "$TMP/net_main.o" $OBJS "$TMP/stubs.o" -lm -lpthread
fi
rm -rf "$TMP"
echo "built $OUT"
