import BpftraceSyntax
import Foundation
import KernelInfo
import SQLite

/// The per-kernel contracts store: one SQLite file per kernel release
/// (`<stateDir>/contracts-<release>.db`), built from the running kernel on first use and whenever
/// the release changes. A build is written to a temporary file and renamed into place, so a
/// crash mid-build never leaves a half-filled store that looks complete.
public final class ContractStore: Sendable {
    /// Bumped when the stored JSON or schema changes; older files are rebuilt.
    public static let schemaVersion = 2

    public let release: String
    public let path: String
    public let info: ContractStoreInfo
    private let db: SQLiteDatabase

    /// Facts about bpftrace builtins (`pid`, `uid`, …) that hold in every probe.
    public var builtinFacts: [ContractFact] { ContractRules.builtinFacts }

    /// `contracts-<release>.db`, with characters outside `[A-Za-z0-9._-]` replaced by `_`.
    public static func fileName(release: String) -> String {
        let safe = String(release.unicodeScalars.map { scalar -> Character in
            let ok = (scalar.properties.isAlphabetic && scalar.isASCII) || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "-" || scalar == "_"
            return ok ? Character(scalar) : "_"
        })
        return "contracts-\(safe).db"
    }

    /// `uname -r` of the running kernel.
    public static func runningRelease() -> String { KernelInfo.runningRelease() }

    /// Opens the store of `release` (the running kernel by default) in `stateDirectory`,
    /// building it with `kernel()` when the file is missing, from another schema version or for
    /// another release. `kernel` is only called when a build is needed.
    public static func open(stateDirectory: String, release: String = ContractStore.runningRelease(),
                            kernel: () -> KernelInfo = { KernelInfo.load() }) throws(ContractsError) -> ContractStore {
        try ensureDirectory(stateDirectory)
        let path = stateDirectory + "/" + fileName(release: release)
        if FileManager.default.fileExists(atPath: path), let store = try? ContractStore(existing: path, release: release) {
            return store
        }
        let start = ContinuousClock.now
        let info = kernel()
        let set = ContractBuilder.build(from: info)
        guard !set.probes.isEmpty else { throw .nothingToBuild(problems: set.problems) }
        let built = ContinuousClock.now - start
        try write(set, to: path, buildSeconds: seconds(built), release: release)
        do {
            return try ContractStore(existing: path, release: release, rebuilt: true)
        } catch {
            throw .storage("store written but not readable: \(error)")
        }
    }

    private init(existing path: String, release: String, rebuilt: Bool = false) throws(ContractsError) {
        do {
            // Read-only: the store never changes after its build, and several kend/kenc processes
            // may read it at once.
            let db = try SQLiteDatabase(path: path, readOnly: true)
            var meta: [String: String] = [:]
            for row in try db.query("SELECT key, value FROM meta") {
                meta[try row.string("key")] = try row.string("value")
            }
            guard meta["schema"] == String(Self.schemaVersion), meta["release"] == release,
                  meta["complete"] == "1" else {
                throw ContractsError.storage("\(path) is from another release or schema")
            }
            self.db = db
            self.path = path
            self.release = release
            self.info = ContractStoreInfo(
                release: release, path: path,
                tracepoints: Int(meta["tracepoints"] ?? "") ?? 0,
                functions: Int(meta["functions"] ?? "") ?? 0,
                rawTracepoints: Int(meta["rawTracepoints"] ?? "") ?? 0,
                records: Int(meta["records"] ?? "") ?? 0,
                buildSeconds: Double(meta["buildSeconds"] ?? "") ?? 0,
                builtAt: meta["builtAt"] ?? "",
                problems: (meta["problems"] ?? "").split(separator: "\n").map(String.init),
                rebuiltNow: rebuilt)
        } catch let error as ContractsError {
            throw error
        } catch let error as SQLiteError {
            throw ContractsError.wrap(error)
        } catch {
            throw .storage("\(error)")
        }
    }

    // MARK: Queries

