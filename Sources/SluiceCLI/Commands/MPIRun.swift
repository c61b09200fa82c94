import ArgumentParser
import Foundation
import SluiceEmulator

/// What a command run under mpirun (`--mpi`, one partition a rank) does around its run:
/// refusals said once, MPI started, output folders staged until every rank has written.
struct MPIRun {
    let launched: (rank: Int, size: Int)

    /// This process's place in the job, or the refusal naming `command` (how to run it under
    /// mpirun) and `threads` (the same on threads of one process).
    init(command: String, threads: String) throws {
        guard let launched = MPIWorld.launched else {
            throw CLIError("--mpi: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE is not set); run `mpirun -np 2 \(command)` (as root add --allow-run-as-root), or use threads of one process: `\(threads)`")
        }
        self.launched = launched
    }

    /// What every rank finds alike is checked before MPI starts, and said once, by rank 0,
    /// whose failure is the job's. The other ranks end quietly with success: had they failed
    /// too, mpirun could kill rank 0 before its message was written.
    func once<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { if launched.rank == 0 { throw error } else { throw ExitCode.success } }
    }

    /// MPI started (a failure said once).
    func start() throws -> MPIWorld {
        try once { () throws -> MPIWorld in
            do { return try MPIWorld.start() } catch { throw CLIError("\(error)") }
        }
    }
}

/// Pcaps and host traces under MPI are written into a folder marked incomplete (in the folder
/// they belong in) and moved there only once every rank has finished: a run that dies leaves
/// none that look whole.
final class MPIStaging {
    let world: MPIWorld
    private(set) var folders: [(folder: String, into: String)] = []

    init(_ world: MPIWorld) { self.world = world }

    /// The folder to write `dir`'s files in (rank 0 makes both; `option` names `dir` in errors).
    func staged(_ dir: String, _ option: String) -> String {
        let incomplete = (dir as NSString).appendingPathComponent(".sluice-mpi-incomplete")
        if !folders.contains(where: { $0.into == dir }) {
            folders.append((incomplete, dir))
            if world.rank == 0 {
                do {
                    try makeDirectory(dir, option)
                    try? FileManager.default.removeItem(atPath: incomplete)
                    try makeDirectory(incomplete, option)
                } catch { world.fail("\(error)") }
            }
        }
        return incomplete
    }

    /// Rank 0, once every rank has written its files: each staged folder's files into theirs.
    func moveIn() {
        for (folder, dir) in folders {
            do {
                let fm = FileManager.default
                for f in try fm.contentsOfDirectory(atPath: folder) {
                    let to = (dir as NSString).appendingPathComponent(f)
                    if fm.fileExists(atPath: to) { try fm.removeItem(atPath: to) }
                    try fm.moveItem(atPath: (folder as NSString).appendingPathComponent(f), toPath: to)
                }
                try fm.removeItem(atPath: folder)
            } catch { world.fail("moving the pcaps and traces into \(dir): \(error)") }
        }
    }
}
