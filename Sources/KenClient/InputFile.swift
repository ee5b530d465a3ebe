import Foundation

/// Reading the files kenc is given (scripts, objects, manifests), so every subcommand reports
/// a missing file, a directory, an unreadable or a binary file the same way:
/// `cannot read FILE: reason`, exit status 2 — never raw bytes, never a Foundation error code.
public enum InputFile {
    /// Files larger than this are refused: no program or manifest is anywhere near it, and
    /// reading a disk image by mistake should not exhaust memory.
    public static let sizeLimit = 64 << 20

    /// The bytes of `path`. With `allowBinary` false, a file that is not UTF-8 text (NUL bytes
    /// or invalid UTF-8) is refused too.
    public static func read(_ path: String, allowBinary: Bool = false) throws(ClientError) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path, reason(errno: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(path, reason(errno: errno)) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw failure(path, "is a directory") }
        if info.st_size > sizeLimit { throw failure(path, "larger than \(sizeLimit >> 20) MiB") }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, reason(errno: errno))
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
            if data.count > sizeLimit { throw failure(path, "larger than \(sizeLimit >> 20) MiB") }
        }
        if !allowBinary { _ = try text(data, path: path) }
        return data
    }

    /// The text of `path` (UTF-8, no NUL bytes).
    public static func readText(_ path: String, hint: String = "") throws(ClientError) -> String {
        try text(try read(path, allowBinary: true), path: path, hint: hint)
    }

    /// `data` as text, or the same error as an unreadable file.
    public static func text(_ data: Data, path: String, hint: String = "") throws(ClientError) -> String {
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            throw failure(path, "not a text file (binary data)", hint: hint)
        }
        return text
    }

    static func failure(_ path: String, _ reason: String, hint: String = "") -> ClientError {
        ClientError(.usage, "cannot read \(path): \(reason)", hint: hint)
    }

    /// The reason for an errno, as a person reads it (strerror, lower-cased first letter).
    static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file or directory"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "is a directory"
        case ENOTDIR: return "a component of the path is not a directory"
        default:
            let text = String(cString: strerror(code))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
    }
}
