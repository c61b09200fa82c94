import Sluice
import SluiceIR
import SluiceControlPlane

/// A built-in program: its name, a line about it, how to build it and its controller.
public struct ProgramInfo: Sendable {
    public let name: String
    public let summary: String
    public let build: @Sendable () -> SwitchProgram
    /// Makes the program's controller for a switch with these ports, if it has one.
    public let controller: (@Sendable ([UInt16]) -> any ProgramController)?
    /// The program has `ECMPRouter.routing`'s tables, so the emulator's routing controller can
    /// fill them (`routing: true` in a topology file).
    public var routes: Bool = false

    public init(name: String, summary: String, build: @escaping @Sendable () -> SwitchProgram,
                controller: (@Sendable ([UInt16]) -> any ProgramController)? = nil, routes: Bool = false) {
        self.name = name; self.summary = summary; self.build = build; self.controller = controller; self.routes = routes
    }
}

/// Every program in `Programs/`, in the order `sluice programs` lists them.
public enum ProgramRegistry {
    public static let all: [ProgramInfo] = [
        ProgramInfo(name: IPv4Router.name, summary: IPv4Router.summary, build: { IPv4Router.program() }, controller: nil),
        ProgramInfo(name: L2Switch.name, summary: L2Switch.summary, build: { L2Switch.program() },
                    controller: { L2Switch.Controller(ports: $0) }),
        ProgramInfo(name: ACLFirewall.name, summary: ACLFirewall.summary, build: { ACLFirewall.program() }, controller: nil),
        ProgramInfo(name: ECMPRouter.name, summary: ECMPRouter.summary, build: { ECMPRouter.program() }, controller: nil,
                    routes: true),
        ProgramInfo(name: SwitchML.name, summary: SwitchML.summary, build: { SwitchML.program() }, controller: nil,
                    routes: true),
        ProgramInfo(name: Flowlet.name, summary: Flowlet.summary, build: { Flowlet.program() }, controller: nil, routes: true),
        ProgramInfo(name: CONGA.name, summary: CONGA.summary, build: { CONGA.program() }, controller: nil, routes: true),
        ProgramInfo(name: HULA.name, summary: HULA.summary, build: { HULA.program() }, controller: nil, routes: true),
        ProgramInfo(name: DRILL.name, summary: DRILL.summary, build: { DRILL.program() }, controller: nil, routes: true),
        ProgramInfo(name: ATP.name, summary: ATP.summary, build: { try! ATP.program() }, controller: nil, routes: true),
        ProgramInfo(name: INTProgram.name, summary: INTProgram.summary, build: { INTProgram.program() }, controller: nil,
                    routes: true),
    ]

    public static func named(_ name: String) -> ProgramInfo? { all.first { $0.name == name } }

    /// An error message for an unknown name, listing the valid ones.
    public static func unknown(_ name: String) -> String { resolver.unknown(name) }

    /// The built-in programs as a source of programs (beside program files): what the
    /// emulator, topology files and the commands resolve names with.
    public static let resolver = ProgramResolver(all.map(\.resolvable))
}

extension ProgramInfo {
    /// This program for a `ProgramResolver`: built and verified on demand, with its controller
    /// and, for programs built on `ECMPRouter.routing`, its routes.
    public var resolvable: ProgramResolver.Named {
        let build = self.build
        return ProgramResolver.Named(name: name, summary: summary, build: { try build().verified() }, controller: controller,
                                     routes: routes ? ECMPRouter.Routes() : nil)
    }
}

extension ProgramResolver {
    /// The built-in programs (`sluice programs`) and program files.
    public static var builtIn: ProgramResolver { ProgramRegistry.resolver }
}
