import Foundation
import XCTest
@testable import KernelInfo

/// Loads the running kernel's info once for all tests, or skips when the machine has no
/// tracefs/BTF (containers, old kernels).
enum KernelFixtures {
    static let info: KernelInfo = KernelInfo.load()

    static func requireBTF() throws -> KernelBTF {
        guard let btf = info.btf else { throw XCTSkip("kernel BTF unavailable: \(info.problems)") }
        return btf
    }

    static func requireTracefs() throws -> Tracefs {
        guard let tracefs = info.tracefs else { throw XCTSkip("tracefs unavailable: \(info.problems)") }
        return tracefs
    }

    /// Runs a program and returns its stdout, or skips the test when it is missing.
    static func run(_ path: String, _ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("\(path) not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("\(path) failed with \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
