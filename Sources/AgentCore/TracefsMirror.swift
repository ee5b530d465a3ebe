import Foundation

/// Publishes what unprivileged programs need of tracefs — the list of events and each event's
/// `format` — into a world-readable directory laid out like tracefs itself.
///
/// tracefs is mounted root-only (mode 0700), but kend runs as the user `ken` and `kenc check`
/// as anyone; both resolve tracepoints and their fields. The agent is root already, so it copies
/// these read-only facts at start (`/run/ken/tracing` by default) and `Tracefs.defaultRoots`
/// falls back to that directory. Nothing else of tracefs (no control files) is copied.
public enum TracefsMirror {
    public struct Published: Sendable {
        public var events: Int
        public var seconds: Double
    }

    /// Copies `available_events`, every `events/<category>/<name>/format`,
    /// `available_filter_functions` and a `kprobe_events` marker from the first readable root into
    /// `destination`, replacing what was there in one rename.
    public static func publish(from roots: [String] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"],
                               to destination: String) throws -> Published {
        let started = Date()
        let manager = FileManager.default
        guard let root = roots.first(where: { manager.isReadableFile(atPath: $0 + "/available_events") }) else {
            throw MirrorError("no readable tracefs among \(roots.joined(separator: ", ")) (mount -t tracefs nodev /sys/kernel/tracing)")
        }
        guard let eventData = readAll(root + "/available_events") else {
            throw MirrorError("cannot read \(root)/available_events")
        }
        let events = String(decoding: eventData, as: UTF8.self)
        let parent = (destination as NSString).deletingLastPathComponent
        try manager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = destination + ".new-\(getpid())"
        try? manager.removeItem(atPath: staging)
        let open: [FileAttributeKey: Any] = [.posixPermissions: 0o755]
        try manager.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: open)
        var copied = 0
        for line in events.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].contains("/"), !parts[1].contains("/"), !parts[0].hasPrefix("."),
                  let format = readAll("\(root)/events/\(parts[0])/\(parts[1])/format") else { continue }
            let directory = "\(staging)/events/\(parts[0])/\(parts[1])"
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: open)
            try write(format, to: directory + "/format")
            copied += 1
        }
        try write(Data(events.utf8), to: staging + "/available_events")
        if let functions = readAll(root + "/available_filter_functions") {
            try write(functions, to: staging + "/available_filter_functions")
        }
        if manager.fileExists(atPath: root + "/kprobe_events") {
            try write(Data(), to: staging + "/kprobe_events")
        }
        let old = destination + ".old-\(getpid())"
        if manager.fileExists(atPath: destination) { try manager.moveItem(atPath: destination, toPath: old) }
        try manager.moveItem(atPath: staging, toPath: destination)
        try? manager.removeItem(atPath: old)
        return Published(events: copied, seconds: Date().timeIntervalSince(started))
    }

    /// Reads a tracefs file to its end. tracefs files report size 0 and are produced in pages,
    /// so a read must loop until end of file rather than trust the size.
    static func readAll(_ path: String) -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var data = Data()
        while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            data.append(chunk)
        }
        return data
    }

    static func write(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o644]) else {
            throw MirrorError("cannot write \(path)")
        }
    }

    struct MirrorError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
