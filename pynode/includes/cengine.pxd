# C declarations of the engine contract (csrc/mdb.h, csrc/server.h) used by
# pynode/_engine.pyx and pynode/server_main.pyx. Only what Python calls is
# declared; the headers stay the single source of truth for layouts.
from libc.stdint cimport uint64_t


cdef extern from "mdb.h" nogil:
    const char *MDB_VERSION
    const char *MDB_REDIS_COMPAT_VERSION

    ctypedef void effect_sink_fn(void *ctx, uint64_t seq, const char *rec, size_t len)

    ctypedef struct engine:
        long long fixed_now_ms
        long long now_ms
        int expire_enabled
        int replaying
        uint64_t effect_seq
        effect_sink_fn *effect_sink
        void *effect_ctx
        long long dirty

    ctypedef struct marg:
        const char *ptr
        size_t len

    ctypedef struct client:
        uint64_t id
        int fd
        int flags
        int resp
        engine *eng
        int argc
        marg *argv
        char *reply
        size_t reply_len
        size_t reply_cap
        size_t reply_sent
        size_t reply_released
        int reply_overflow

    engine *engine_create()
    void engine_free(engine *e)
    long long engine_now_ms(engine *e)
    long long engine_active_expire(engine *e, long long time_budget_us)
    void engine_digest(engine *e, unsigned char *out)
    int engine_apply_record(engine *e, const char *rec, size_t len, const char **err)
    size_t db_size(engine *e)

    client *client_create_fake(engine *e)
    void client_free_fake(client *c)
    void command_execute(client *c)


cdef extern from "server.h" nogil:
    int DURABILITY_NONE
    int DURABILITY_LOG

    ctypedef struct server_config:
        char bind[64]
        int port
        char dir[1024]
        int durability
        int maxclients
        int hz
        long long proto_max_bulk_len
        long long client_query_buffer_limit
        long long maxmemory
        char maxmemory_policy[32]
        int timeout
        int tcp_keepalive
        int tcp_backlog
        int active_expire_effort
        char requirepass[128]
        char logfile[1024]
        char loglevel[16]
        int effects_ring_fd
        int apply_ring_fd
        int wake_replicator_fd
        int wake_engine_fd
        long long durability_timeout_ms

    void server_config_default(server_config *cfg)
    int server_run(const server_config *cfg)


cdef extern from "snapshot.h" nogil:
    # csrc/snapshot.h: streaming keyspace snapshots (docs/snapshot-format.md).
    ctypedef struct snapshot_header:
        unsigned int format_version
        uint64_t log_id
        uint64_t seq
        uint64_t epoch
        unsigned int running_crc
        unsigned int prev_running_crc
        long long created_ms
        uint64_t key_count
        char engine_version[16]
        uint64_t file_bytes

    ctypedef int snapshot_progress_fn(void *ctx, uint64_t keys_done, uint64_t bytes_done)

    int snapshot_write_file(engine *eng, const char *path, snapshot_header *h,
                            snapshot_progress_fn *progress, void *ctx, char *err, size_t errlen)
    int snapshot_load_file_progress(engine *eng, const char *path, snapshot_header *out,
                                    snapshot_progress_fn *progress, void *ctx,
                                    char *err, size_t errlen)
    int snapshot_read_header(const char *path, snapshot_header *out, char *err, size_t errlen)
    int snapshot_verify_file(const char *path, snapshot_header *out, char *err, size_t errlen)
