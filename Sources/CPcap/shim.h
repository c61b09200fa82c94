// libpcap for Swift: SluicePcap imports this module (internally) in LibPcap.swift only.
// <pcap/pcap.h> defines classic BPF's `struct bpf_insn`; never import it into a module that
// also imports libbpf (<linux/bpf.h> defines another one).
#ifndef SLUICE_CPCAP_SHIM_H
#define SLUICE_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
