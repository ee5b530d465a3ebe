import Foundation
import KenProto
import NativeABI
import SQLite

/// The durable record of every extension: one SQLite database, `<state-dir>/registry.db`.
///
/// Every mutating call commits (WAL, `synchronous=FULL`) before it returns, so the agent answers a
/// client only about state that survives `kill -9`. Reads never return object bytes unless asked
/// (`get`), so listing thousands of extensions stays cheap.
public final class Registry: Sendable {
    /// The schema version this code writes. Bump it and append to `migrations` to change the schema.
    public static let schemaVersion = 4
    public static let defaultStateDirectory = "/var/lib/ken"
    public static let fileName = "registry.db"

    /// migrations[i] upgrades a database at user_version i to i+1.
    static let migrations: [String] = [
        """
        CREATE TABLE extensions (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            owner_uid INTEGER NOT NULL,
            kind TEXT NOT NULL,
            program_text TEXT NOT NULL DEFAULT '',
            object BLOB,
            object_sha256 TEXT NOT NULL DEFAULT '',
            prompt TEXT NOT NULL DEFAULT '',
            annotated_program TEXT NOT NULL DEFAULT '',
            prog_ids TEXT NOT NULL DEFAULT '',
            link_ids TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL DEFAULT 0,
            probes TEXT NOT NULL DEFAULT '',
            pin_dir TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            restart_policy TEXT NOT NULL DEFAULT 'no',
            restarts INTEGER NOT NULL DEFAULT 0,
            created_unix_ms INTEGER NOT NULL,
            changed_unix_ms INTEGER NOT NULL,
            last_error TEXT NOT NULL DEFAULT ''
        );
        CREATE UNIQUE INDEX extensions_live_name ON extensions(name) WHERE state != 'detached';
        CREATE INDEX extensions_state ON extensions(state);
        """,
        // 1 → 2: the digest of the fleet manifest that declared an extension (kenc apply).
        """
        ALTER TABLE extensions ADD COLUMN manifest_digest TEXT NOT NULL DEFAULT '';
        """,
        // 2 → 3: what was established before attach: proven or checked, the proven asserts
        // (JSON) and why nothing was proven. Older rows keep '' (no verdict recorded).
        """
        ALTER TABLE extensions ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
        ALTER TABLE extensions ADD COLUMN proven_asserts TEXT NOT NULL DEFAULT '';
        ALTER TABLE extensions ADD COLUMN unproven_reason TEXT NOT NULL DEFAULT '';
        """,
        // 3 → 4: the backend that runs a script (native or bpftrace, and why not native), and
        // the native artifact: generated C, compiled object, plan (JSON) and the kernel release
        // it was built for. Older scripts keep '' (they ran on bpftrace).
        """
        ALTER TABLE extensions ADD COLUMN backend TEXT NOT NULL DEFAULT '';
        ALTER TABLE extensions ADD COLUMN backend_reason TEXT NOT NULL DEFAULT '';
        ALTER TABLE extensions ADD COLUMN native_c_source TEXT NOT NULL DEFAULT '';
        ALTER TABLE extensions ADD COLUMN native_object BLOB;
        ALTER TABLE extensions ADD COLUMN native_plan TEXT NOT NULL DEFAULT '';
        ALTER TABLE extensions ADD COLUMN native_kernel_release TEXT NOT NULL DEFAULT '';
        """,
    ]

    /// The migration scripts, for tests that build a database of an older schema.
    public static var migrationsForTests: [String] { migrations }

    /// Columns read for listings: everything but the object bytes.
    static let summaryColumns = """
        id, name, owner_uid, kind, program_text, object_sha256, prompt, annotated_program, prog_ids, \
        link_ids, pid, probes, pin_dir, state, restart_policy, restarts, created_unix_ms, changed_unix_ms, last_error, \
        manifest_digest, verdict, proven_asserts, unproven_reason, backend, backend_reason
        """

    private let db: SQLiteDatabase
    public var path: String { db.path }

