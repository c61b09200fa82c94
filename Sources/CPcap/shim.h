// libpcap for Swift: SluicePcap imports this module (internally) in LibPcap.swift only.
// <pcap/pcap.h> defines classic BPF's `struct bpf_insn`; never import it into a module that
// also imports libbpf (<linux/bpf.h> defines another one).
#ifndef SLUICE_CPCAP_SHIM_H
#define SLUICE_CPCAP_SHIM_H
#include <pcap/pcap.h>

#ifdef __linux__
#include <sys/socket.h>
#include <sys/uio.h>
#include <string.h>

/* glibc declares sendmmsg and struct mmsghdr only under _GNU_SOURCE, which Swift's Glibc
   module does not set: declare the call here and build the headers in C. */
struct sluice_mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
extern int sendmmsg(int fd, struct sluice_mmsghdr *vec, unsigned int vlen, int flags);

/* Sends frames[i] (lens[i] bytes), i < n <= 64, on socket fd with one sendmmsg. Returns how
   many were sent, or -1 with errno set when not even the first was. */
static inline int sluice_send_batch(int fd, const void *const *frames, const size_t *lens, unsigned int n) {
    struct sluice_mmsghdr m[64];
    struct iovec v[64];
    if (n > 64) n = 64;
    memset(m, 0, sizeof(struct sluice_mmsghdr) * n);
    for (unsigned int i = 0; i < n; i++) {
        v[i].iov_base = (void *)frames[i];
        v[i].iov_len = lens[i];
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, m, n, 0);
}
#endif
#endif
