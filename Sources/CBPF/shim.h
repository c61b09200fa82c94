// libbpf for Swift: SluiceXDP imports this module. Never import CPcap beside it: libpcap's
// headers define classic BPF's `struct bpf_insn`, <linux/bpf.h> another one.
#ifndef SLUICE_CBPF_SHIM_H
#define SLUICE_CBPF_SHIM_H
#include <errno.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <poll.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

/* libbpf's option structs are initialised with macros Swift cannot call: small wrappers. */

static inline struct bpf_object *sluice_bpf_open(const char *path, char *log, size_t log_size)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts, .kernel_log_buf = log, .kernel_log_size = log_size, .kernel_log_level = 1);
    return bpf_object__open_file(path, &opts);
}

/* Whether the verifier lets an XDP program call bpf_xdp_adjust_meta: 1 yes, 0 refused, a
   negative errno when no program loads at all (no permission, say). libbpf's own helper probe
   takes a refusal it does not recognise ("program of this type cannot use helper") for yes. */
static inline int sluice_probe_xdp_adjust_meta(void)
{
    struct bpf_insn pass[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
        { .code = BPF_JMP | BPF_EXIT },
    };
    struct bpf_insn meta[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = -4 },
        { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
        { .code = BPF_JMP | BPF_EXIT },
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "sl_probe", "GPL", pass, 2, NULL);
    if (fd < 0) return fd;
    close(fd);
    fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "sl_probe_meta", "GPL", meta, 4, NULL);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

/* One BPF_PROG_TEST_RUN. The output holds the XDP metadata the program added in front of the
   packet: its length goes to *meta_len (the context out says where the packet starts). */
static inline int sluice_bpf_test_run(int prog_fd, const void *in, __u32 in_len, void *out, __u32 *out_len,
                                      __u32 *retval, __u32 repeat, __u32 *duration, __u32 *meta_len)
{
    struct xdp_md ctx_in, ctx_out;
    memset(&ctx_in, 0, sizeof(ctx_in));
    memset(&ctx_out, 0, sizeof(ctx_out));
    ctx_in.data_end = in_len;
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = in_len, .data_out = out,
                .data_size_out = *out_len, .repeat = repeat,
                .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out));
    int err = bpf_prog_test_run_opts(prog_fd, &o);
    *out_len = o.data_size_out;
    *retval = o.retval;
    if (duration) *duration = o.duration;
    if (meta_len) *meta_len = ctx_out.data;
    return err;
}

/* Keep the calling thread on the CPU it runs on (per-CPU maps then hold one run's state from
   one test run to the next); the previous mask goes to `saved` (raw syscalls: the CPU_SET
   macros need _GNU_SOURCE before any system header). */
#define SLUICE_CPU_WORDS 16
static inline int sluice_pin_thread(unsigned long saved[SLUICE_CPU_WORDS])
{
    if (syscall(SYS_sched_getaffinity, 0, SLUICE_CPU_WORDS * sizeof(unsigned long), saved) < 0) return -errno;
    unsigned cpu = 0;
    if (syscall(SYS_getcpu, &cpu, NULL, NULL) < 0) return -errno;
    unsigned long one[SLUICE_CPU_WORDS];
    memset(one, 0, sizeof(one));
    one[(cpu / (8 * sizeof(unsigned long))) % SLUICE_CPU_WORDS] = 1UL << (cpu % (8 * sizeof(unsigned long)));
    return syscall(SYS_sched_setaffinity, 0, sizeof(one), one) < 0 ? -errno : 0;
}

static inline int sluice_unpin_thread(const unsigned long saved[SLUICE_CPU_WORDS])
{
    return syscall(SYS_sched_setaffinity, 0, SLUICE_CPU_WORDS * sizeof(unsigned long), saved) < 0 ? -errno : 0;
}

static inline int sluice_xdp_attach(int ifindex, int prog_fd, __u32 flags)
{
    return bpf_xdp_attach(ifindex, prog_fd, flags, NULL);
}

static inline int sluice_xdp_detach(int ifindex, __u32 flags)
{
    return bpf_xdp_detach(ifindex, flags, NULL);
}

/* The ids of the XDP programs on `ifindex` per mode (0: none); 0 on success. */
static inline int sluice_xdp_query(int ifindex, __u32 *drv, __u32 *skb, __u32 *hw)
{
    LIBBPF_OPTS(bpf_xdp_query_opts, opts);
    int rc = bpf_xdp_query(ifindex, 0, &opts);
    if (rc) return rc;
    *drv = opts.drv_prog_id;
    *skb = opts.skb_prog_id;
    *hw = opts.hw_prog_id;
    return 0;
}

