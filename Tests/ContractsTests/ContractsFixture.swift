import Contracts
import Foundation
import KernelInfo
import XCTest

/// One contracts store built from the running kernel, shared by every test in this target
/// (building walks all of BTF and tracefs; doing it once keeps the suite fast).
enum ContractsFixture {
    struct Built: Sendable {
        let store: ContractStore
        let directory: String
        let seconds: Double
    }

    static let shared: Result<Built, ContractsError> = {
        let directory = NSTemporaryDirectory() + "ken-contracts-tests-\(getpid())"
        let start = Date()
        do {
            let store = try ContractStore.open(stateDirectory: directory)
            // The open store keeps reading the unlinked file; nothing is left in /tmp.
            try? FileManager.default.removeItem(atPath: directory)
            return .success(Built(store: store, directory: directory, seconds: Date().timeIntervalSince(start)))
        } catch let error as ContractsError {
            return .failure(error)
        } catch {
            return .failure(.storage("\(error)"))
        }
    }()

    /// The shared store, or a skip when this machine has no tracefs or BTF to build from.
    static func store() throws -> Built {
        guard FileManager.default.isReadableFile(atPath: "/sys/kernel/btf/vmlinux") else {
            throw XCTSkip("no kernel BTF at /sys/kernel/btf/vmlinux")
        }
        guard FileManager.default.isReadableFile(atPath: "/sys/kernel/tracing/available_events") else {
            throw XCTSkip("tracefs not mounted at /sys/kernel/tracing (or not readable)")
        }
        return try shared.get()
    }

    /// tracefs files report size 0, so Foundation's whole-file readers stop early; read to EOF.
    static func readPseudoFile(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw XCTSkip("cannot open \(path)") }
        defer { try? handle.close() }
        return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    }

    /// `bpftool btf dump file /sys/kernel/btf/vmlinux format raw`, the independent reference.
    static let rawBTF: String? = {
        for tool in ["/usr/sbin/bpftool", "/usr/bin/bpftool", "/usr/local/sbin/bpftool"]
            where FileManager.default.isExecutableFile(atPath: tool) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return nil }
            return String(decoding: data, as: UTF8.self)
        }
        return nil
    }()

    static let parsedDump: BpftoolDump? = rawBTF.map(BpftoolDump.init)

    static func bpftoolDump() throws -> BpftoolDump {
        guard let dump = parsedDump else { throw XCTSkip("bpftool not found or cannot dump vmlinux BTF") }
        return dump
    }
}

/// A minimal reader of bpftool's raw BTF dump, written for the tests so they check Ken's BTF
/// reading against a second implementation.
struct BpftoolDump {
    struct Entry {
        var id: Int
        var kind: String
        var name: String
        var header: String
        var lines: [String]
    }

    var entries: [Int: Entry] = [:]
    var functionNames: Set<String> = []

    init(_ text: String) {
        var current: Entry?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("[") {
                if let c = current { entries[c.id] = c }
                guard let close = line.firstIndex(of: "]"), let id = Int(line[line.index(after: line.startIndex)..<close]) else {
                    current = nil
                    continue
                }
                let rest = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
                let kind = String(rest.prefix { $0 != " " })
                var name = ""
                if let q1 = rest.firstIndex(of: "'"), let q2 = rest[rest.index(after: q1)...].firstIndex(of: "'") {
                    name = String(rest[rest.index(after: q1)..<q2])
                }
                current = Entry(id: id, kind: kind, name: name, header: String(rest), lines: [])
                if kind == "FUNC" { functionNames.insert(name) }
            } else {
                current?.lines.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        if let c = current { entries[c.id] = c }
    }

    static func attribute(_ key: String, in text: String) -> Int? {
        guard let range = text.range(of: key + "=") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    func first(kind: String, name: String) -> Entry? {
        entries.values.filter { $0.kind == kind && $0.name == name }.min { $0.id < $1.id }
    }
}
