import CBPF

/// What the running kernel lets XDP programs do, probed once per process (a program of a few
/// instructions calling the helper, loaded), and the macros the XDP objects are built with.
enum KernelFeatures {
    /// Whether the verifier lets XDP programs call `bpf_xdp_adjust_meta` (6.18 here refuses
    /// it: "program of this type cannot use helper bpf_xdp_adjust_meta#54"). A probe that
    /// loads nothing at all (no permission, say) counts as yes: the load then tells what is wrong.
    static let xdpMetadata: Bool = sluice_probe_xdp_adjust_meta() != 0

    /// The `-D` macros of `EBPFObjectCompiler` for this kernel.
    static var defines: [String] { xdpMetadata ? [] : ["SL_NO_XDP_META"] }
}