/* The kernel's id of loaded program `prog_fd`, 0 on error. */
static inline __u32 sluice_prog_id(int prog_fd)
{
    struct bpf_prog_info info;
    __u32 len = sizeof(info);
    memset(&info, 0, sizeof(info));
    return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/* Detach from `ifindex` only if program `prog_fd` is the one there (XDP_FLAGS_REPLACE), so
   that a program someone else attached meanwhile is left alone; 0 on success. */
static inline int sluice_xdp_detach_expected(int ifindex, __u32 flags, int prog_fd)
{
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog_fd);
    return bpf_xdp_attach(ifindex, -1, flags | XDP_FLAGS_REPLACE, &opts);
}

/* Attach program `prog_fd` to `ifindex` in place of program `old_fd` in one step
   (XDP_FLAGS_REPLACE): the kernel swaps them only if `old_fd`'s program is the one attached, so
   the interface never runs without a program; 0 on success. */
static inline int sluice_xdp_replace(int ifindex, int prog_fd, __u32 flags, int old_fd)
{
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
    return bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_REPLACE, &opts);
}

/* The full name of program `id` into `name`: the name of its first function in its BTF (the
   kernel's own name stops at 15 characters). Returns 0 with the full name, 1 with only the
   kernel's name (no BTF), < 0 on error. */
static inline int sluice_prog_full_name(__u32 id, char *name, size_t size)
{
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) return fd;
    struct bpf_prog_info info;
    __u32 len = sizeof(info);
    memset(&info, 0, sizeof(info));
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    if (err) { close(fd); return err; }
    snprintf(name, size, "%s", info.name);
    if (info.btf_id == 0 || info.nr_func_info == 0) { close(fd); return 1; }
    __u32 btf_id = info.btf_id;
    struct bpf_func_info func;
    memset(&info, 0, sizeof(info));
    memset(&func, 0, sizeof(func));
    info.nr_func_info = 1;
    info.func_info_rec_size = sizeof(func);
    info.func_info = (__u64)(unsigned long)&func;
    len = sizeof(info);
    err = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    if (err) return 1;
    struct btf *btf = btf__load_from_kernel_by_id(btf_id);
    if (!btf || libbpf_get_error(btf)) return 1;
    const struct btf_type *t = btf__type_by_id(btf, func.type_id);
    const char *full = t ? btf__name_by_offset(btf, t->name_off) : NULL;
    int found = full && *full && strncmp(full, name, strlen(name)) == 0;
    if (found) snprintf(name, size, "%s", full);
    btf__free(btf);
    return found ? 0 : 1;
}

/* The driver of interface `ifname` (ETHTOOL_GDRVINFO, as `ethtool -i` shows it) into
   `driver`; 0 on success, -errno otherwise. */
static inline int sluice_driver_name(const char *ifname, char *driver, size_t size)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ethtool_drvinfo info;
    memset(&info, 0, sizeof(info));
    info.cmd = ETHTOOL_GDRVINFO;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&info;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
    close(fd);
    if (rc == 0) snprintf(driver, size, "%s", info.driver);
    return rc;
}

static inline __u32 sluice_xdp_flag_skb(void) { return XDP_FLAGS_SKB_MODE; }
static inline __u32 sluice_xdp_flag_drv(void) { return XDP_FLAGS_DRV_MODE; }
static inline __u32 sluice_xdp_flag_update_if_noexist(void) { return XDP_FLAGS_UPDATE_IF_NOEXIST; }

/* The CPU port's socket (`CPUPort`): a raw packet socket bound to one interface, every protocol. */
static inline int sluice_packet_socket(int ifindex)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return -errno;
    struct sockaddr_ll a;
    memset(&a, 0, sizeof(a));
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

/* The next frame the interface received (not one it sent), waiting at most timeout_ms: its
   length, 0 when none came, -errno on failure. */
static inline long sluice_packet_receive(int fd, void *buf, size_t size, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    if (n == 0) return 0;
    struct sockaddr_ll from;
    socklen_t len = sizeof(from);
    long r = recvfrom(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &len);
    if (r < 0) return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    if (from.sll_pkttype == PACKET_OUTGOING) return 0;
    return r > (long)size ? (long)size : r;
}

/* Sends `len` bytes as they are out of interface `ifindex`; 0 or -errno. */
static inline int sluice_packet_send(int fd, int ifindex, const void *buf, size_t len)
{
    struct sockaddr_ll a;
    memset(&a, 0, sizeof(a));
    a.sll_family = AF_PACKET;
    a.sll_ifindex = ifindex;
    a.sll_halen = 0;
    return sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len ? 0 : -errno;
}

/* GRO on `ifname` (legacy ETHTOOL_SGRO): a veth then has NAPI, so that frames redirected into
   its peer under native XDP are received. 0 or -errno. */
static inline int sluice_set_gro(const char *ifname, int on)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ethtool_value v = { .cmd = ETHTOOL_SGRO, .data = on ? 1 : 0 };
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&v;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

#endif
