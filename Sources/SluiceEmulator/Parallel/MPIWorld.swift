// Every MPI call of Sluice is in this file (and the C of CMPI under it): the MPI job this process
// is a rank of. The C module is imported internally, so no MPI type leaks out.
internal import CMPI
import Foundation

/// The MPI job this process is one rank of, under `mpirun -np N sluice ... --mpi`. Open MPI's
/// library is loaded when the world starts, not before: a sluice run without `--mpi` neither
/// needs Open MPI installed nor touches it.
public final class MPIWorld: @unchecked Sendable {
    public let rank: Int
    public let size: Int

    /// What mpirun told this process in its environment, read before MPI starts: nil when no
    /// mpirun (Open MPI's, which sets `OMPI_COMM_WORLD_SIZE` and `OMPI_COMM_WORLD_RANK`) started it.
    public static var launched: (rank: Int, size: Int)? {
        let env = ProcessInfo.processInfo.environment
        guard let size = env["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }), size >= 1,
              let rank = env["OMPI_COMM_WORLD_RANK"].flatMap({ Int($0) }), (0..<size).contains(rank) else { return nil }
        return (rank, size)
    }

    nonisolated(unsafe) private static var started: MPIWorld?

    /// Load libmpi.so.40 and start MPI (once a process: MPI cannot start twice).
    public static func start() throws -> MPIWorld {
        if let started { return started }
        var error = [CChar](repeating: 0, count: 512)
        guard sluice_mpi_open(&error, error.count) == 0 else {
            let why = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw EmulatorError("--mpi needs Open MPI's libmpi.so.40 (\(why)); install it: apt-get install -y openmpi-bin")
        }
        var rank: Int32 = 0, size: Int32 = 0
        let rc = sluice_mpi_init(&rank, &size)
        guard rc == 0 else { throw EmulatorError("MPI_Init failed (error \(rc)); is this process started by mpirun?") }
        let world = MPIWorld(rank: Int(rank), size: Int(size))
        sluice_mpi_watch_crashes(rank, size)
        started = world
        return world
    }

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
        sendPointers = Array(repeating: nil, count: size)
        recvPointers = Array(repeating: nil, count: size)
        sendCounts = Array(repeating: 0, count: size)
        receiveCounts = sendCounts
    }

    /// `exchange`'s arguments to C, one a rank.
    private var sendPointers: [UnsafeRawPointer?]
    private var recvPointers: [UnsafeMutableRawPointer?]
    private var sendCounts: [Int64]
    private var receiveCounts: [Int64]

    /// "rank 1 of 2": how messages name this process.
    public var name: String { "rank \(rank) of \(size)" }

    /// End MPI on this rank (every rank calls it once its part is done).
    public func finish() { _ = sluice_mpi_finalize() }

    /// Say on standard error what failed on this rank, then end the whole job (mpirun stops
    /// every rank and exits with a non-zero status).
    public func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("sluice: \(name): \(message)\n".utf8))
        sluice_mpi_abort(1)
        fatalError("MPI_Abort returned")
    }

    /// The window this rank runs from now on, for the message a crash prints.
    func noteWindow(_ window: UInt64, start: VirtualTime) { sluice_mpi_note_window(window, start.picoseconds) }

    /// Every rank's `mine` (each the same length), rank after rank.
    func allGather(_ mine: [Int64]) -> [Int64] {
        var all = [Int64](repeating: 0, count: mine.count * size)
        let rc = mine.withUnsafeBufferPointer { m in all.withUnsafeMutableBufferPointer { a in
            sluice_mpi_allgather_i64(m.baseAddress, Int32(m.count), a.baseAddress)
        } }
        if rc != 0 { fail("MPI_Allgather failed (error \(rc))") }
        return all
    }

    /// Send `sendSizes[r]` bytes to each rank r and receive up to `receiveSizes[r]` bytes from it, all
    /// at once (0: nothing either way). The messages lie one after another in `send`, rank
    /// after rank, and arrive so in `received` (resized to hold them).
    /// With `maximum` (non-empty), every rank's values are combined at the same time, element
    /// by element, into their largest (`maximumOut`, resized): one wait for both.
    func exchange(_ send: [UInt8], sendSizes: [Int], receiveSizes: [Int], into received: inout [UInt8], tag: Int32,
                  maximum: [Int64] = [], into maximumOut: UnsafeMutablePointer<Int64>? = nil) {
        precondition(sendSizes.count == size && receiveSizes.count == size && sendSizes.reduce(0, +) == send.count)
        let total = receiveSizes.reduce(0, +)
        if received.count != total {
            received.removeAll(keepingCapacity: true)
            received.append(contentsOf: repeatElement(0, count: total))
        }
        let rc = send.withUnsafeBytes { s in
            received.withUnsafeMutableBytes { d in
                // Scratch kept from call to call: a window's meeting allocates nothing here.
                var so = 0, ro = 0
                for r in 0..<size {
                    sendPointers[r] = s.baseAddress.map { $0 + so }
                    recvPointers[r] = d.baseAddress.map { $0 + ro }
                    sendCounts[r] = Int64(sendSizes[r]); receiveCounts[r] = Int64(receiveSizes[r])
                    so += sendSizes[r]; ro += receiveSizes[r]
                }
                return maximum.withUnsafeBufferPointer { m in
                    sluice_mpi_exchange_reducing(Int32(size), sendPointers, sendCounts, recvPointers, receiveCounts, tag,
                                                 m.baseAddress, maximumOut, maximumOut == nil ? 0 : Int32(m.count))
                }
            }
        }
        if rc != 0 { fail("exchanging messages with the other ranks failed (MPI error \(rc))") }
    }

    /// Wait for every rank, sleeping rather than spinning (one rank's serial work, such as a
    /// benchmark's one-partition run, keeps its core).
    public func barrier() {
        let rc = sluice_mpi_barrier_sleeping(200)
        if rc != 0 { fail("MPI_Ibarrier failed (error \(rc))") }
    }
}
