import ArgumentParser
import Foundation
import SluicePrograms
import SluiceP4RuntimeServer

/// `sluice bench p4runtime` (the measurement is `P4RuntimeBench`, beside the server).
struct P4RuntimeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p4runtime",
        abstract: "P4Runtime table writes and reads per second, against direct control-plane inserts.",
        discussion: """
            Starts the P4Runtime server on 127.0.0.1 (a port the system picks) in front of an \
            in-memory ipv4-router, and a gRPC client in the same process: the client arbitrates, \
            sets the pipeline, INSERTs ENTRIES distinct /32 routes into ipv4_lpm in Write batches \
            of BATCH, then reads them all back with one wildcard Read. The same entries inserted \
            straight into a pipeline's control plane are the baseline (overhead = \
            direct_inserts_per_s / writes_per_s). Build with -c release. Examples:
              sluice bench p4runtime
              sluice bench p4runtime --entries 100000 --batch 1000 --json
            """)

    @Option(help: "Routes to write and read back.")
    var entries: Int = 100_000

    @Option(help: "Updates per Write request.")
    var batch: Int = 1_000

    @Option(help: "Seed for the routes (printed).")
    var seed: UInt64?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        try requireWithin(1...1_000_000, entries, option: "--entries", valid: "1 ... 1000000")
        try requireWithin(1...100_000, batch, option: "--batch", valid: "1 ... 100000")
    }

    func run() throws {
        let seed = self.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let program = try resolveProgram(IPv4Router.name).program
        let bench = P4RuntimeBench(program: program, resolver: programSource, entries: entries, batch: batch, seed: seed)
        final class Box: @unchecked Sendable { var result: Result<P4RuntimeBench.Result, any Error>? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await bench.run()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        let r = try box.result!.get()
        guard r.readBack == entries else { throw CLIError("bench p4runtime: read back \(r.readBack) entries, wrote \(entries)") }
        if json {
            struct Out: Encodable {
                var program: String; var table: String; var entries: Int; var batch: Int; var seed: UInt64
                var writes_per_s: Double; var reads_per_s: Double; var direct_inserts_per_s: Double; var overhead: Double
            }
            try printJSON(Out(program: IPv4Router.name, table: "ipv4_lpm", entries: entries, batch: batch, seed: seed,
                              writes_per_s: r.writesPerSecond, reads_per_s: r.readsPerSecond,
                              direct_inserts_per_s: r.directInsertsPerSecond, overhead: r.directInsertsPerSecond / r.writesPerSecond))
        } else {
            print("seed \(seed) (rerun with --seed \(seed)); ipv4-router ipv4_lpm, \(entries) /32 routes, Write batches of \(batch)")
            print("  P4Runtime writes: \(fmt(r.writesPerSecond)) entries/s")
            print("  P4Runtime reads:  \(fmt(r.readsPerSecond)) entries/s (one wildcard Read)")
            print("  direct control-plane inserts: \(fmt(r.directInsertsPerSecond)) entries/s (overhead \(fmt(r.directInsertsPerSecond / r.writesPerSecond)))")
        }
    }
}
