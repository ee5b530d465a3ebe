import Digest
import Foundation
import KenProto
import TOML

/// One declared extension: what a fleet's configuration management writes into
/// `/etc/ken/extensions.d/NAME.toml`.
///
/// ```toml
/// name = "cat-opens"
/// prompt = "print every file opened by cat"
/// # optional: a pinned program, checked (and its own asserts proven) on each host without an LLM
/// program_file = "cat-opens.bt"          # or inline: program = ''' … ''' (literal: no escapes)
/// program_sha256 = "9f…"                 # optional pin of the program's bytes
/// max_attempts = 3
/// on_failure = "keep"                    # keep the running version | "detach" it
/// require_proof = false                  # true: attach only a PROVEN program, never a CHECKED one
/// ```
public struct Manifest: Sendable, Equatable {
    public enum OnFailure: String, Sendable, Equatable, CaseIterable {
        /// A failed update leaves the previous version attached.
        case keep
        /// A failed update detaches the previous version too.
        case detach
    }

    public var name: String
    public var prompt: String
    /// The pinned program text (from `program` or `program_file`), if any.
    public var program: String?
    public var programSHA256: String?
    public var maxAttempts: Int
    public var onFailure: OnFailure
    /// The file it was read from.
    public var sourcePath: String
    /// Attach only a program that is proven; a merely checked one is refused with the reason.
    public var requireProof: Bool

    public init(name: String, prompt: String, program: String? = nil, programSHA256: String? = nil,
                maxAttempts: Int = 3, onFailure: OnFailure = .keep, sourcePath: String = "", requireProof: Bool = false) {
        self.requireProof = requireProof
        self.name = name
        self.prompt = prompt
        self.program = program
        self.programSHA256 = programSHA256
        self.maxAttempts = maxAttempts
        self.onFailure = onFailure
        self.sourcePath = sourcePath
    }

    /// What identifies this declaration: a change of prompt, program or attempts is a change;
    /// moving the file is not.
    public var digest: String {
        let normalisedPrompt = prompt.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        // require_proof joins the digest only when set, so manifests written before it keep theirs.
        return SHA256.hex(([name, normalisedPrompt, program ?? "", String(maxAttempts), onFailure.rawValue]
            + (requireProof ? ["require_proof"] : [])).joined(separator: "\u{0}"))
    }

    /// On the wire (kenc → kend).
    public var proto: Ken_V1_Manifest {
        Ken_V1_Manifest.with {
            $0.name = name
            $0.prompt = prompt
            $0.program = program ?? ""
            $0.programSha256 = programSHA256 ?? ""
            $0.maxAttempts = UInt32(clamping: maxAttempts)
            $0.onFailure = onFailure.rawValue
            $0.sourcePath = sourcePath
            $0.requireProof = requireProof
        }
    }

    /// From the wire, validated as if it had been read from a file.
    public init(proto: Ken_V1_Manifest) throws(ManifestError) {
        guard let onFailure = proto.onFailure.isEmpty ? .keep : OnFailure(rawValue: proto.onFailure) else {
            throw .invalid(path: proto.sourcePath, message: "on_failure must be \"keep\" or \"detach\"")
        }
        self.init(name: proto.name, prompt: proto.prompt, program: proto.program.isEmpty ? nil : proto.program,
                  programSHA256: proto.programSha256.isEmpty ? nil : proto.programSha256,
                  maxAttempts: proto.maxAttempts == 0 ? 3 : Int(proto.maxAttempts), onFailure: onFailure,
                  sourcePath: proto.sourcePath, requireProof: proto.requireProof)
        try validate()
    }

    /// The checks every manifest passes, wherever it came from.
    public func validate() throws(ManifestError) {
        guard Manifest.isValidName(name) else {
            throw .invalid(path: sourcePath, message: "name \"\(name.prefix(80))\" must be 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit")
        }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalid(path: sourcePath, message: "prompt is empty: say what the extension should do")
        }
        guard prompt.utf8.count <= 16 * 1024 else {
            throw .invalid(path: sourcePath, message: "prompt is longer than 16 KiB")
        }
        guard (1...20).contains(maxAttempts) else {
            throw .invalid(path: sourcePath, message: "max_attempts must be between 1 and 20")
        }
        if let program {
            guard program.utf8.count <= 1 << 20 else {
                throw .invalid(path: sourcePath, message: "program is larger than 1 MiB")
            }
            if let pin = programSHA256 {
                let actual = SHA256.hex(program)
                guard pin.lowercased() == actual else {
                    throw .invalid(path: sourcePath, message: "program_sha256 does not match the program (its sha256 is \(actual))")
                }
            }
        } else if programSHA256 != nil {
            throw .invalid(path: sourcePath, message: "program_sha256 pins a program, but no program or program_file is given")
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 64,
              CharacterSet.alphanumerics.contains(first), first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
    }
}

/// Why manifests could not be read; every message names the file.
public enum ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case syntax(path: String, line: Int, message: String)
    case invalid(path: String, message: String)
    case duplicateName(String, first: String, second: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read: \(reason)"
        case let .syntax(path, line, message): "\(path):\(line): \(message)"
        case let .invalid(path, message): "\(path): \(message)"
        case let .duplicateName(name, first, second): "\(second): extension \"\(name)\" is already declared in \(first)"
        }
    }
}
