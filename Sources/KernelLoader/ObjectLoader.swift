import BPF
import Foundation
import Glibc

/// A kernel program as `bpftool prog list` describes it (re-exported from the BPF module so
/// callers of KernelLoader need not import BPF).
public typealias KernelProgram = KernelProgramInfo

/// One program of an object extension, attached and pinned.
public struct AttachedProgram: Sendable, Hashable {
    /// The C function name; also the pin's file name.
    public let name: String
    /// The ELF section that decided how it attached (e.g. "tracepoint/syscalls/sys_enter_getpid").
    /// Empty for programs found by `adoptPinned` (the kernel does not keep section names).
    public let sectionName: String
    /// libbpf's program type name ("tracepoint", ...).
    public let typeName: String
    /// The kernel program id.
    public let programID: UInt32
    /// The kernel link id.
    public let linkID: UInt32
    /// Where the link is pinned: `<pin directory>/<name>`.
    public let pinPath: String
}

/// An object extension in the kernel.
public struct LoadedObject: Sendable, Hashable {
    /// The bpffs directory holding the extension's link pins.
    public let pinDirectory: String
    /// Its programs, in ELF order (or pin-name order when adopted).
    public let programs: [AttachedProgram]

    public var programIDs: [UInt32] { programs.map(\.programID) }
    public var linkIDs: [UInt32] { programs.map(\.linkID) }
}

/// What `ObjectLoader.verifyOnly` learned.
public struct ObjectVerification: Sendable, Hashable {
    /// The programs that passed, with the kernel's info while they were loaded.
    public let programs: [KernelProgram]
}

/// Why an object extension could not be loaded, adopted or detached. Each case carries the
/// underlying `BPFError`, whose description includes the verifier log and libbpf's messages.
public enum ObjectLoaderError: Error, Sendable, CustomStringConvertible {
    /// The extension id cannot be a directory name (empty, "/", "..", too long, NUL).
    case invalidExtensionID(String)
    /// The bytes are not a BPF ELF object libbpf can open.
    case invalidObject(BPFError)
    /// The object has no programs.
    case noPrograms
    /// The kernel verifier (or libbpf before it) refused a program: `error.verifierLog`.
    case rejected(BPFError)
    /// A program loaded but could not be attached (missing tracepoint, EPERM for fentry/LSM ...).
    case attachFailed(program: String, BPFError)
    /// Pinning failed (bpffs not mounted, EEXIST, ...).
    case pinFailed(program: String, BPFError)
    /// The extension already has pins: detach it first, or adopt it.
    case alreadyPinned(directory: String)
    /// No pins for this extension (e.g. after a reboot emptied bpffs).
    case notPinned(directory: String)
    /// A pinned file is not a readable link, or unpinning failed.
    case pin(BPFError)
    /// A directory could not be created or removed.
    case directory(path: String, errno: Int32)

    /// The verifier log, if the kernel gave one.
    public var verifierLog: String {
        switch self {
        case .rejected(let error), .invalidObject(let error): return error.verifierLog
        default: return ""
        }
    }

    public var description: String {
        switch self {
        case .invalidExtensionID(let id): return "invalid extension id \"\(id)\""
        case .invalidObject(let error): return "not a loadable BPF object: \(error)"
        case .noPrograms: return "the object contains no BPF programs"
        case .rejected(let error): return "the kernel refused the object: \(error)"
        case .attachFailed(let program, let error): return "cannot attach \(program): \(error)"
        case .pinFailed(let program, let error): return "cannot pin \(program): \(error)"
        case .alreadyPinned(let directory): return "\(directory) already holds pinned links"
        case .notPinned(let directory): return "no pinned links in \(directory)"
        case .pin(let error): return error.description
        case .directory(let path, let errno): return "\(path): \(String(cString: strerror(errno)))"
        }
    }
}

/// Loads compiled eBPF objects (ELF bytes) into the kernel, attaches every program by its
/// section, and keeps them attached by pinning their links in bpffs:
/// `<pinRoot>/<extension-id>/<program name>`.
///
/// Pins make an object extension independent of the agent process: the agent can exit or crash
/// and the programs stay attached; a restarted agent finds them with `adoptPinned`. A reboot
/// empties bpffs, so reconciliation after a reboot finds `notPinned` and calls `loadAndAttach`
/// again with the stored object.
public struct ObjectLoader: Sendable {
    /// Where pins live unless configured otherwise.
    public static let defaultPinRoot = "/sys/fs/bpf/ken"

    /// The bpffs directory under which each extension gets its own directory.
    public let pinRoot: String

    public init(pinRoot: String = ObjectLoader.defaultPinRoot) {
        self.pinRoot = pinRoot
    }

    /// The pin directory of an extension.
    public func pinDirectory(for extensionID: String) throws -> String {
        let forbidden = extensionID.isEmpty || extensionID == "." || extensionID == ".."
            || extensionID.contains("/") || extensionID.contains("\0") || extensionID.utf8.count > 200
        if forbidden { throw ObjectLoaderError.invalidExtensionID(extensionID) }
        return pinRoot + "/" + extensionID
    }

