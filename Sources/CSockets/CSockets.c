#define _GNU_SOURCE
#include "CSockets.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int sluice_send_batch(int fd, const void *to, unsigned int to_len, const void *const *bufs, const size_t *lens, unsigned int n) {
    struct mmsghdr m[SLUICE_BATCH_MAX];
    struct iovec v[SLUICE_BATCH_MAX];
    if (n > SLUICE_BATCH_MAX) n = SLUICE_BATCH_MAX;
    memset(m, 0, sizeof(struct mmsghdr) * n);
    for (unsigned int i = 0; i < n; i++) {
        v[i].iov_base = (void *)bufs[i];
        v[i].iov_len = lens[i];
        m[i].msg_hdr.msg_name = (void *)to;
        m[i].msg_hdr.msg_namelen = to ? to_len : 0;
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, m, n, 0);
}

int sluice_recv_batch(int fd, void *const *bufs, size_t cap, size_t *lens, void *from, unsigned int from_len, unsigned int n) {
    struct mmsghdr m[SLUICE_BATCH_MAX];
    struct iovec v[SLUICE_BATCH_MAX];
    if (n > SLUICE_BATCH_MAX) n = SLUICE_BATCH_MAX;
    memset(m, 0, sizeof(struct mmsghdr) * n);
    for (unsigned int i = 0; i < n; i++) {
        v[i].iov_base = bufs[i];
        v[i].iov_len = cap;
        m[i].msg_hdr.msg_name = from ? (char *)from + (size_t)i * from_len : NULL;
        m[i].msg_hdr.msg_namelen = from ? from_len : 0;
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(fd, m, n, MSG_DONTWAIT, NULL);
    if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int i = 0; i < r; i++) lens[i] = m[i].msg_len;
    return r;
}

int sluice_send_batch_to(int fd, const void *addrs, unsigned int addr_len, const void *const *bufs, const size_t *lens, unsigned int n) {
    struct mmsghdr m[SLUICE_BATCH_MAX];
    struct iovec v[SLUICE_BATCH_MAX];
    if (n > SLUICE_BATCH_MAX) n = SLUICE_BATCH_MAX;
    memset(m, 0, sizeof(struct mmsghdr) * n);
    for (unsigned int i = 0; i < n; i++) {
        v[i].iov_base = (void *)bufs[i];
        v[i].iov_len = lens[i];
        m[i].msg_hdr.msg_name = (char *)addrs + (size_t)i * addr_len;
        m[i].msg_hdr.msg_namelen = addr_len;
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, m, n, 0);
}
