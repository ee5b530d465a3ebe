import BPF
import Foundation
import Glibc

/// Where a native extension's pins live:
///
///     <pinRoot>/<id>/links/<program>          one link per attached probe
///     <pinRoot>/<id>/links/<program>-cpu<N>   profile probes (bpffs refuses dots): one link per CPU
///     <pinRoot>/<id>/maps/<bpf map name>      every map, the ring buffer and the lost counter
///     <pinRoot>/<id>/progs/<program>          END, loaded but not attached, run at stop
///
/// Links and maps apart, so stopping can detach every probe (remove `links/`) first and still
/// read the maps and run END.
struct PinLayout: Sendable {
    let directory: String

    init(pinRoot: String, id: String) throws(NativeRuntimeError) {
        let forbidden = id.isEmpty || id == "." || id == ".." || id.contains("/") || id.contains("\0") || id.utf8.count > 200
        if forbidden { throw .other("invalid extension id \"\(id)\"") }
        // bpffs refuses names with dots (reserved by the kernel): say so rather than EPERM.
        if id.contains(".") { throw .other("invalid extension id \"\(id)\": bpffs names cannot contain \".\"") }
        directory = pinRoot + "/" + id
    }

    var links: String { directory + "/links" }
    var maps: String { directory + "/maps" }
    var programs: String { directory + "/progs" }

    func link(_ name: String) -> String { links + "/" + name }
    func map(_ name: String) -> String { maps + "/" + name }
    func program(_ name: String) -> String { programs + "/" + name }

    var exists: Bool { FileManager.default.fileExists(atPath: directory) }

    func create(pinRoot: String) throws(NativeRuntimeError) {
        for path in [pinRoot, directory, links, maps, programs] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .other("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Removes the link pins: the probes detach (the kernel drops a link with its last reference).
    func removeLinks() {
        for name in Self.names(in: links) { unlink(link(name)) }
    }

    /// Removes the link pins and returns once no probe can run any more, so nothing a probe
    /// does lands after END (which then clears or prints the maps).
    ///
    /// Removing a pin does not detach at once: bpffs drops its reference after an RCU grace
    /// period and the last link reference is put from a work queue, and a run that began
    /// before the detach still finishes. So: note each link's program, remove the pins, wait
    /// (at most `timeout`) until those programs are gone from the kernel — a program is freed
    /// only after its link has detached it — then wait one grace period for runs in flight.
    func detachLinks(timeout: TimeInterval = 2) {
        var programs = Set<UInt32>()
        for name in Self.names(in: links) {
            if let link = try? PinnedLink.open(at: link(name)) { programs.insert(link.info.programID) }
            unlink(link(name))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while !programs.isEmpty, Date() < deadline {
            guard let loaded = try? KernelPrograms.allIDs() else { break }
            programs.formIntersection(loaded)
            if !programs.isEmpty { usleep(2_000) }
        }
        KernelGracePeriod.wait()
    }

    /// Removes every pin and the directories.
    func removeAll() {
        removeLinks()
        for name in Self.names(in: maps) { unlink(map(name)) }
        for name in Self.names(in: programs) { unlink(program(name)) }
        for path in [links, maps, programs, directory] { rmdir(path) }
    }
}