    /// Loads `elf` through the verifier, attaches every program, pins every link under the
    /// extension's pin directory, and lets go of the object: the pins keep it in the kernel.
    /// All or nothing: if any step fails, what was pinned is removed again.
    ///
    /// - Throws: `ObjectLoaderError` (`.rejected` carries the verifier log).
    public func loadAndAttach(elf: [UInt8], extensionID: String) throws -> LoadedObject {
        let directory = try pinDirectory(for: extensionID)
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw ObjectLoaderError.alreadyPinned(directory: directory)
        }
        let object = try open(elf: elf, name: extensionID)
        let programs = object.programs
        guard !programs.isEmpty else { throw ObjectLoaderError.noPrograms }
        do { try object.load() } catch let error as BPFError { throw ObjectLoaderError.rejected(error) }

        try makeDirectory(directory)
        var attached: [AttachedProgram] = []
        var links: [BPFLink] = []
        do {
            for program in programs {
                let link: BPFLink
                do { link = try object.attach(programNamed: program.name) } catch let error as BPFError {
                    throw ObjectLoaderError.attachFailed(program: program.name, error)
                }
                links.append(link)
                let path = directory + "/" + program.name
                do { try link.pin(at: path) } catch let error as BPFError {
                    throw ObjectLoaderError.pinFailed(program: program.name, error)
                }
                let info: LinkInfo
                do { info = try link.info() } catch let error as BPFError { throw ObjectLoaderError.pin(error) }
                attached.append(AttachedProgram(name: program.name, sectionName: program.sectionName,
                                                typeName: program.typeName, programID: info.programID,
                                                linkID: info.id, pinPath: path))
            }
        } catch {
            for program in attached { try? PinnedLink.unpin(at: program.pinPath) }
            if let last = links.last, attached.count < links.count {
                // The link whose pin failed was never recorded; its pin (if any) goes too.
                try? PinnedLink.unpin(at: directory + "/" + last.programName)
            }
            _ = rmdir(directory)
            throw error
        }
        return LoadedObject(pinDirectory: directory, programs: attached)
    }

    /// Loads `elf` through the verifier and unloads it again without attaching anything.
    ///
    /// - Throws: `ObjectLoaderError.rejected` with the verifier log, `.invalidObject`,
    ///   `.noPrograms`.
    public func verifyOnly(elf: [UInt8], name: String = "ken_verify") throws -> ObjectVerification {
        let object = try open(elf: elf, name: name)
        let programs = object.programs
        guard !programs.isEmpty else { throw ObjectLoaderError.noPrograms }
        do { try object.load() } catch let error as BPFError { throw ObjectLoaderError.rejected(error) }
        let infos = programs.compactMap { try? object.programInfo(named: $0.name) }
        return ObjectVerification(programs: infos)
        // `object` is released here: its programs leave the kernel.
    }

    /// Reads an extension's pins back after an agent restart: which links and programs it still
    /// has in the kernel.
    ///
    /// - Throws: `.notPinned` if the directory is missing or empty (e.g. after a reboot), `.pin`
    ///   if a pinned file is not a link.
    public func adoptPinned(extensionID: String) throws -> LoadedObject {
        let directory = try pinDirectory(for: extensionID)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        guard !names.isEmpty else { throw ObjectLoaderError.notPinned(directory: directory) }
        var programs: [AttachedProgram] = []
        for name in names {
            let path = directory + "/" + name
            let pinned: PinnedLink
            do { pinned = try PinnedLink.open(at: path) } catch let error as BPFError {
                throw ObjectLoaderError.pin(error)
            }
            let typeName = (try? KernelPrograms.info(id: pinned.info.programID).typeName) ?? ""
            programs.append(AttachedProgram(name: name, sectionName: "", typeName: typeName,
                                            programID: pinned.info.programID,
                                            linkID: pinned.info.id, pinPath: path))
        }
        return LoadedObject(pinDirectory: directory, programs: programs)
    }

    /// Detaches an extension: removes every pin and the directory. With their last reference gone
    /// the kernel destroys the links and unloads the programs (asynchronously, within
    /// milliseconds). Detaching an extension with no pins is not an error.
    public func detach(extensionID: String) throws {
        let directory = try pinDirectory(for: extensionID)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names {
            do { try PinnedLink.unpin(at: directory + "/" + name) } catch let error as BPFError {
                if error.errno != ENOENT { throw ObjectLoaderError.pin(error) }
            }
        }
        if rmdir(directory) != 0 && errno != ENOENT {
            throw ObjectLoaderError.directory(path: directory, errno: errno)
        }
    }

    /// The names of the programs in `elf` (which are also their pin names), read by opening the
    /// object without loading anything into the kernel. Reconciliation compares them with the
    /// pins an attach left behind.
    public static func programNames(elf: [UInt8]) throws -> [String] {
        try ObjectLoader().open(elf: elf, name: "ken_inspect").programs.map(\.name)
    }

    private func open(elf: [UInt8], name: String) throws -> BPFObject {
        do { return try BPFObject(elf: elf, name: name) } catch let error as BPFError {
            throw ObjectLoaderError.invalidObject(error)
        }
    }

    private func makeDirectory(_ path: String) throws {
        for directory in [pinRoot, path] {
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw ObjectLoaderError.directory(path: directory, errno: errno)
            }
        }
    }
}
