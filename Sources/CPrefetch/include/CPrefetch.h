// A cache prefetch for Swift, which has no spelling of its own for one: the emulator asks for
// a packet's bytes when it knows they will be read soon, so that the read does not wait on
// memory.
#ifndef SLUICE_CPREFETCH_H
#define SLUICE_CPREFETCH_H

/// Start bringing the cache line holding `p` into the caches, for reading; returns at once and
/// never faults (any address will do).
static inline __attribute__((always_inline)) void sluice_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
