// libbpf for Swift: SluiceXDP imports this module. Never import CPcap beside it: libpcap's
// headers define classic BPF's `struct bpf_insn`, <linux/bpf.h> another one.
#ifndef SLUICE_CBPF_SHIM_H
#define SLUICE_CBPF_SHIM_H
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

/* libbpf's option structs are initialised with macros Swift cannot call: small wrappers. */

static inline struct bpf_object *sluice_bpf_open(const char *path, char *log, size_t log_size)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts, .kernel_log_buf = log, .kernel_log_size = log_size, .kernel_log_level = 1);
    return bpf_object__open_file(path, &opts);
}

static inline int sluice_bpf_test_run(int prog_fd, const void *in, __u32 in_len, void *out, __u32 *out_len,
                                      __u32 *retval, __u32 repeat, __u32 *duration)
{
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = in_len, .data_out = out,
                .data_size_out = *out_len, .repeat = repeat);
    int err = bpf_prog_test_run_opts(prog_fd, &o);
    *out_len = o.data_size_out;
    *retval = o.retval;
    if (duration) *duration = o.duration;
    return err;
}

static inline int sluice_xdp_attach(int ifindex, int prog_fd, __u32 flags)
{
    return bpf_xdp_attach(ifindex, prog_fd, flags, NULL);
}

static inline int sluice_xdp_detach(int ifindex, __u32 flags)
{
    return bpf_xdp_detach(ifindex, flags, NULL);
}

/* The name of program `id` (at most 15 characters) into `name`; 0 on success. */
static inline int sluice_prog_name(__u32 id, char *name, size_t size)
{
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) return fd;
    struct bpf_prog_info info;
    __u32 len = sizeof(info);
    memset(&info, 0, sizeof(info));
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    if (err) return err;
    snprintf(name, size, "%s", info.name);
    return 0;
}

static inline __u32 sluice_xdp_flag_skb(void) { return XDP_FLAGS_SKB_MODE; }
static inline __u32 sluice_xdp_flag_drv(void) { return XDP_FLAGS_DRV_MODE; }
static inline __u32 sluice_xdp_flag_update_if_noexist(void) { return XDP_FLAGS_UPDATE_IF_NOEXIST; }
#endif
