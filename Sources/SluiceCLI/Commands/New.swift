import ArgumentParser
import Foundation
import SluiceSupport

struct New: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a Swift package for switch programs of your own.",
        discussion: """
            Writes NAME/ with a starter program (Sources/<Name>Programs/PortPair.swift), a test \
            that uses SluiceTesting, a topology that runs the program, and a command of its own: \
            `swift run NAME <subcommand>` is every sluice subcommand, with the package's programs \
            beside the built-in ones. Examples:
              sluice new my-switch && cd my-switch
              swift build && swift test
              swift run my-switch programs
              swift run my-switch emulate topology.yaml
              swift run my-switch compile port-pair --emit program -o port-pair.json
            The package depends on this Sluice checkout by path (found from this binary, or give \
            --sluice); it builds with no network beyond the package registries.
            """)

    @Argument(help: "The package's name: a letter, then letters, digits, '-' or '_' (e.g. my-switch).")
    var name: String

    @Option(help: "The folder to create the package in (NAME inside it).")
    var directory = "."

    @Option(help: "The Sluice checkout the package depends on (default: the one this sluice was built from).")
    var sluice: String?

    func validate() throws {
        let ok = name.first.map { $0.isASCII && $0.isLetter } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        guard ok, name.count <= 64 else {
            throw ValidationError("package name '\(name)': use a letter, then letters, digits, '-' or '_' (at most 64), e.g. my-switch")
        }
    }

    func run() throws {
        let checkout = try sluice.map(Self.checkSluice) ?? Self.findSluice()
        let package = PackageTemplate(name: name, sluicePath: checkout)
        let root = FileIO.path(name, against: directory)
        if FileManager.default.fileExists(atPath: root) {
            throw CLIError("\(root) already exists; choose another name or --directory")
        }
        for (path, text) in package.files {
            let full = root + "/" + path
            do {
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try text.write(toFile: full, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write \(full): \(error.localizedDescription)")
            }
        }
        print("created \(root) (Sluice from \(checkout)):")
        for (path, _) in package.files { print("  \(path)") }
        print("next: cd \(root) && swift build && swift test && swift run \(name) emulate topology.yaml")
    }

    /// The absolute path of a Sluice checkout given by hand, if it is one.
    static func checkSluice(_ path: String) throws -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard isSluiceCheckout(absolute) else {
            throw CLIError("--sluice \(path): no Sluice package there (expected a Package.swift with name: \"Sluice\")")
        }
        return absolute
    }

    /// The checkout this binary was built in: the nearest folder above it holding Sluice's
    /// Package.swift (binaries live in CHECKOUT/.build/<triple>/<configuration>/).
    static func findSluice() throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dir = URL(fileURLWithPath: exe)
        }
        while dir.path != "/" {
            dir = dir.deletingLastPathComponent()
            if isSluiceCheckout(dir.path) { return dir.path }
        }
        throw CLIError("cannot tell which Sluice checkout this sluice comes from; give it with --sluice PATH")
    }

    static func isSluiceCheckout(_ dir: String) -> Bool {
        guard let text = try? String(contentsOfFile: dir + "/Package.swift", encoding: .utf8) else { return false }
        return text.contains("name: \"Sluice\"")
    }
}
