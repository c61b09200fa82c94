import SluiceReports
import Foundation
import SluiceEmulator

// The folders commands write into, made (or checked) before the work starts, with errors that
// name the option.

/// --report checked before the run: the folder exists and takes files, or the error names it.
func prepareReportFolder(_ path: String) throws {
    do { try ReportWriter.prepare(directory: path) } catch { throw CLIError("--report: \(error)") }
}

/// The folder of `option` (`--pcap-dir`), made with its parents.
func makeDirectory(_ path: String, _ option: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw CLIError("\(option): cannot create '\(path)': \(error.localizedDescription)")
    }
}

/// The error for an output option's old spelling: one spelling for one meaning across commands
/// (`-o/--output` a file the command would print, `-w/--write` one pcap, `--pcap-dir` a folder
/// of pcaps, `--report` a report folder).
func renamed(_ old: String, _ new: String) -> String {
    "\(old) is now \(new) (one spelling across commands: -o/--output for a file the command would print, -w/--write for one pcap, --pcap-dir for a folder of pcaps, --report for a report folder)"
}
