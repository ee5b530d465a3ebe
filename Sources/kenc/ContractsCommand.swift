import ArgumentParser
import Contracts
import Foundation

/// `kenc contracts PROBE [--json]`: shows what Ken knows about a kernel probe on this machine
/// (field/parameter types, user pointers, byte order, ranges, conventions). Reads the
/// per-release contracts store, building it first when this kernel has none yet.
struct ContractsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contracts",
        abstract: "Show the kernel contracts of a probe (types, user pointers, byte order, ranges).")

    @Argument(help: "A probe, e.g. tracepoint:syscalls:sys_enter_openat, kfunc:tcp_connect, kprobe:tcp_v4_connect. With --search, a prompt.")
    var probe: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .long, help: "Treat PROBE as a prompt and list the most relevant probes on this kernel.")
    var search = false

    @Option(name: .long, help: "Directory holding contracts-<release>.db.")
    var stateDir = "/var/lib/kend"

    func run() async throws {
        let store: ContractStore
        do {
            store = try ContractStore.open(stateDirectory: stateDir)
        } catch {
            throw ValidationError(error.description)
        }
        if store.info.rebuiltNow {
            FileHandle.standardError.write(Data("built contracts for \(store.release) in \(String(format: "%.1f", store.info.buildSeconds)) s: \(store.path)\n".utf8))
        }
        if search {
            let matches = try store.search(prompt: probe, limit: 15)
            if json {
                print(try Self.encode(matches.map(\.contract)))
            } else {
                for match in matches {
                    print(String(format: "%7.2f  ", match.score) + ContractText.probeLine(match.contract))
                }
            }
            return
        }
        let contract: ProbeContract?
        do {
            contract = try store.contract(forProbe: probe)
        } catch {
            throw ValidationError(error.description)
        }
        guard let contract else {
            throw ValidationError("no probe \(probe) on this kernel (\(store.release))")
        }
        let records = try store.records(reachableFrom: contract)
        if json {
            struct Output: Encodable {
                var probe: String
                var contract: ProbeContract
                var records: [RecordContract]
                var builtinFacts: [ContractFact]
            }
            print(try Self.encode(Output(probe: probe, contract: contract, records: records,
                                         builtinFacts: store.builtinFacts)))
        } else {
            print(ContractText.render(contract, records: records))
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