    /// The contract of `probe` (`tracepoint:syscalls:sys_enter_openat`, `kfunc:tcp_connect`,
    /// `kprobe:tcp_v4_connect`, …); nil when this kernel has no such probe.
    public func contract(forProbe probe: String) throws(ContractsError) -> ProbeContract? {
        guard let spec = ProbeSpec(probe) else { throw .notAKernelProbe(probe) }
        return try contract(for: spec)
    }

    public func contract(for spec: ProbeSpec) throws(ContractsError) -> ProbeContract? {
        try contract(key: spec.key)
    }

    public func contract(key: String) throws(ContractsError) -> ProbeContract? {
        let rows: [SQLiteRow]
        do {
            rows = try db.query("SELECT contract FROM probes WHERE key = ?", [key])
        } catch {
            throw .wrap(error)
        }
        guard let row = rows.first else { return nil }
        return try decode(ProbeContract.self, row, key: key)
    }

    /// The struct/union named `name` (`struct sock`, `union bpf_attr`), nil when BTF has none.
    public func record(named name: String) throws(ContractsError) -> RecordContract? {
        let rows: [SQLiteRow]
        do {
            rows = try db.query("SELECT contract FROM records WHERE name = ?", [name])
        } catch {
            throw .wrap(error)
        }
        guard let row = rows.first else { return nil }
        return try decode(RecordContract.self, row, key: name)
    }

    /// The records a probe's arguments and return value are, or point to, and the records
    /// embedded in those (one level), for prompts and byte-order checks.
    public func records(reachableFrom contract: ProbeContract) throws(ContractsError) -> [RecordContract] {
        var names: [String] = []
        for value in contract.arguments + [contract.returnValue].compactMap({ $0 }) {
            if let record = value.record, !names.contains(record) { names.append(record) }
        }
        var out: [RecordContract] = []
        var seen = Set<String>()
        for name in names {
            guard seen.insert(name).inserted, let record = try record(named: name) else { continue }
            out.append(record)
            for member in record.members where member.kind == .record {
                if let inner = member.record, seen.insert(inner).inserted, let r = try self.record(named: inner) {
                    out.append(r)
                }
            }
        }
        return out
    }

    /// Probes relevant to a natural-language prompt, best first: BM25 (SQLite FTS5, Porter
    /// stemming) over probe-name words, argument names and argument record names.
    public func search(prompt: String, limit: Int = 10,
                       kinds: Set<ProbeContract.Kind> = Set(ProbeContract.Kind.allCases)) throws(ContractsError) -> [ProbeMatch] {
        let words = ProbeSearchText.queryWords(prompt)
        guard !words.isEmpty, limit > 0 else { return [] }
        let match = words.map { "\"\($0)\"" }.joined(separator: " OR ")
        let kindList = kinds.map { "'\($0.rawValue)'" }.sorted().joined(separator: ",")
        guard !kindList.isEmpty else { return [] }
        let sql = """
            SELECT p.contract AS contract, bm25(probe_search) AS score
            FROM probe_search JOIN probes p ON p.key = probe_search.key
            WHERE probe_search MATCH ? AND p.kind IN (\(kindList))
            ORDER BY score LIMIT ?
            """
        let rows: [SQLiteRow]
        do {
            rows = try db.query(sql, [match, limit])
        } catch {
            throw .wrap(error)
        }
        var out: [ProbeMatch] = []
        for row in rows {
            let contract = try decode(ProbeContract.self, row, key: "search result")
            // FTS5's bm25 is negative, more negative is better; flip it for callers.
            let score = (try? row.double("score")) ?? 0
            out.append(ProbeMatch(contract: contract, score: -score))
        }
        return out
    }