    /// Opens the registry in `stateDirectory` (created with mode 0700 if missing).
    public convenience init(stateDirectory: String = Registry.defaultStateDirectory) throws(RegistryError) {
        do {
            try FileManager.default.createDirectory(
                atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot create state directory \(stateDirectory): \(error.localizedDescription)")
        }
        try self.init(path: (stateDirectory as NSString).appendingPathComponent(Registry.fileName))
    }

    /// Opens (creating and migrating) the registry database at `path`.
    public init(path: String) throws(RegistryError) {
        do {
            db = try SQLiteDatabase(path: path)
        } catch {
            throw .database(error)
        }
        try migrate()
    }

    private func migrate() throws(RegistryError) {
        do {
            let found = try db.userVersion()
            guard found <= Registry.schemaVersion else {
                throw RegistryError.schemaTooNew(found: found, supported: Registry.schemaVersion)
            }
            for version in found..<Registry.schemaVersion {
                try db.transaction {
                    try db.executeScript(Registry.migrations[version])
                    try db.setUserVersion(version + 1)
                }
            }
        } catch let error as RegistryError {
            throw error
        } catch let error as SQLiteError {
            throw .database(error)
        } catch {
            throw .io("\(error)")
        }
    }

    /// Closes the database. Used by tests to simulate a restart.
    public func close() { db.close() }

    // MARK: - Identity

    /// Milliseconds since the epoch, the unit every timestamp in the registry uses.
    public static func nowUnixMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// A fresh 12-hex-digit id from the system's CSPRNG.
    public static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<6).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// A random id not used by any record.
    public func newID() throws(RegistryError) -> String {
        for _ in 0..<16 {
            let id = Registry.randomID()
            if try !exists(id: id) { return id }
        }
        throw .io("could not find an unused extension id")
    }

    // MARK: - Writes (each committed before returning)

    /// Adds a new record. Fails with `nameInUse` if a live extension has the same name.
    public func insert(_ record: ExtensionRecord) throws(RegistryError) {
        do {
            try db.execute("""
                INSERT INTO extensions (id, name, owner_uid, kind, program_text, object, object_sha256, prompt,
                  annotated_program, prog_ids, link_ids, pid, probes, pin_dir, state, restart_policy, restarts,
                  created_unix_ms, changed_unix_ms, last_error, manifest_digest, verdict, proven_asserts,
                  unproven_reason, backend, backend_reason)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """, [
                    record.id, record.name, Int64(record.ownerUID), record.kind.rawValue, record.programText,
                    record.object.isEmpty ? SQLiteValue.null : .blob(record.object), record.objectSHA256,
                    record.prompt, record.annotatedProgram, Registry.encode(record.progIDs),
                    Registry.encode(record.linkIDs), Int64(record.pid), Registry.encode(record.probes),
                    record.pinDir, record.state.rawValue, record.restartPolicy.rawValue, Int64(record.restarts),
                    record.createdUnixMs, record.changedUnixMs, record.lastError, record.manifestDigest,
                    record.verdict.rawValue, Registry.encode(record.provenAsserts), record.unprovenReason,
                    record.backend.rawValue, record.backendReason,
                ])
        } catch {
            if error.isConstraintViolation {
                if (try? exists(id: record.id)) == true { throw .idInUse(record.id) }
                throw .nameInUse(record.name)
            }
            throw .database(error)
        }
    }

    /// Replaces every mutable field of the record with the same id, stamping `changedUnixMs`.
    /// The object bytes are kept as stored (they never change after insert).
    @discardableResult
    public func update(_ record: ExtensionRecord) throws(RegistryError) -> ExtensionRecord {
        var record = record
        record.changedUnixMs = Registry.nowUnixMs()
        do {
            try db.execute("""
                UPDATE extensions SET name=?, owner_uid=?, program_text=?, prompt=?, annotated_program=?,
                  prog_ids=?, link_ids=?, pid=?, probes=?, pin_dir=?, state=?, restart_policy=?, restarts=?,
                  changed_unix_ms=?, last_error=?, backend=?, backend_reason=?
                WHERE id=?
                """, [
                    record.name, Int64(record.ownerUID), record.programText, record.prompt, record.annotatedProgram,
                    Registry.encode(record.progIDs), Registry.encode(record.linkIDs), Int64(record.pid),
                    Registry.encode(record.probes), record.pinDir, record.state.rawValue,
                    record.restartPolicy.rawValue, Int64(record.restarts), record.changedUnixMs, record.lastError,
                    record.backend.rawValue, record.backendReason, record.id,
                ])
        } catch {
            if error.isConstraintViolation { throw .nameInUse(record.name) }
            throw .database(error)
        }
        guard db.changes == 1 else { throw .notFound(record.id) }
        return record
    }

    /// Reads, changes and writes back one record in a single transaction.
    @discardableResult
    public func modify(id: String, _ change: (inout ExtensionRecord) -> Void) throws(RegistryError) -> ExtensionRecord {
        do {
            return try db.transaction { () throws -> ExtensionRecord in
                guard var record = try self.get(id: id, withObject: false) else { throw RegistryError.notFound(id) }
                change(&record)
                return try self.update(record)
            }
        } catch let error as RegistryError {
            throw error
        } catch let error as SQLiteError {
            throw .database(error)
        } catch {
            throw .io("\(error)")
        }
    }

