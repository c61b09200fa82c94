// The few MPI calls a partitioned emulation needs, as plain functions over Open MPI's
// libmpi.so.40 loaded at run time (dlopen): mpi.h's handles (MPI_COMM_WORLD, MPI_BYTE, ...) are
// macros Swift cannot import, and a sluice binary linked to libmpi would not start where Open
// MPI is not installed. Nothing here runs unless `sluice_mpi_open` is called (`--mpi`).
#ifndef SLUICE_CMPI_H
#define SLUICE_CMPI_H
#include <stddef.h>
#include <stdint.h>

/// Loads libmpi.so.40 and finds the calls and handles below. Returns 0, or -1 with why in
/// `error` (`error_size` bytes). Calling it again after success does nothing.
int sluice_mpi_open(char *error, size_t error_size);

/// MPI_Init (no arguments: mpirun passes what a rank needs in its environment), then the
/// rank and size in MPI_COMM_WORLD. Returns MPI's error code (0: MPI_SUCCESS).
int sluice_mpi_init(int *rank, int *size);

/// MPI_Finalize. Returns MPI's error code.
int sluice_mpi_finalize(void);

/// MPI_Abort on MPI_COMM_WORLD: mpirun ends every rank and exits with `code`. Does not return.
void sluice_mpi_abort(int code);

/// MPI_Allgather of `count` int64 values from every rank into `all` (size x count).
int sluice_mpi_allgather_i64(const int64_t *mine, int count, int64_t *all);

/// Byte messages to and from every other rank at once (MPI_Isend, MPI_Irecv, MPI_Waitall, tag
/// `tag`): `send[r]` (`send_sizes[r]` bytes) to rank r, `recv[r]` (`recv_sizes[r]` bytes, known
/// from an earlier exchange) from rank r; a size of 0 sends or receives nothing. `ranks` is
/// MPI_COMM_WORLD's size. Returns MPI's error code, or -1 when a size is over INT_MAX.
int sluice_mpi_exchange(int ranks, const void *const *send, const int64_t *send_sizes,
                        void *const *recv, const int64_t *recv_sizes, int tag);

/// The same, and at once an MPI_Iallreduce with MPI_MAX of `reduce_count` int64 values from
/// every rank (`reduce_in` to `reduce_out`; a count of 0: none), all waited for together: a
/// window's messages to the neighbouring ranks and the agreement of every rank in one wait.
int sluice_mpi_exchange_reducing(int ranks, const void *const *send, const int64_t *send_sizes,
                                 void *const *recv, const int64_t *recv_sizes, int tag,
                                 const int64_t *reduce_in, int64_t *reduce_out, int reduce_count);

/// MPI_Barrier that sleeps (MPI_Ibarrier, then MPI_Test every `sleep_us` microseconds): a rank
/// waiting for another's long serial work leaves it the core instead of spinning on it.
int sluice_mpi_barrier_sleeping(int sleep_us);

/// After MPI_Init: on a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP), write
/// "sluice: rank R of N: crashed (signal S) in window W (from T ps)" to standard error, then
/// let the handler that was there before (or the default) act: mpirun then ends the job.
void sluice_mpi_watch_crashes(int rank, int size);

/// The window this rank runs now, for the crash message.
void sluice_mpi_note_window(uint64_t window, int64_t start_ps);

#endif
