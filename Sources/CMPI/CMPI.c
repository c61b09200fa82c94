// Every call into Open MPI, through dlopen and dlsym: see CMPI.h for why.
#include "CMPI.h"
#include <dlfcn.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Open MPI's ABI (libmpi.so.40, Open MPI 3 and 4): handles are pointers; a predefined handle
// such as MPI_COMM_WORLD is the address of a global object (mpi.h: OMPI_PREDEFINED_GLOBAL), so
// dlsym of that object's name gives the handle; MPI_STATUS(ES)_IGNORE is a null pointer.
typedef void *Handle;

static struct {
    void *lib;
    Handle comm_world, byte, int64, op_max;
    int (*init)(int *, char ***);
    int (*finalize)(void);
    int (*abort)(Handle, int);
    int (*comm_rank)(Handle, int *);
    int (*comm_size)(Handle, int *);
    int (*allgather)(const void *, int, Handle, void *, int, Handle, Handle);
    int (*isend)(const void *, int, Handle, int, int, Handle, Handle *);
    int (*irecv)(void *, int, Handle, int, int, Handle, Handle *);
    int (*waitall)(int, Handle *, void *);
    int (*ibarrier)(Handle, Handle *);
    int (*iallreduce)(const void *, void *, int, Handle, Handle, Handle, Handle *);
    int (*test)(Handle *, int *, void *);
    int (*testall)(int, Handle *, int *, void *);
} mpi;

static int find(void **slot, const char *name, char *error, size_t error_size) {
    *slot = dlsym(mpi.lib, name);
    if (*slot == NULL) {
        snprintf(error, error_size, "libmpi.so.40 has no %s (not Open MPI 3 or 4?)", name);
        return -1;
    }
    return 0;
}

int sluice_mpi_open(char *error, size_t error_size) {
    if (mpi.lib != NULL) return 0;
    // RTLD_GLOBAL: Open MPI's components (its own dlopened plugins) resolve libmpi's symbols.
    void *lib = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(error, error_size, "%s", why ? why : "libmpi.so.40: cannot load");
        return -1;
    }
    mpi.lib = lib;
    struct { void **slot; const char *name; } wanted[] = {
        {&mpi.comm_world, "ompi_mpi_comm_world"}, {&mpi.byte, "ompi_mpi_byte"},
        {&mpi.int64, "ompi_mpi_int64_t"}, {&mpi.op_max, "ompi_mpi_op_max"},
        {(void **)&mpi.iallreduce, "MPI_Iallreduce"},
        {(void **)&mpi.init, "MPI_Init"}, {(void **)&mpi.finalize, "MPI_Finalize"},
        {(void **)&mpi.abort, "MPI_Abort"}, {(void **)&mpi.comm_rank, "MPI_Comm_rank"},
        {(void **)&mpi.comm_size, "MPI_Comm_size"}, {(void **)&mpi.allgather, "MPI_Allgather"},
        {(void **)&mpi.isend, "MPI_Isend"}, {(void **)&mpi.irecv, "MPI_Irecv"},
        {(void **)&mpi.waitall, "MPI_Waitall"}, {(void **)&mpi.ibarrier, "MPI_Ibarrier"},
        {(void **)&mpi.test, "MPI_Test"}, {(void **)&mpi.testall, "MPI_Testall"},
    };
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        if (find(wanted[i].slot, wanted[i].name, error, error_size) != 0) {
            dlclose(lib);
            memset(&mpi, 0, sizeof mpi);
            return -1;
        }
    }
    return 0;
}

int sluice_mpi_init(int *rank, int *size) {
    // A window's messages between ranks of one machine are a few KiB (the crossing packets'
    // headers): above the shared-memory transport's default eager limit (4 KiB), each would
    // take a rendezvous, a round trip more. Raise it to the transport's largest fragment
    // unless the user set it (Open MPI reads its parameters from the environment in MPI_Init).
    setenv("OMPI_MCA_btl_vader_eager_limit", "32768", 0);
    int rc = mpi.init(NULL, NULL);
    if (rc != 0) return rc;
    rc = mpi.comm_rank(mpi.comm_world, rank);
    if (rc != 0) return rc;
    return mpi.comm_size(mpi.comm_world, size);
}

int sluice_mpi_finalize(void) { return mpi.finalize(); }

void sluice_mpi_abort(int code) {
    mpi.abort(mpi.comm_world, code);
    exit(code);
}

int sluice_mpi_allgather_i64(const int64_t *mine, int count, int64_t *all) {
    return mpi.allgather(mine, count, mpi.int64, all, count, mpi.int64, mpi.comm_world);
}

