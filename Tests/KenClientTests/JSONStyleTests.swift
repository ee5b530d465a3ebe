import BpftraceSemantics
import Contracts
import Foundation
import KenClient
import KenProto
import SymbolicVerifier
import XCTest

/// Every `--json` document kenc prints, run through its encoder and held to one style:
/// snake_case keys, numbers as numbers, lower-case enumeration values, and keys that do not
/// vanish when a value is empty.
final class JSONStyleTests: XCTestCase {
    /// Every encoder, with a fully populated and an empty input.
    func documents() throws -> [(name: String, full: JSONValue, empty: JSONValue?)] {
        let ext = Self.fullExtension()
        var list = Ken_V1_ListReply()
        list.extensions = [ext]
        list.programs = [Ken_V1_KernelProgram.with {
            $0.id = 41; $0.type = "tracepoint"; $0.name = "sys_enter"; $0.tag = "0123456789abcdef"; $0.memlockBytes = 4096
            $0.uid = 0; $0.loadedAtUnixMs = 1_000; $0.mapIds = [7]; $0.extensionID = ext.id
        }]
        let agentStatus = Ken_V1_AgentStatusReply.with {
            $0.version = "0.1.0"; $0.kernelRelease = "6.1.0"; $0.bpftraceVersion = "v0.17.0"; $0.extensionsTotal = 2
            $0.extensionsAttached = 1; $0.extensionsFailed = 1; $0.uptimeSeconds = 12.5; $0.pid = 99
            $0.peerUid = 1000; $0.peerGid = 1000; $0.peerPid = 1234
        }
        let kendStatus = Ken_V1_KendStatusReply.with {
            $0.version = "0.1.0"; $0.kernelRelease = "6.1.0"; $0.llmEndpoint = "http://localhost:8080/v1"; $0.llmModel = "m"
            $0.examples = 80; $0.agentVersion = "0.1.0"; $0.uptimeSeconds = 3
        }
        let report = Ken_V1_SynthesisReport.with {
            $0.taskID = "3f2a9c1e"; $0.passed = true; $0.verdict = .proven; $0.unprovenReason = "r";
            $0.provenAsserts = [Ken_V1_ProvenAssert.with { $0.text = "assert(1)"; $0.file = "p.bt"; $0.line = 1; $0.column = 2; $0.claimedBy = .prompt; $0.probe = "BEGIN" }]; $0.attached = true; $0.program = "BEGIN { exit(); }"
            $0.annotatedProgram = "BEGIN { assert(1 == 1); exit(); }"; $0.origin = .library; $0.similarity = 0.75
            $0.note = "no LLM is configured"; $0.needsHint = false; $0.extension = ext
            $0.verdicts = [Ken_V1_AssertVerdict.with {
                $0.file = "program.bt"; $0.line = 1; $0.column = 9; $0.text = "assert(1 == 1)"; $0.verdict = .violated
                $0.message = "fails"; $0.path = "if taken"; $0.claimedBy = .llm; $0.vacuous = false; $0.model = [Ken_V1_ModelValue.with { $0.name = "pid"; $0.value = "7" }]
            }]
            $0.attempts = [Ken_V1_Attempt.with {
                $0.number = 1; $0.program = "BEGIN {}"; $0.promptTokens = 10; $0.completionTokens = 5
                $0.errors = [Ken_V1_Diagnostic.with {
                    $0.severity = .warning; $0.file = "program.bt"; $0.line = 2; $0.column = 3; $0.message = "m"; $0.hint = "h"
                    $0.rendered = "program.bt:2:3: warning: m"
                }]
                $0.timings = [Ken_V1_StageTiming.with { $0.stage = .symbolicVerify; $0.seconds = 0.25 }]
            }]
        }
        let apply = Ken_V1_ApplyReply.with {
            $0.changed = true; $0.failed = false
            $0.actions = [Ken_V1_ApplyAction.with { $0.name = "opens"; $0.action = "create"; $0.extensionID = ext.id; $0.message = "m" }]
        }
        let examples = Ken_V1_ExamplesReply.with {
            $0.examples = [Ken_V1_ExampleEntry.with {
                $0.id = "corpus/opens"; $0.prompts = ["p"]; $0.program = "BEGIN {}"; $0.tags = ["io"]; $0.origin = "installed-tool"
                $0.similarity = 0.5; $0.needsUnsafe = true
            }]
        }
        let status = FleetStatus(agent: agentStatus, kend: kendStatus, extensions: [ext])
        let down = FleetStatus(agentError: "ken-agent is not running", kendError: "kend is not running")

        let checked = Checker.check(source: "BEGIN { printf(\"%d\\n\", $x); }\nkprobe:", file: "bad.bt", kernel: nil)
        let clean = Checker.check(source: "BEGIN { exit(); }", file: "ok.bt", kernel: nil)
        let violated = VerifyFile.run(source: """
            kprobe:do_sys_open { $x = 1; assert($x == 2, "x is two"); }
            """, file: "v.bt", kernel: nil)
        let verification = try XCTUnwrap(violated.result, violated.output)
        let contract = ProbeContract(kind: .rawTracepoint, name: "sys_enter", arguments: [
            ValueContract(name: "regs", cType: "struct pt_regs *", kind: .pointer, addressSpace: .kernel, nullability: .nonNull,
                          byteOrder: .bigEndian),
        ], facts: [ContractFact(subject: .returnValue, range: ValueRange(min: -4095, max: 0), source: .convention, rationale: "errno")])

        return [
            ("show/attach/detach", AgentJSON.object(ext), AgentJSON.object(Ken_V1_Extension())),
            ("list", AgentJSON.list(list, all: false), nil),
            ("list --all", AgentJSON.list(list, all: true), AgentJSON.list(Ken_V1_ListReply(), all: true)),
            ("kernel program", AgentJSON.object(list.programs[0]), AgentJSON.object(Ken_V1_KernelProgram())),
            ("agent-status", AgentJSON.object(agentStatus), AgentJSON.object(Ken_V1_AgentStatusReply())),
            ("status", status.json(), down.json()),
            ("synth", ReportFormatting.json(report), ReportFormatting.json(Ken_V1_SynthesisReport())),
            ("apply", ApplyFormatting.json(apply, dryRun: false), ApplyFormatting.json(Ken_V1_ApplyReply(), dryRun: true)),
            ("examples search", ExamplesFormatting.json(examples, withSimilarity: true), nil),
            ("examples list", ExamplesFormatting.json(examples, withSimilarity: false), nil),
            ("check", LocalFormatting.check([checked, clean]), LocalFormatting.check([])),
            ("verify", LocalFormatting.verification(verification), nil),
            ("contracts", LocalFormatting.contracts(contract), nil),
        ]
    }