    /// Every stored probe key of `kind`, sorted (for audits and tests).
    public func keys(kind: ProbeContract.Kind) throws(ContractsError) -> [String] {
        do {
            return try db.query("SELECT key FROM probes WHERE kind = ? ORDER BY key", [kind.rawValue])
                .map { (row) throws(SQLiteError) in try row.string("key") }
        } catch {
            throw .wrap(error)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ row: SQLiteRow, key: String) throws(ContractsError) -> T {
        do {
            let text = try row.string("contract")
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw .corrupt(key: key, reason: "\(error)")
        }
    }

    // MARK: Building

    private static func ensureDirectory(_ path: String) throws(ContractsError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .stateDirectory(path: path, reason: "not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .stateDirectory(path: path, reason: error.localizedDescription)
        }
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static let schema = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE probes (key TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, contract TEXT NOT NULL);
        CREATE INDEX probes_by_kind ON probes(kind);
        CREATE TABLE records (name TEXT PRIMARY KEY, contract TEXT NOT NULL);
        CREATE VIRTUAL TABLE probe_search USING fts5(key UNINDEXED, words, tokenize = 'porter unicode61');
        """

    /// Writes `set` to a temporary file next to `path`, then renames it over `path`.
    static func write(_ set: ContractSet, to path: String, buildSeconds: Double, release: String) throws(ContractsError) {
        let temporary = path + ".building-\(getpid())"
        for suffix in ["", "-wal", "-shm"] { unlink(temporary + suffix) }
        let start = ContinuousClock.now
        do {
            let db = try SQLiteDatabase(path: temporary)
            try db.executeScript(schema)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try db.transaction {
                let insertProbe = try db.prepare("INSERT OR REPLACE INTO probes (key, kind, name, contract) VALUES (?, ?, ?, ?)")
                let insertSearch = try db.prepare("INSERT INTO probe_search (key, words) VALUES (?, ?)")
                for probe in set.probes {
                    let json = String(decoding: try encoder.encode(probe), as: UTF8.self)
                    try insertProbe.bind([probe.key, probe.kind.rawValue, probe.name, json])
                    while try insertProbe.step() != nil {}
                    try insertSearch.bind([probe.key, ProbeSearchText.documentWords(probe)])
                    while try insertSearch.step() != nil {}
                }
                let insertRecord = try db.prepare("INSERT OR REPLACE INTO records (name, contract) VALUES (?, ?)")
                for record in set.records {
                    let json = String(decoding: try encoder.encode(record), as: UTF8.self)
                    try insertRecord.bind([record.name, json])
                    while try insertRecord.step() != nil {}
                }
                let count = { (kind: ProbeContract.Kind) in set.probes.filter { $0.kind == kind }.count }
                let total = buildSeconds + seconds(ContinuousClock.now - start)
                let meta: [(String, String)] = [
                    ("schema", String(schemaVersion)), ("release", release),
                    ("tracepoints", String(count(.tracepoint))), ("functions", String(count(.function))),
                    ("rawTracepoints", String(count(.rawTracepoint))), ("records", String(set.records.count)),
                    ("buildSeconds", String(format: "%.3f", total)),
                    ("builtAt", ISO8601DateFormatter().string(from: Date())),
                    ("problems", set.problems.prefix(50).joined(separator: "\n")),
                    ("complete", "1"),
                ]
                for (key, value) in meta {
                    try db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value])
                }
            }
            // A rollback-journal file needs no -wal/-shm companions, so read-only opens work
            // from any process and the file can be moved or deleted as one unit.
            try db.execute("PRAGMA journal_mode=DELETE")
            db.close()
        } catch let error as SQLiteError {
            unlink(temporary)
            throw .wrap(error)
        } catch {
            unlink(temporary)
            throw .storage("cannot write \(temporary): \(error)")
        }
        for suffix in ["-wal", "-shm"] { unlink(path + suffix); unlink(temporary + suffix) }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .storage("cannot move \(temporary) to \(path): \(reason)")
        }
    }
}

/// What the store holds and how it was built.
public struct ContractStoreInfo: Sendable, Hashable, Codable {
    public var release: String
    public var path: String
    public var tracepoints: Int
    public var functions: Int
    public var rawTracepoints: Int
    public var records: Int
    /// Wall-clock seconds of the build: reading the kernel, deriving contracts, writing SQLite.
    public var buildSeconds: Double
    /// ISO 8601 time of the build.
    public var builtAt: String
    public var problems: [String]
    /// True when this `open` built the store (first use or release change).
    public var rebuiltNow: Bool
}

/// One search hit.
public struct ProbeMatch: Sendable, Hashable {
    public var contract: ProbeContract
    /// Higher is more relevant (negated FTS5 bm25).
    public var score: Double
}
