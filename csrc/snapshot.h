/* snapshot.h — streaming snapshots of a whole keyspace (docs/snapshot-format.md).
 *
 * A snapshot file is a fixed header (what log position it covers), one
 * record per key (type, value, expiry) and a trailer whose CRC-32C covers
 * every byte before it. Writing and reading stream through a 64 KiB buffer:
 * memory is proportional to one value, never to the dataset.
 *
 * For node bootstrap (pynode/replicator.py, csrc/durable.c):
 *
 *   snapshot_header h; char err[256];
 *   if (snapshot_load_file(eng, path, &h, err, sizeof err) != 0) -> refuse,
 *       err says why; eng's keyspace is untouched.
 *   else eng holds exactly the keyspace at log seq h.seq; continue the log
 *       chain from h.seq + 1 with running checksum h.running_crc and epoch
 *       h.epoch. To also check that the log still matches the snapshot,
 *       re-read entry h.seq: running_crc(h.prev_running_crc, entry) must equal
 *       h.running_crc (pynode.replicator.Chain's prev_running does this).
 *
 * The loader builds the new keyspace beside the old one, checks the trailer
 * checksum and key count, and only then swaps it in: a corrupt or truncated
 * file changes nothing. The writer writes PATH.tmp-<pid>, fsyncs it, renames
 * it to PATH and fsyncs the directory, so PATH is either absent or complete.
 */
#ifndef MDB_SNAPSHOT_H
#define MDB_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "mdb.h"

#define SNAPSHOT_MAGIC "MDBSNAP\0"          /* 8 bytes */
#define SNAPSHOT_FORMAT_VERSION 1
#define SNAPSHOT_HEADER_BYTES 92            /* fixed size of version 1's header */
#define SNAPSHOT_ENGINE_VERSION_BYTES 16

typedef struct snapshot_header {
    uint32_t format_version;
    uint64_t log_id;                /* the shard's log */
    uint64_t seq;                   /* every entry <= seq is in the snapshot, none after */
    uint64_t epoch;                 /* epoch of entry seq (0 when seq is 0) */
    uint32_t running_crc;           /* the log's running checksum at seq (0 at seq 0) */
    uint32_t prev_running_crc;      /* ... at seq - 1, to re-check entry seq against the log */
    int64_t created_ms;             /* unix ms when writing started */
    uint64_t key_count;
    char engine_version[SNAPSHOT_ENGINE_VERSION_BYTES];   /* NUL-padded MDB_VERSION */
    uint64_t file_bytes;            /* filled by write/verify/load: the whole file's size */
} snapshot_header;

/* Called every SNAPSHOT_PROGRESS_KEYS keys and once at the end; a nonzero
 * return aborts the write or load (which then fails with "interrupted"). */
typedef int snapshot_progress_fn(void *ctx, uint64_t keys_done, uint64_t bytes_done);
#define SNAPSHOT_PROGRESS_KEYS 4096

/* Writes eng's whole keyspace to path (atomically, see above). h supplies
 * log_id, seq, epoch, running_crc, prev_running_crc; the rest is filled in
 * (created_ms, key_count, engine_version, file_bytes). 0 ok, -1 with err. */
int snapshot_write_file(engine *eng, const char *path, snapshot_header *h,
                        snapshot_progress_fn *progress, void *ctx, char *err, size_t errlen);

/* Replaces eng's keyspace with the snapshot's (see above). 0 ok, -1 with err. */
int snapshot_load_file(engine *eng, const char *path, snapshot_header *out, char *err, size_t errlen);
int snapshot_load_file_progress(engine *eng, const char *path, snapshot_header *out,
                                snapshot_progress_fn *progress, void *ctx, char *err, size_t errlen);

/* Reads and checks the header only (magic, version, header CRC). */
int snapshot_read_header(const char *path, snapshot_header *out, char *err, size_t errlen);

/* Full integrity check without loading: header, trailer, the data CRC over
 * the whole file, file length. 0 ok, -1 with err. */
int snapshot_verify_file(const char *path, snapshot_header *out, char *err, size_t errlen);

/* ------------------------------------------------ store summary (INFO)
 * The store directory holds snap-<seq, 20 digits>.mdbsnap files and a small
 * STATUS file the snapshotter rewrites (pynode/snapshot_store.py). */

typedef struct snapshot_store_info {
    int found;                      /* a snapshot with a valid header exists */
    snapshot_header latest;         /* the highest-seq one (header checked only) */
    int64_t latest_mtime_s;
    int count;                      /* snapshot files in the store */
    char status[16];                /* STATUS's status= ("ok", "building", "failed"), or "none" */
    char last_error[128];           /* STATUS's error=, or "" */
} snapshot_store_info;

void snapshot_store_summary(const char *store_dir, snapshot_store_info *out);

/* The store a node reports on: $MEMORYDB_SNAPSHOT_DIR if set, else
 * <parent of node_dir>/snapshots (the layout `memorydb up` makes). */
void snapshot_store_dir_for(const char *node_dir, char *out, size_t outlen);

#endif
