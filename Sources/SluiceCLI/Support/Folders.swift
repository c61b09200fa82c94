import SluiceReports
import Foundation
import SluiceEmulator

// The folders commands write into, made (or checked) before the work starts, with errors that
// name the option.

/// --report checked before the run: the folder exists and takes files, or the error names it.
func prepareReportFolder(_ path: String) throws {
    do { try ReportWriter.prepare(directory: path) } catch { throw CLIError("--report: \(error)") }
}

/// The folder of `option` (`--pcap-dir`, `--per-host`), made with its parents.
func makeDirectory(_ path: String, _ option: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw CLIError("\(option): cannot create '\(path)': \(error.localizedDescription)")
    }
}
