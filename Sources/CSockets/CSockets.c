#define _GNU_SOURCE
#include "CSockets.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/// Message i of n <= SLUICE_BATCH_MAX: buffer bufs[i] of lens[i] bytes (or `cap` when lens is
/// NULL), address `names + i * stride` of `name_len` bytes (none when names is NULL).
static unsigned int prepare(struct mmsghdr *m, struct iovec *v, const void *const *bufs, const size_t *lens, size_t cap,
                            const void *names, unsigned int name_len, size_t stride, unsigned int n) {
    if (n > SLUICE_BATCH_MAX) n = SLUICE_BATCH_MAX;
    memset(m, 0, sizeof(struct mmsghdr) * n);
    for (unsigned int i = 0; i < n; i++) {
        v[i].iov_base = (void *)bufs[i];
        v[i].iov_len = lens ? lens[i] : cap;
        m[i].msg_hdr.msg_name = names ? (char *)names + (size_t)i * stride : NULL;
        m[i].msg_hdr.msg_namelen = names ? name_len : 0;
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    return n;
}

int sluice_send_batch(int fd, const void *to, unsigned int to_len, const void *const *bufs, const size_t *lens, unsigned int n) {
    struct mmsghdr m[SLUICE_BATCH_MAX];
    struct iovec v[SLUICE_BATCH_MAX];
    n = prepare(m, v, bufs, lens, 0, to, to_len, 0, n);
    return sendmmsg(fd, m, n, 0);
}

int sluice_recv_batch(int fd, void *const *bufs, size_t cap, size_t *lens, void *from, unsigned int from_len, unsigned int n) {
    struct mmsghdr m[SLUICE_BATCH_MAX];
    struct iovec v[SLUICE_BATCH_MAX];
    n = prepare(m, v, (const void *const *)bufs, NULL, cap, from, from_len, from_len, n);
    int r = recvmmsg(fd, m, n, MSG_DONTWAIT, NULL);
    if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int i = 0; i < r; i++) lens[i] = m[i].msg_len;
    return r;
}

int sluice_send_batch_to(int fd, const void *addrs, unsigned int addr_len, const void *const *bufs, const size_t *lens, unsigned int n) {
    struct mmsghdr m[SLUICE_BATCH_MAX];
    struct iovec v[SLUICE_BATCH_MAX];
    n = prepare(m, v, bufs, lens, 0, addrs, addr_len, addr_len, n);
    return sendmmsg(fd, m, n, 0);
}
