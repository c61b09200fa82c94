import SluiceSupport
import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceEBPF
import SluiceP4Runtime
import Foundation

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a program and print it in a backend's form.",
        discussion: """
            `--emit ir` prints the verified IR as stable text (what snapshot tests pin). `--emit ebpf-c` \
            prints the XDP program the eBPF backend generates (readable C, each block commented with \
            the program element it comes from); `--emit ebpf-object -o FILE.o` compiles it with clang \
            (-O2 -g -target bpf) into an object libbpf loads. Constructs XDP cannot run (queue depths, \
            recirculation, ...) are errors naming the construct and the program. Examples:
              sluice compile ipv4-router --emit ebpf-c -o router.c
              sluice compile ipv4-router --emit ebpf-object -o router.o
            `--emit program` writes the verified IR as a program file (versioned JSON) that every \
            command takes in place of a built-in name:
              sluice compile ipv4-router --emit program -o router.json
              sluice run router.json --entries routes.txt --packet 0:...
            `--emit p4info` writes the program's P4Info in protobuf text format (as p4c's \
            --p4runtime-files does), `--emit p4info-binary` in the binary wire format: tables, \
            actions, counters, meters, registers and digests with P4Runtime ids (the top byte is the \
            resource type, the rest a hash of the name, the same on every run):
              sluice compile ipv4-router --emit p4info -o router.p4info.txt
            `--emit native-c` prints the C the native engine (`--engine native`) compiles with clang \
            and loads: the same lowering as ebpf-c, for the host, reading the runtime's tables and \
            registers in place:
              sluice compile ipv4-router --emit native-c -o router-host.c
            """)

    enum Emit: String, ExpressibleByArgument, CaseIterable {
        case ir
        case ebpfC = "ebpf-c"
        case ebpfObject = "ebpf-object"
        case program
        case p4info
        case p4infoBinary = "p4info-binary"
        case nativeC = "native-c"
    }

    @Argument(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String

    @Option(help: "What to emit: \(Emit.allCases.map(\.rawValue).joined(separator: ", ")).")
    var emit: Emit = .ir

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    /// The error of a failed write to `-o`, with the system's reason (read from errno at once).
    func cannotWrite(_ path: String) -> CLIError {
        CLIError("-o \(path): cannot write: \(String(cString: strerror(errno)))")
    }

    func run() throws {
        let info = try resolveProgram(program)
        let ir = info.program
        if emit == .ebpfC || emit == .ebpfObject {
            let c: String
            do { c = try EBPFBackend.emitC(ir) } catch { throw CLIError("\(error)") }
            if emit == .ebpfObject {
                guard let output else { throw ValidationError("--emit ebpf-object needs -o FILE.o (an object file is not printed)") }
                do { try EBPFObjectCompiler.compile(source: c, output: output) } catch { throw CLIError("\(error)") }
                return
            }
            if let output {
                guard FileIO.write(output, c) else { throw cannotWrite(output) }
            } else {
                print(c, terminator: "")
            }
            return
        }
        if emit == .nativeC {
            // As the runtime loads it (in the emulator, optional reads of queue values read them).
            let c: String
            do { c = try HostBackend.emitC(ir, queues: false) } catch { throw CLIError("\(error)") }
            if let output {
                guard FileIO.write(output, c) else { throw cannotWrite(output) }
            } else {
                print(c, terminator: "")
            }
            return
        }
        if emit == .program {
            let data = try ProgramFile.encode(ir, writtenBy: "sluice \(SluiceVersion.current)")
            if let output {
                guard FileIO.write(output, [UInt8](data)) else { throw cannotWrite(output) }
            } else {
                FileHandle.standardOutput.write(data)
            }
            return
        }
        if emit == .p4info || emit == .p4infoBinary {
            let p4info: P4_Config_V1_P4Info
            do { p4info = try P4InfoBuilder.p4Info(ir.program) } catch { throw CLIError("\(error)") }
            let bytes = emit == .p4infoBinary ? P4InfoFormat.binary(p4info) : Array(P4InfoFormat.text(p4info).utf8)
            if let output {
                guard FileIO.write(output, bytes) else { throw cannotWrite(output) }
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
            return
        }
        let text = IRPrinter.print(ir.program)
        if let output {
            guard FileIO.write(output, text) else { throw cannotWrite(output) }
        } else {
            print(text, terminator: "")
        }
    }
}
