/// The parser has a start state, every transition names a state (or accept / reject), no state
/// takes a reserved name, and every state is reachable from the start state.
struct ParserStates: VerifierRule {
    let name = "parser-states"

    func check(_ ix: ProgramIndex) -> [Diagnostic] {
        let states = ix.program.parser.states
        guard let start = states.first else {
            return [diagnostic(ix, "parser", "has no states",
                               fix: "add a start state that extracts the first header and transitions to accept")]
        }
        var out: [Diagnostic] = []
        let reserved: Set<String> = [ReservedState.accept, ReservedState.reject]
        let names = Set(states.map(\.name))
        let targets = states.map(\.name).filter { !reserved.contains($0) } + [ReservedState.accept, ReservedState.reject]

        func successors(_ s: ParserState) -> [String] {
            switch s.transition {
            case .accept, .reject: []
            case .goto(let n): [n]
            case .select(_, let cases): cases.map(\.next)
            }
        }

        for s in states {
            let el = "parser state '\(s.name)'"
            if reserved.contains(s.name) {
                out.append(diagnostic(ix, el, "'\(s.name)' is a reserved state name",
                                      fix: "rename the state; transition to \(s.name) to end parsing that way"))
            }
            var reported: Set<String> = []
            for n in successors(s) where !reserved.contains(n) && !names.contains(n) && reported.insert(n).inserted {
                out.append(diagnostic(ix, el, "transitions to '\(n)', which is not a state",
                                      fix: Suggest.oneOf(n, targets, none: "declare state '\(n)'")))
            }
        }

        var reached: Set<String> = [start.name]
        var queue = [start.name]
        let byName = Dictionary(states.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        while let n = queue.popLast() {
            guard let s = byName[n] else { continue }
            for next in successors(s) where !reserved.contains(next) && reached.insert(next).inserted {
                queue.append(next)
            }
        }
        for s in states where !reached.contains(s.name) && !reserved.contains(s.name) {
            out.append(diagnostic(ix, "parser state '\(s.name)'", "is unreachable from the start state '\(start.name)'",
                                  fix: "remove the state, or add a transition to '\(s.name)'"))
        }
        return out
    }
}
