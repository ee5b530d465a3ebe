import Foundation
import LLM
import XCTest

final class ConfigurationTests: XCTestCase {
    func testUnsetURLMeansNotConfigured() throws {
        XCTAssertNil(try LLMConfiguration.fromEnvironment([:]))
    }

    func testEnvironmentIsRead() throws {
        let config = try XCTUnwrap(try LLMConfiguration.fromEnvironment([
            "KEN_LLM_URL": "http://127.0.0.1:8080/v1/", "KEN_LLM_MODEL": "llama",
            "KEN_LLM_API_KEY_FILE": "/etc/ken/key", "KEN_LLM_TEMPERATURE": "0.5",
        ]))
        XCTAssertEqual(config.model, "llama")
        XCTAssertEqual(config.apiKey, .file("/etc/ken/key"))
        XCTAssertEqual(config.temperature, 0.5)
    }

    func testURLWithoutModelIsAnError() {
        XCTAssertThrowsError(try LLMConfiguration.fromEnvironment(["KEN_LLM_URL": "http://x/v1"])) { error in
            XCTAssertTrue("\(error)".contains("KEN_LLM_MODEL"))
        }
    }

    func testBadNumbersAreErrors() {
        XCTAssertThrowsError(try LLMConfiguration.fromEnvironment([
            "KEN_LLM_URL": "http://x/v1", "KEN_LLM_MODEL": "m", "KEN_LLM_MAX_TOKENS": "lots",
        ]))
        XCTAssertThrowsError(try LLMConfiguration.fromEnvironment([
            "KEN_LLM_URL": "ftp://x/v1", "KEN_LLM_MODEL": "m",
        ]))
    }

    func testSystemdCredentialIsUsedWhenPresent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ken-cred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "sk-from-credential\n".write(to: directory.appendingPathComponent("llm-api-key"),
                                          atomically: true, encoding: .utf8)
        let environment = ["KEN_LLM_URL": "http://127.0.0.1:1/v1", "KEN_LLM_MODEL": "m",
                           "CREDENTIALS_DIRECTORY": directory.path]
        let config = try XCTUnwrap(try LLMConfiguration.fromEnvironment(environment))
        XCTAssertEqual(config.apiKey, .credential("llm-api-key"))
        XCTAssertEqual(try config.apiKey.load(environment: environment), "sk-from-credential")
    }

    func testUnreadableOrEmptyKeyFileIsAClearError() throws {
        XCTAssertThrowsError(try APIKeySource.file("/nonexistent/ken-key").load()) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/ken-key"))
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("ken-empty-\(UUID().uuidString)")
        try "\n".write(to: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try APIKeySource.file(empty.path).load()) { error in
            XCTAssertTrue("\(error)".contains("empty"))
        }
        XCTAssertThrowsError(try APIKeySource.credential("k").load(environment: [:]))
    }
}
