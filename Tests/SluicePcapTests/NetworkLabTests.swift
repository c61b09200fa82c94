import Foundation
import Testing
import SluiceTesting

/// The namespace and veth helper every namespace test and benchmark builds on: IPv6 off where
/// it made something, a failing `ip` command named with ip's own complaint, and nothing of it
/// left after `remove()`, also when a step failed.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and veth pairs (CI runs as root)"))
struct NetworkLabTests {
    func ip(_ args: String...) throws -> String { try run(try #require(NetworkLab.ipTool), args).out }

    @Test func removesEverythingItMadeAlsoAfterAFailedStep() throws {
        let lab = NetworkLab(prefix: "st")
        defer { lab.remove() }
        let ns = try lab.addNamespace("x")
        let pair = try lab.addVeth("r", in: nil, peer: "x", in: ns)
        #expect(ns == "sluice-\(lab.tag)x" && pair.name == lab.tag + "r" && pair.peer == lab.tag + "x")
        #expect(try ip("netns", "list").contains(ns))
        #expect(try lab.execChecked(in: ns, ["sysctl", "-n", "net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.\(pair.peer).disable_ipv6"]).out == "1\n1\n")
        #expect(try String(contentsOfFile: "/proc/sys/net/ipv6/conf/\(pair.name)/disable_ipv6", encoding: .utf8) == "1\n")
        #expect(try ip("-n", ns, "-o", "link", "show", "lo").contains(",UP"), "loopback is up")
        #expect(try ip("-n", ns, "-o", "link", "show", pair.peer).contains(",UP"), "the namespace's end is up")

        #expect {
            try lab.addAddress("10.0.0.1/24", to: "nosuch0", in: ns)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("`ip -n \(ns) addr add 10.0.0.1/24 dev nosuch0` exited 1: ") && text.contains("nosuch0\"")
        }
        let long = lab.tag + "-a-long-suffix"
        #expect {
            try lab.interfaceName("-a-long-suffix")
        } throws: { error in
            "\(error)" == "interface name '\(long)' has \(long.count) characters, the kernel allows 15: use a shorter prefix or suffix"
        }

        lab.remove()
        #expect(try !ip("netns", "list").contains(ns))
        #expect(try !ip("-o", "link", "show").contains(pair.name))
        lab.remove()   // a second time: nothing left to do
    }
}
