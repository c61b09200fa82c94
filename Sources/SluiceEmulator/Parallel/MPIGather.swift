import Foundation

extension MPIWorld {
    /// Every rank's `value` at rank 0, rank after rank (index: rank); nil on the other ranks.
    /// Every rank calls it at the same point of its run (a collective: the sizes, then the
    /// values, JSON-encoded). For what is gathered once a run or every many windows, never per
    /// window in a hot loop. `what` names the value in the message of a rank that cannot
    /// encode it, or of rank 0 when one cannot be read (the whole job then ends, `fail`).
    public func gather<T: Codable>(_ value: T, what: String) -> [T]? {
        let mine: [UInt8]
        do { mine = Array(try JSONEncoder().encode(value)) } catch { fail("encoding \(what) failed: \(error)") }
        let all = gatherBytes(mine)
        guard let all else { return nil }
        return all.enumerated().map { r, bytes in
            if r == rank { return value }
            do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
                fail("\(what) of rank \(r) could not be read: \(error)")
            }
        }
    }

    /// Every rank's bytes at rank 0 (index: rank; rank 0's own as given); nil on the other ranks.
    /// A collective, as `gather`.
    func gatherBytes(_ mine: [UInt8]) -> [[UInt8]]? {
        let sizes = allGather([Int64(mine.count)]).map(Int.init)
        var sendSizes = [Int](repeating: 0, count: size), receiveSizes = sendSizes
        if rank != 0 { sendSizes[0] = mine.count } else { receiveSizes = sizes; receiveSizes[0] = 0 }
        var received: [UInt8] = []
        exchange(rank == 0 ? [] : mine, sendSizes: sendSizes, receiveSizes: receiveSizes, into: &received, tag: 5)
        guard rank == 0 else { return nil }
        var all = [mine]
        var offset = 0
        for r in 1..<size {
            all.append(Array(received[offset..<offset + sizes[r]]))
            offset += sizes[r]
        }
        return all
    }
}
