import Foundation

/// What runs a pipeline's parser, controls and deparser: the closure runtime (the reference) or
/// native code (the program lowered to C, compiled by clang, loaded as a shared object).
public enum PipelineEngine: String, Sendable, CaseIterable {
    case closures, native

    /// `SLUICE_ENGINE` (`native` or `closures`), else native. Where native code cannot run (no
    /// clang, or a construct the C target does not express) the closures run, and the pipeline's
    /// `engineNote` says why.
    public static var `default`: PipelineEngine {
        ProcessInfo.processInfo.environment["SLUICE_ENGINE"].flatMap(PipelineEngine.init(rawValue:)) ?? .native
    }
}
