import Foundation
import KendCore
import LLM
import KenRPC
import XCTest

/// kend's settings file: every table, defaults, and the errors that stop kend from starting.
final class KendConfigTests: XCTestCase {
    func testEveryTableIsRead() throws {
        let config = try KendConfigFile.parse("""
            [llm]
            url = "http://127.0.0.1:8080/v1"
            model = "coder"
            api_key_file = "/etc/ken/llm-api-key"
            embedding_model = "embed"
            temperature = 0.1
            max_tokens = 1024
            connect_timeout = 2
            timeout = 30.5
            max_retries = 1

            [synthesis]
            max_attempts = 5
            library_threshold = 0.4

            [fleet]
            manifests = "/etc/ken/extensions.d"
            watch_interval = 10
            prune = false
            """, path: "kend.toml")
        let llm = try XCTUnwrap(config.llm)
        XCTAssertEqual(llm.baseURL, "http://127.0.0.1:8080/v1")
        XCTAssertEqual(llm.model, "coder")
        XCTAssertEqual(llm.apiKey, .file("/etc/ken/llm-api-key"))
        XCTAssertEqual(llm.embeddingModel, "embed")
        XCTAssertEqual(llm.temperature, 0.1)
        XCTAssertEqual(llm.maxTokens, 1024)
        XCTAssertEqual(llm.connectTimeout, 2)
        XCTAssertEqual(llm.totalTimeout, 30.5)
        XCTAssertEqual(llm.maxRetries, 1)
        XCTAssertEqual(config.maxAttempts, 5)
        XCTAssertEqual(config.libraryThreshold, 0.4)
        XCTAssertEqual(config.manifests, "/etc/ken/extensions.d")
        XCTAssertEqual(config.watchInterval, 10)
        XCTAssertEqual(config.prune, false)
    }

    func testAMissingFileMeansDefaultsAndNoLLM() throws {
        let config = try KendConfigFile.load(path: "/nonexistent/kend.toml")
        XCTAssertNil(config.llm)
        XCTAssertNil(config.maxAttempts)
    }

    /// [access]: who may use kend and who administers it (apply, prune, examples).
    func testAccessRolesAreRead() throws {
        let config = try KendConfigFile.parse("""
            [access]
            groups = ["ken"]
            admin_users = ["root", 4242]
            admin_groups = []
            """, path: "kend.toml")
        XCTAssertEqual(config.access.users, KendAccess.Members(users: [], groups: ["ken"]))
        XCTAssertEqual(config.access.admins, KendAccess.Members(users: ["root", "4242"], groups: []))
        XCTAssertTrue(config.access.isAdmin(PeerCredentials(uid: 4242, gid: 4242, pid: 1)))
        XCTAssertFalse(config.access.isAdmin(PeerCredentials(uid: 4243, gid: 4243, pid: 1)))
        XCTAssertNil(KendConfigFile().access.users, "no [access]: kend's own user and group")
        for bad in ["[access]\nadmins = [\"root\"]\n", "[access]\nusers = \"root\"\n", "[access]\ngroups = [true]\n"] {
            XCTAssertThrowsError(try KendConfigFile.parse(bad, path: "kend.toml"), bad)
        }
    }

    func testBadSettingsNameTheFileAndTheKey() {
        let cases: [(String, String)] = [
            ("[llm]\nmodel = \"m\"\n", "[llm] needs url"),
            ("[llm]\nurl = \"ftp://x\"\nmodel = \"m\"\n", "llm.url must start with http"),
            ("[llm]\nurl = \"http://x/v1\"\nmodel = \"m\"\napi_key = \"sk-secret\"\n", "unknown key llm.api_key"),
            ("[synthesis]\nmax_attempts = 0\n", "synthesis.max_attempts must be between"),
            ("[fleet]\nprune = \"yes\"\n", "fleet.prune must be true or false"),
            ("[colour]\nred = 1\n", "unknown table [colour]"),
            ("llm = 3\n", "must be a [table]"),
            ("[llm\n", "kend.toml:1"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try KendConfigFile.parse(text, path: "kend.toml"), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text) → \(error)")
                XCTAssertTrue("\(error)".hasPrefix("kend.toml"), "\(error)")
            }
        }
    }
}
