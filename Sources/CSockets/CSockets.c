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
