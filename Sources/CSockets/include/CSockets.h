// Batched datagram sends (sendmmsg) for Swift: glibc declares it and struct mmsghdr
// only under _GNU_SOURCE, which Swift's Glibc module does not set, so the headers are built here.
#ifndef SLUICE_CSOCKETS_H
#define SLUICE_CSOCKETS_H
#include <stddef.h>

/// Most datagrams one call takes.
#define SLUICE_BATCH_MAX 64

/// Sends bufs[i] (lens[i] bytes), i < n <= SLUICE_BATCH_MAX, on socket fd with one sendmmsg,
/// each to `to` (`to_len` bytes of a sockaddr), or with no address when `to` is NULL (a
/// connected or bound packet socket). Returns how many were sent, or -1 with errno set when
/// not even the first was.
int sluice_send_batch(int fd, const void *to, unsigned int to_len, const void *const *bufs, const size_t *lens, unsigned int n);

/// Receives up to n <= SLUICE_BATCH_MAX datagrams on socket fd with one recvmmsg, without
/// waiting: datagram i into bufs[i] (cap bytes each), its length in lens[i]; when `from` is
/// not NULL, its sender's address into from[i] (`from_len` bytes each, a sockaddr_in or
/// larger). Returns how many arrived (0 when none was waiting), or -1 with errno set.
int sluice_recv_batch(int fd, void *const *bufs, size_t cap, size_t *lens, void *from, unsigned int from_len, unsigned int n);

/// Sends bufs[i] (lens[i] bytes) to addrs[i] (`addr_len` bytes each), i < n <= SLUICE_BATCH_MAX,
/// with one sendmmsg. Returns how many were sent, or -1 with errno set when not even the first was.
int sluice_send_batch_to(int fd, const void *addrs, unsigned int addr_len, const void *const *bufs, const size_t *lens, unsigned int n);

#endif
