import SluiceIR
import SluiceSupport

/// A program ready to run: its verified IR and what comes with it on the control plane.
public struct ResolvedProgram: Sendable {
    /// How it was named: a built-in name, or the program file's path.
    public var name: String
    /// The program, verified.
    public var program: VerifiedProgram
    /// Makes the program's controller for a switch with these ports, if it has one.
    public var controller: (@Sendable ([UInt16]) -> any ProgramController)?
    /// How a routing controller writes routes into the program's tables, if it can.
    public var routes: (any RouteInstaller)?

    public init(name: String, program: VerifiedProgram, controller: (@Sendable ([UInt16]) -> any ProgramController)? = nil,
                routes: (any RouteInstaller)? = nil) {
        self.name = name; self.program = program; self.controller = controller; self.routes = routes
    }
}

/// A program could not be found or read; the message names it and what would be valid.
public struct ProgramResolutionError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where programs come from: a name or a program file's path becomes a `ResolvedProgram`.
/// Program files (`sluice compile P --emit program`) are one source; the programs a resolver is
/// made with (the built-in ones, a user package's) are another. The emulator, the commands and
/// every backend take programs through a resolver, so none of them knows a fixed list.
public struct ProgramResolver: Sendable {
    /// A program known by name.
    public struct Named: Sendable {
        public var name: String
        public var summary: String
        /// Builds the program and verifies it.
        public var build: @Sendable () throws -> VerifiedProgram
        public var controller: (@Sendable ([UInt16]) -> any ProgramController)?
        public var routes: (any RouteInstaller)?

        public init(name: String, summary: String, build: @escaping @Sendable () throws -> VerifiedProgram,
                    controller: (@Sendable ([UInt16]) -> any ProgramController)? = nil, routes: (any RouteInstaller)? = nil) {
            self.name = name; self.summary = summary; self.build = build; self.controller = controller; self.routes = routes
        }
    }

    /// The programs known by name, in the order listings show them.
    public private(set) var named: [Named]

    public init(_ named: [Named]) { self.named = named }

    /// Program files only: no program is known by name.
    public static let filesOnly = ProgramResolver([])

    public var names: [String] { named.map(\.name) }
    /// The names of the programs a routing controller can fill.
    public var routedNames: [String] { named.filter { $0.routes != nil }.map(\.name) }

    /// The program named `name`, if known.
    public func program(named name: String) -> Named? { named.first { $0.name == name } }

    /// A resolver in which `name` builds with `build` instead (a built-in program with other
    /// parameters: SwitchML with another pool size), keeping its controller and routes.
    public func replacing(_ name: String, build: @escaping @Sendable () throws -> VerifiedProgram) -> ProgramResolver {
        var r = self
        if let i = r.named.firstIndex(where: { $0.name == name }) { r.named[i].build = build }
        return r
    }

    /// A resolver with `more` programs beside these (a name given twice: the later one wins).
    public func adding(_ more: [Named]) -> ProgramResolver {
        ProgramResolver(named.filter { n in !more.contains { $0.name == n.name } } + more)
    }

    /// Whether `ref` names a program file rather than a program: it ends in .json or holds a '/'.
    public static func isFile(_ ref: String) -> Bool { ProgramFile.looksLikePath(ref) }

    /// The program `ref` names: a program file (read, decoded and verified; relative paths
    /// start at `directory`) or a name this resolver knows.
    public func resolve(_ ref: String, relativeTo directory: String? = nil) throws(ProgramResolutionError) -> ResolvedProgram {
        if Self.isFile(ref) {
            let path = directory.map { FileIO.path(ref, against: $0) } ?? ref
            do { return ResolvedProgram(name: ref, program: try ProgramFile.load(path: path)) } catch {
                throw ProgramResolutionError("\(error)")
            }
        }
        guard let n = program(named: ref) else { throw ProgramResolutionError(unknown(ref)) }
        do { return ResolvedProgram(name: ref, program: try n.build(), controller: n.controller, routes: n.routes) } catch {
            throw ProgramResolutionError("program '\(ref)' does not verify: \(error)")
        }
    }

    /// An error message for an unknown name: the valid ones, files, and the nearest name.
    public func unknown(_ name: String) -> String {
        let known = names.isEmpty ? "no program is known by name here" : "available: \(names.joined(separator: ", ")) (see `sluice programs`)"
        let hint = Suggest.didYouMean(name, names).map { "; \($0)" } ?? ""
        return "unknown program '\(name)'; \(known) or a program file (.json, from `sluice compile P --emit program`)\(hint)"
    }
}
