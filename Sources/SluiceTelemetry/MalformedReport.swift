/// Why a report (or part of it) could not be read. The collector counts each kind by name and
/// carries on: a report from a buggy or hostile sender never stops it.
public enum MalformedReport: Int, CaseIterable, Sendable {
    case shortGroupHeader
    case badReportVersion
    case shortIndividualHeader
    case reportBeyondPayload
    case metadataBeyondReport
    case innerTruncated
    case innerNotIPv4
    case intTruncated
    case intBadVersion
    case intShortLength
    case intHopLengthTooSmall
    case intStackNotWholeHops

    /// The name in JSON and on the terminal.
    public var name: String {
        switch self {
        case .shortGroupHeader: "short_group_header"
        case .badReportVersion: "bad_report_version"
        case .shortIndividualHeader: "short_individual_header"
        case .reportBeyondPayload: "report_beyond_payload"
        case .metadataBeyondReport: "metadata_beyond_report"
        case .innerTruncated: "inner_truncated"
        case .innerNotIPv4: "inner_not_ipv4"
        case .intTruncated: "int_truncated"
        case .intBadVersion: "int_bad_version"
        case .intShortLength: "int_short_length"
        case .intHopLengthTooSmall: "int_hop_length_too_small"
        case .intStackNotWholeHops: "int_stack_not_whole_hops"
        }
    }

    /// What was wrong and what would be valid.
    public var explanation: String {
        switch self {
        case .shortGroupHeader: "payload shorter than the 8-byte group header"
        case .badReportVersion: "group header version is not 2 (Telemetry Report v2.0)"
        case .shortIndividualHeader: "fewer than 4 bytes left for an individual report header"
        case .reportBeyondPayload: "ReportLength runs past the end of the payload (valid: up to the payload, or 0xFF)"
        case .metadataBeyondReport: "MDLength or the RepMdBits metadata do not fit in ReportLength"
        case .innerTruncated: "the original packet is too short for its Ethernet, IPv4 and UDP/TCP headers"
        case .innerNotIPv4: "the original packet is not IPv4 (only IPv4 is decoded)"
        case .intTruncated: "the INT shim, header or stack runs past the captured original packet"
        case .intBadVersion: "INT-MD header version is not 2 (INT v2.1)"
        case .intShortLength: "shim Length is below the 3 words of the INT-MD header"
        case .intHopLengthTooSmall: "HopML is smaller than the instruction bitmap needs"
        case .intStackNotWholeHops: "the metadata stack is not a whole number of HopML-word hops"
        }
    }
}