    /// Stores the native artifact of a script extension (replacing any earlier one: a reboot
    /// into another kernel release regenerates it). Committed before returning.
    public func setNativeArtifact(id: String, _ artifact: NativeArtifact) throws(RegistryError) {
        let plan: String
        do {
            plan = String(decoding: try JSONEncoder().encode(artifact.plan), as: UTF8.self)
        } catch {
            throw .io("cannot encode the native plan: \(error)")
        }
        do {
            try db.execute("""
                UPDATE extensions SET native_c_source=?, native_object=?, native_plan=?, native_kernel_release=?
                WHERE id=?
                """, [artifact.cSource, artifact.object.isEmpty ? SQLiteValue.null : .blob(artifact.object), plan,
                      artifact.kernelRelease, id])
        } catch { throw .database(error) }
        guard db.changes == 1 else { throw .notFound(id) }
    }

    /// The native artifact stored for `id`, or nil when none was (a bpftrace or object
    /// extension). A plan that cannot be decoded is a corrupt row.
    public func nativeArtifact(id: String) throws(RegistryError) -> NativeArtifact? {
        let rows: [SQLiteRow]
        do {
            rows = try db.query("SELECT native_c_source, native_object, native_plan, native_kernel_release FROM extensions WHERE id=?", [id])
        } catch { throw .database(error) }
        guard let row = rows.first else { return nil }
        do {
            let planText = try row.string("native_plan")
            guard !planText.isEmpty else { return nil }
            let plan = try JSONDecoder().decode(NativePlan.self, from: Data(planText.utf8))
            return NativeArtifact(cSource: try row.string("native_c_source"), object: try row.bytes("native_object"),
                                  plan: plan, kernelRelease: try row.string("native_kernel_release"))
        } catch let error as SQLiteError {
            throw .database(error)
        } catch {
            throw .corruptRow(id: id, reason: "native plan: \(error)")
        }
    }

    /// Removes detached records older than `olderThanUnixMs` (housekeeping). Returns how many.
    @discardableResult
    public func purgeDetached(olderThanUnixMs: Int64) throws(RegistryError) -> Int {
        do {
            try db.execute("DELETE FROM extensions WHERE state='detached' AND changed_unix_ms < ?", [olderThanUnixMs])
            return db.changes
        } catch { throw .database(error) }
    }

    // MARK: - Reads

    public func exists(id: String) throws(RegistryError) -> Bool {
        do { return try !db.query("SELECT 1 FROM extensions WHERE id=?", [id]).isEmpty } catch { throw .database(error) }
    }

    /// The record with this id (object bytes included unless `withObject` is false).
    public func get(id: String, withObject: Bool = true) throws(RegistryError) -> ExtensionRecord? {
        let columns = withObject ? Registry.summaryColumns + ", object" : Registry.summaryColumns
        let rows: [SQLiteRow]
        do { rows = try db.query("SELECT \(columns) FROM extensions WHERE id=?", [id]) } catch { throw .database(error) }
        return try rows.first.map(Registry.decode)
    }

    /// The live (not detached) record with this name; if none, the most recent detached one.
    public func get(name: String, withObject: Bool = true) throws(RegistryError) -> ExtensionRecord? {
        let rows: [SQLiteRow]
        do {
            rows = try db.query("""
                SELECT id FROM extensions WHERE name=?
                ORDER BY (state='detached'), changed_unix_ms DESC LIMIT 1
                """, [name])
        } catch { throw .database(error) }
        guard let row = rows.first else { return nil }
        let id: String
        do { id = try row.string("id") } catch { throw .database(error) }
        return try get(id: id, withObject: withObject)
    }

    /// All records, oldest first, without object bytes. Detached ones only when asked.
    public func list(includeDetached: Bool = false, states: Set<ExtensionState>? = nil) throws(RegistryError) -> [ExtensionRecord] {
        let rows: [SQLiteRow]
        do {
            let filter = includeDetached ? "" : "WHERE state != 'detached'"
            rows = try db.query("SELECT \(Registry.summaryColumns) FROM extensions \(filter) ORDER BY created_unix_ms, id")
        } catch { throw .database(error) }
        var records: [ExtensionRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            let record = try Registry.decode(row)
            if let states, !states.contains(record.state) { continue }
            records.append(record)
        }
        return records
    }

