import BPF
import Foundation
import XCTest
@testable import KernelInfo

/// Cross-checks Ken's BTF decoding against `bpftool btf dump … format raw`, an independent
/// reader of the same kernel data.
final class BTFTests: XCTestCase {
    /// One entry of bpftool's raw dump: `[id] KIND 'name' attrs…` then indented lines.
    struct RawEntry {
        var kind: String
        var name: String
        var attributes: [String: String]
        var lines: [String]
    }

    nonisolated(unsafe) static var rawCache: [UInt32: RawEntry]?

    static func rawDump() throws -> [UInt32: RawEntry] {
        if let rawCache { return rawCache }
        let text = try KernelFixtures.run("/usr/sbin/bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"])
        var entries: [UInt32: RawEntry] = [:]
        var currentID: UInt32?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("["), let close = line.firstIndex(of: "]"), let id = UInt32(line[line.index(after: line.startIndex)..<close]) {
                let rest = line[line.index(after: close)...].split(separator: " ")
                guard rest.count >= 2, let q1 = line.firstIndex(of: "'") else { continue }
                let afterQ1 = line.index(after: q1)
                guard let q2 = line[afterQ1...].firstIndex(of: "'") else { continue }
                let quotedName = String(line[afterQ1..<q2])
                var attrs: [String: String] = [:]
                for word in line[line.index(after: q2)...].split(separator: " ") {
                    let kv = word.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { attrs[String(kv[0])] = String(kv[1]) }
                }
                entries[id] = RawEntry(kind: String(rest[0]), name: quotedName,
                                       attributes: attrs, lines: [])
                currentID = id
            } else if let id = currentID {
                entries[id]?.lines.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        rawCache = entries
        return entries
    }

