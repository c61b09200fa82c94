import Foundation

/// What runs a pipeline's parser, controls and deparser: the closure runtime (the reference) or
/// native code (the program lowered to C, compiled by clang, loaded as a shared object).
public enum PipelineEngine: String, Sendable, CaseIterable {
    case closures, native

    /// `SLUICE_ENGINE` (`native` or `closures`), else the closures.
    public static var `default`: PipelineEngine {
        ProcessInfo.processInfo.environment["SLUICE_ENGINE"].flatMap(PipelineEngine.init(rawValue:)) ?? .closures
    }
}
