/// An IPv4 address in dotted decimal, for reports and messages.
public func ipv4Text(_ a: UInt32) -> String { "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)" }