    func testSampledTypesMatchBpftool() throws {
        let btf = try KernelFixtures.requireBTF().btf
        let raw = try Self.rawDump()
        XCTAssertEqual(raw.count + 1, Int(btf.typeCount), "bpftool and libbpf see the same number of types")
        let kindNames: [BTFKind: String] = [.int: "INT", .pointer: "PTR", .array: "ARRAY", .structure: "STRUCT",
                                            .union: "UNION", .enumeration: "ENUM", .forward: "FWD", .typedef: "TYPEDEF",
                                            .volatile: "VOLATILE", .const: "CONST", .restrict: "RESTRICT", .function: "FUNC",
                                            .functionProto: "FUNC_PROTO", .variable: "VAR", .dataSection: "DATASEC",
                                            .float: "FLOAT", .declTag: "DECL_TAG", .typeTag: "TYPE_TAG", .enum64: "ENUM64"]
        var checked = 0
        var id: UInt32 = 1
        while id < btf.typeCount {
            defer { id += 97 }
            guard let entry = raw[id], let type = btf.type(id) else { XCTFail("id \(id) missing"); continue }
            XCTAssertEqual(kindNames[type.kind], entry.kind, "kind of \(id)")
            XCTAssertEqual(type.name.isEmpty ? "(anon)" : type.name, entry.name, "name of \(id)")
            switch type {
            case let .record(r):
                XCTAssertEqual(String(r.size), entry.attributes["size"])
                XCTAssertEqual(r.members.count, entry.lines.count, "members of \(r.name)")
                for (m, line) in zip(r.members, entry.lines) {
                    XCTAssertTrue(line.contains("type_id=\(m.type) "), "\(line) vs \(m)")
                    XCTAssertTrue(line.contains("bits_offset=\(m.bitOffset)"), "\(line) vs \(m)")
                    if m.bitfieldSize > 0 { XCTAssertTrue(line.contains("bitfield_size=\(m.bitfieldSize)"), line) }
                }
            case let .functionProto(ret, params):
                XCTAssertEqual(String(ret), entry.attributes["ret_type_id"])
                XCTAssertEqual(params.count, entry.lines.count)
            case let .function(_, proto, _):
                XCTAssertEqual(String(proto), entry.attributes["type_id"])
            case let .int(_, size, bits, _, _):
                XCTAssertEqual(String(size), entry.attributes["size"])
                XCTAssertEqual(String(bits), entry.attributes["nr_bits"])
            case let .enumeration(e):
                XCTAssertEqual(e.values.count, entry.lines.count)
            default:
                break
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 500)
    }

    func testSockCommonDportIsBe16AtOffset12() throws {
        let kernel = try KernelFixtures.requireBTF()
        guard let sockCommon = kernel.record(named: "sock_common", union: false) else {
            return XCTFail("struct sock_common missing from BTF")
        }
        let dport = try XCTUnwrap(kernel.member(named: "skc_dport", of: sockCommon))
        XCTAssertEqual(dport.type.typedefName, "__be16")
        XCTAssertEqual(dport.type.byteSize, 2)
        // Independently: walk bpftool's raw dump through the anonymous members.
        let raw = try Self.rawDump()
        let rootID = try XCTUnwrap(raw.first { $0.value.kind == "STRUCT" && $0.value.name == "sock_common" }?.key)
        func find(_ id: UInt32, _ base: Int, depth: Int) -> (Int, UInt32)? {
            guard depth < 8, let entry = raw[id] else { return nil }
            for line in entry.lines {
                let parts = line.split(separator: " ")
                guard parts.count >= 3,
                      let type = UInt32(parts[1].dropFirst("type_id=".count)),
                      let bits = Int(parts[2].dropFirst("bits_offset=".count)) else { continue }
                let name = parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "'"))
                if name == "skc_dport" { return (base + bits, type) }
                if name == "(anon)", let hit = find(type, base + bits, depth: depth + 1) { return hit }
            }
            return nil
        }
        let (bits, typeID) = try XCTUnwrap(find(rootID, 0, depth: 0))
        XCTAssertEqual(dport.bitOffset, bits)
        XCTAssertEqual(dport.offset, 12)
        XCTAssertEqual(raw[typeID]?.name, "__be16")
    }

    func testFunctionParameterCountsMatchBpftool() throws {
        let kernel = try KernelFixtures.requireBTF()
        let raw = try Self.rawDump()
        var byName: [String: UInt32] = [:]
        for (id, e) in raw where e.kind == "FUNC" && byName[e.name].map({ $0 > id }) ?? true { byName[e.name] = id }
        for name in ["vfs_read", "vfs_write", "tcp_sendmsg", "do_sys_openat2", "security_file_open"] {
            guard let id = byName[name], let protoID = raw[id]?.attributes["type_id"].flatMap(UInt32.init),
                  let proto = raw[protoID] else { continue }
            let fn = try XCTUnwrap(kernel.function(named: name), name)
            XCTAssertEqual(fn.parameters.count, proto.lines.count, name)
            for (p, line) in zip(fn.parameters, proto.lines) {
                XCTAssertTrue(line.hasPrefix("'\(p.name)'"), "\(name): \(line) vs \(p.name)")
            }
        }
        let vfsRead = try XCTUnwrap(kernel.function(named: "vfs_read"))
        XCTAssertEqual(vfsRead.parameters.first?.type.description, "struct file *")
        XCTAssertEqual(vfsRead.returnType.typedefName, "ssize_t")
    }

    func testRawTracepointsFromBTF() throws {
        let kernel = try KernelFixtures.requireBTF()
        XCTAssertGreaterThan(kernel.rawTracepointNames.count, 500)
        let switchTP = try XCTUnwrap(kernel.rawTracepoint(named: "sched_switch"))
        // TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
        XCTAssertEqual(switchTP.parameters.count, 4)
        XCTAssertEqual(switchTP.parameters[1].type.description, "struct task_struct *")
    }

    func testTypeNamesResolve() throws {
        let kernel = try KernelFixtures.requireBTF()
        XCTAssertEqual(kernel.type(named: "struct sock").map(\.description), "struct sock")
        XCTAssertNil(kernel.type(named: "struct no_such_struct_ken"))
        XCTAssertEqual(kernel.type(named: "u32")?.resolved, .integer(CInteger(name: "unsigned int", bits: 32, signed: false)))
        XCTAssertEqual(kernel.type(named: "unsigned long")?.byteSize, 8)
        XCTAssertEqual(kernel.enumerator("TCP_ESTABLISHED"), 1)
        XCTAssertEqual(kernel.btf.cName(of: try XCTUnwrap(kernel.btf.find(name: "sock", kind: .structure))), "struct sock")
    }
}