int sluice_mpi_exchange(int ranks, const void *const *send, const int64_t *send_sizes,
                        void *const *recv, const int64_t *recv_sizes, int tag) {
    return sluice_mpi_exchange_reducing(ranks, send, send_sizes, recv, recv_sizes, tag, NULL, NULL, 0);
}

int sluice_mpi_exchange_reducing(int ranks, const void *const *send, const int64_t *send_sizes,
                                 void *const *recv, const int64_t *recv_sizes, int tag,
                                 const int64_t *reduce_in, int64_t *reduce_out, int reduce_count) {
    Handle stack[65];
    Handle *requests = ranks <= 32 ? stack : malloc(sizeof(Handle) * (2 * (size_t)ranks + 1));
    if (requests == NULL) return -1;
    int n = 0, rc = 0;
    if (reduce_count > 0) rc = mpi.iallreduce(reduce_in, reduce_out, reduce_count, mpi.int64, mpi.op_max, mpi.comm_world, &requests[n++]);
    for (int r = 0; r < ranks && rc == 0; r++) {
        if (recv_sizes[r] > INT_MAX || send_sizes[r] > INT_MAX) { rc = -1; break; }
        if (recv_sizes[r] > 0) rc = mpi.irecv(recv[r], (int)recv_sizes[r], mpi.byte, r, tag, mpi.comm_world, &requests[n++]);
    }
    for (int r = 0; r < ranks && rc == 0; r++) {
        if (send_sizes[r] > 0) rc = mpi.isend(send[r], (int)send_sizes[r], mpi.byte, r, tag, mpi.comm_world, &requests[n++]);
    }
    // Wait as the threads' WindowCrew does: poll, and after a while yield the core between
    // polls. A window's messages usually come within microseconds, so the first polls spin;
    // on a machine with other work (or more ranks than cores) a rank that kept spinning would
    // hold the core the rank it waits for needs.
    for (int polls = 0; rc == 0 && n > 0; polls++) {
        int done = 0;
        rc = mpi.testall(n, requests, &done, NULL);
        if (done) break;
        if (polls > 2000) sched_yield();
    }
    if (requests != stack) free(requests);
    return rc;
}

int sluice_mpi_barrier_sleeping(int sleep_us) {
    Handle request;
    int rc = mpi.ibarrier(mpi.comm_world, &request);
    if (rc != 0) return rc;
    struct timespec pause = {0, (long)sleep_us * 1000};
    for (;;) {
        int done = 0;
        rc = mpi.test(&request, &done, NULL);
        if (rc != 0 || done) return rc;
        nanosleep(&pause, NULL);
    }
}

// The crash message: written from a signal handler, so only write(2) and digits by hand.
static int crash_rank, crash_size;
static volatile uint64_t crash_window;
static volatile int64_t crash_start;
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
static struct sigaction crash_before[sizeof crash_signals / sizeof crash_signals[0]];

static size_t put(char *buf, size_t at, const char *text) {
    while (*text && at < 255) buf[at++] = *text++;
    return at;
}

static size_t put_number(char *buf, size_t at, uint64_t n) {
    char digits[24];
    int k = 0;
    do { digits[k++] = (char)('0' + n % 10); n /= 10; } while (n > 0);
    while (k > 0 && at < 255) buf[at++] = digits[--k];
    return at;
}

static void on_crash(int sig) {
    char buf[256];
    size_t at = put(buf, 0, "sluice: rank ");
    at = put_number(buf, at, (uint64_t)crash_rank);
    at = put(buf, at, " of ");
    at = put_number(buf, at, (uint64_t)crash_size);
    at = put(buf, at, ": crashed (signal ");
    at = put_number(buf, at, (uint64_t)sig);
    at = put(buf, at, ") in window ");
    at = put_number(buf, at, crash_window);
    at = put(buf, at, " (from ");
    at = put_number(buf, at, crash_start > 0 ? (uint64_t)crash_start : 0);
    at = put(buf, at, " ps); the job ends\n");
    ssize_t ignored = write(2, buf, at);
    (void)ignored;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++) {
        if (crash_signals[i] == sig) sigaction(sig, &crash_before[i], NULL);
    }
    raise(sig);  // delivered on return, to the handler that was there before
}

void sluice_mpi_watch_crashes(int rank, int size) {
    crash_rank = rank;
    crash_size = size;
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = on_crash;
    sigemptyset(&a.sa_mask);
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++) {
        sigaction(crash_signals[i], &a, &crash_before[i]);
    }
}

void sluice_mpi_note_window(uint64_t window, int64_t start_ps) {
    crash_window = window;
    crash_start = start_ps;
}
