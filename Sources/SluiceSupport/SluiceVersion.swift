/// Sluice's version: `sluice --version` prints it and program files record it (`writtenBy`).
/// Raise it with a change users can see (formats, commands, results).
public enum SluiceVersion {
    public static let current = "0.6.0"
}