    func testEveryDocumentFollowsTheStyle() throws {
        for (name, full, empty) in try documents() {
            var problems: [String] = []
            Self.check(full, path: name, problems: &problems)
            if let empty {
                Self.check(empty, path: name + " (empty)", problems: &problems)
                // Absent and empty told apart: an empty answer has the same keys, with null, "",
                // [] or 0 as its values.
                XCTAssertEqual(Self.keyPaths(empty, shape: empty), Self.keyPaths(full, shape: empty), "\(name): keys of the empty document")
            }
            XCTAssertEqual(problems, [], name)
            // The text parses back as JSON, and ends in one newline.
            let text = full.render()
            XCTAssertTrue(text.hasSuffix("}\n") || text.hasSuffix("]\n"), name)
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)), name)
        }
    }

    func testTheStateIsTheSameWordEverywhere() throws {
        let ext = Self.fullExtension()
        let status = FleetStatus(agent: Ken_V1_AgentStatusReply(), kend: Ken_V1_KendStatusReply(), extensions: [ext]).json()
        var list = Ken_V1_ListReply()
        list.extensions = [ext]
        guard case .array(let listed) = AgentJSON.list(list, all: false),
              case .array(let inStatus)? = status["extensions"] else { return XCTFail("arrays expected") }
        XCTAssertEqual(listed[0]["state"], .string("attached"))
        XCTAssertEqual(inStatus[0]["state"], .string("attached"))
        XCTAssertEqual(inStatus[0]["memlock_bytes"], .integer(8192))
        XCTAssertEqual(status["counts"]?["attached"], .integer(1))
        XCTAssertEqual(status["counts"]?["failed"], .integer(0))
    }

    func testRenderedTextIsStable() {
        let value = JSONValue.object(["b": .array([.integer(1), .double(0.5), .null]), "a": .string("q\"\n/"), "c": .object([:])])
        XCTAssertEqual(value.render(), """
            {
              "a": "q\\"\\n/",
              "b": [
                1,
                0.5,
                null
              ],
              "c": {}
            }

            """)
    }

    // MARK: - The style rules

    static let snakeCase = try! NSRegularExpression(pattern: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
    static let enumKeys: Set<String> = ["state", "kind", "verdict", "stage", "severity", "action", "origin", "restart_policy",
                                        "address_space", "nullability", "byte_order", "source", "claimed_by"]

    static func check(_ value: JSONValue, path: String, key: String? = nil, problems: inout [String]) {
        switch value {
        case .object(let members):
            for (name, member) in members {
                if snakeCase.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) == nil {
                    problems.append("\(path).\(name): key is not snake_case")
                }
                check(member, path: path + "." + name, key: name, problems: &problems)
            }
        case .array(let values):
            for value in values { check(value, path: path + "[]", key: key, problems: &problems) }
        case .string(let text):
            if let key, enumKeys.contains(key), text != text.lowercased() || text.contains(" ") {
                problems.append("\(path): enumeration value \(text) is not a lower-case word")
            }
            if !text.isEmpty, text.count < 19, text.allSatisfy(\.isNumber), !(key ?? "").hasSuffix("id"), key != "value" {
                problems.append("\(path): number \(text) written as a string")
            }
        default:
            break
        }
    }

    /// The key paths of `value`'s objects (not descending into arrays). Where `shape` has
    /// null, the member is kept but not descended into: an absent object is one null.
    static func keyPaths(_ value: JSONValue, shape: JSONValue?, prefix: String = "") -> Set<String> {
        guard case .object(let members) = value else { return [] }
        var out = Set<String>()
        for (name, member) in members {
            out.insert(prefix + "." + name)
            if let shape, shape[name] == .null { continue }
            out.formUnion(keyPaths(member, shape: shape?[name], prefix: prefix + "." + name))
        }
        return out
    }

    static func fullExtension() -> Ken_V1_Extension {
        Ken_V1_Extension.with {
            $0.id = "a1b2c3d4e5f6"; $0.name = "opens"; $0.ownerUid = 1000; $0.kind = .bpftrace; $0.state = .attached
            $0.progIds = [41]; $0.linkIds = [3]; $0.memlockBytes = 8192; $0.createdUnixMs = 1_000_000; $0.changedUnixMs = 1_000_500
            $0.pid = 4242; $0.probes = ["tracepoint:syscalls:sys_enter_openat"]; $0.programText = "BEGIN {}"
            $0.pinDir = "/sys/fs/bpf/ken/a1b2c3d4e5f6"; $0.objectSha256 = "ab"; $0.restart = .onFailure; $0.restarts = 1
            $0.lastError = "e"; $0.prompt = "p"; $0.annotatedProgram = "BEGIN { assert(1); }"; $0.manifestDigest = "cd"
        }
    }
}