    /// Number of records in each state.
    public func counts() throws(RegistryError) -> [ExtensionState: Int] {
        var result: [ExtensionState: Int] = [:]
        do {
            for row in try db.query("SELECT state, COUNT(*) AS n FROM extensions GROUP BY state") {
                if let state = ExtensionState(rawValue: try row.string("state")) {
                    result[state] = Int(try row.int64("n"))
                }
            }
        } catch { throw .database(error) }
        return result
    }

    /// Live extensions owned by `uid` (for per-user limits).
    public func liveCount(ownerUID: UInt32? = nil) throws(RegistryError) -> Int {
        do {
            if let ownerUID {
                return Int(try db.query("SELECT COUNT(*) AS n FROM extensions WHERE state != 'detached' AND state != 'failed' AND owner_uid=?",
                                        [Int64(ownerUID)]).first?.int64("n") ?? 0)
            }
            return Int(try db.query("SELECT COUNT(*) AS n FROM extensions WHERE state != 'detached' AND state != 'failed'")
                .first?.int64("n") ?? 0)
        } catch { throw .database(error) }
    }

    // MARK: - Row encoding

    static func encode(_ ids: [UInt32]) -> String { ids.map(String.init).joined(separator: ",") }
    static func encode(_ strings: [String]) -> String {
        // Probe names never contain newlines; a newline separator keeps commas in probes intact.
        strings.joined(separator: "\n")
    }

    /// Proven asserts as a JSON array ('' when there are none).
    static func encode(_ claims: [ProvenClaim]) -> String {
        guard !claims.isEmpty, let data = try? JSONEncoder().encode(claims) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeClaims(_ text: String) -> [ProvenClaim] {
        guard !text.isEmpty else { return [] }
        return (try? JSONDecoder().decode([ProvenClaim].self, from: Data(text.utf8))) ?? []
    }

    static func decode(_ row: SQLiteRow) throws(RegistryError) -> ExtensionRecord {
        let id = (try? row.string("id")) ?? "?"
        do {
            guard let kind = ExtensionKind(rawValue: try row.string("kind")) else {
                throw RegistryError.corruptRow(id: id, reason: "unknown kind \(try row.string("kind"))")
            }
            guard let state = ExtensionState(rawValue: try row.string("state")) else {
                throw RegistryError.corruptRow(id: id, reason: "unknown state \(try row.string("state"))")
            }
            let policy = RestartPolicy(rawValue: try row.string("restart_policy")) ?? .no
            func ids(_ column: String) throws -> [UInt32] {
                try row.string(column).split(separator: ",").map { part in
                    guard let value = UInt32(part) else {
                        throw RegistryError.corruptRow(id: id, reason: "\(column) holds \(part)")
                    }
                    return value
                }
            }
            let probesText = try row.string("probes")
            return ExtensionRecord(
                id: id, name: try row.string("name"), ownerUID: UInt32(truncatingIfNeeded: try row.int64("owner_uid")),
                kind: kind, programText: try row.string("program_text"),
                object: row.columns.contains("object") ? try row.bytes("object") : [],
                objectSHA256: try row.string("object_sha256"), prompt: try row.string("prompt"),
                annotatedProgram: try row.string("annotated_program"), progIDs: try ids("prog_ids"),
                linkIDs: try ids("link_ids"), pid: Int32(truncatingIfNeeded: try row.int64("pid")),
                probes: probesText.isEmpty ? [] : probesText.split(separator: "\n").map(String.init),
                pinDir: try row.string("pin_dir"), state: state, restartPolicy: policy,
                restarts: UInt32(truncatingIfNeeded: try row.int64("restarts")),
                createdUnixMs: try row.int64("created_unix_ms"), changedUnixMs: try row.int64("changed_unix_ms"),
                lastError: try row.string("last_error"),
                manifestDigest: row.columns.contains("manifest_digest") ? try row.string("manifest_digest") : "",
                verdict: row.columns.contains("verdict") ? ProofVerdict(rawValue: try row.string("verdict")) ?? .none : .none,
                provenAsserts: row.columns.contains("proven_asserts") ? Registry.decodeClaims(try row.string("proven_asserts")) : [],
                unprovenReason: row.columns.contains("unproven_reason") ? try row.string("unproven_reason") : "",
                backend: row.columns.contains("backend") ? ExtensionBackend(rawValue: try row.string("backend")) ?? .none : .none,
                backendReason: row.columns.contains("backend_reason") ? try row.string("backend_reason") : "")
        } catch let error as RegistryError {
            throw error
        } catch let error as SQLiteError {
            throw .database(error)
        } catch {
            throw .corruptRow(id: id, reason: "\(error)")
        }
    }
}
