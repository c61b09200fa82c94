/// The Wireshark Lua dissector for INT-MD over UDP, Telemetry Report v2.0 and SwitchML, as
/// shipped in `Sources/SluiceTelemetry/Resources/sluice.lua` (embedded at build time, so the
/// binary writes it out wherever it is installed).
public enum WiresharkDissector {
    public static var lua: String { String(decoding: PackageResources.sluice_lua, as: UTF8.self) }
    public static let fileName = "sluice.lua"
}
