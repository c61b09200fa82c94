import Foundation

/// NAPI polling in kernel threads (`/sys/class/net/IFACE/threaded`, Linux 5.12+).
///
/// Normally an interface's receive work, the XDP program included, runs in softirq context on
/// the CPU that raised it. For a veth that is the sending process's own CPU: the sender, the
/// program and the redirect all share one core while the other idles. With threaded NAPI the
/// work runs in a kernel thread (`napi/IFACE-N`) that the scheduler places like any other, so
/// the program runs beside the sender instead of inside its time slice.
///
/// A veth has NAPI only while an XDP program (or GRO) is on it: set this after attaching and
/// put the old value back before detaching. Paths are those of the calling process's network
/// namespace (`ip netns exec` mounts the namespace's own /sys).
public enum NAPIThreads {
    static func path(_ interface: String) -> String { "/sys/class/net/\(interface)/threaded" }

    /// Whether `interface` polls in a thread now.
    public static func isThreaded(_ interface: String) throws -> Bool {
        guard let text = try? String(contentsOfFile: path(interface), encoding: .utf8) else {
            throw XDPError(missing(interface))
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines) != "0"
    }

    /// Turns threaded polling on or off for `interface`; returns what it was.
    @discardableResult
    public static func set(_ interface: String, threaded: Bool) throws -> Bool {
        let before = try isThreaded(interface)
        let fd = open(path(interface), O_WRONLY)
        guard fd >= 0 else { throw XDPError("\(path(interface)): \(String(cString: strerror(errno))) (writing it needs root or CAP_NET_ADMIN)") }
        defer { close(fd) }
        let text = threaded ? "1" : "0"
        let n = text.withCString { write(fd, $0, 1) }
        if n != 1 {
            let e = errno
            throw XDPError("\(interface): cannot turn NAPI threads \(threaded ? "on" : "off"): \(String(cString: strerror(e)))"
                           + (e == EIO || e == EOPNOTSUPP ? " (the interface has no NAPI to thread: a veth has it only while an XDP program or GRO is on it; attach first)" : ""))
        }
        return before
    }

    static func missing(_ interface: String) -> String {
        FileManager.default.fileExists(atPath: "/sys/class/net/\(interface)")
            ? "\(path(interface)) does not exist: this kernel has no NAPI threads (Linux 5.12+)"
            : "no interface '\(interface)' in this network namespace (/sys/class/net/\(interface))"
    }
}
