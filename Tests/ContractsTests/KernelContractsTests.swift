import Contracts
import Foundation
import KernelInfo
import XCTest

/// Contracts built from this machine's kernel, checked against tracefs `format` files and
/// bpftool's independent BTF dump.
final class KernelContractsTests: XCTestCase {
    func testBuildIsFastAndCoversEveryTracepointAndFunction() throws {
        let built = try ContractsFixture.store()
        let info = built.store.info
        print("contracts build: \(String(format: "%.2f", info.buildSeconds)) s (open incl. build \(String(format: "%.2f", built.seconds)) s); tracepoints \(info.tracepoints), functions \(info.functions), raw tracepoints \(info.rawTracepoints), records \(info.records)")
        XCTAssertLessThan(info.buildSeconds, 60, "the issue requires a build in under a minute")
        XCTAssertEqual(info.release, ContractStore.runningRelease())
        XCTAssertTrue(built.store.path.hasSuffix("/contracts-\(info.release).db"))

        let events = try ContractsFixture.readPseudoFile("/sys/kernel/tracing/available_events")
            .split(separator: "\n").map(String.init)
        let stored = Set(try built.store.keys(kind: .tracepoint))
        let expected = Set(events.map { "tracepoint:" + $0 })
        XCTAssertEqual(stored.count, expected.count)
        XCTAssertEqual(stored.symmetricDifference(expected).count, 0,
                       "differences: \(Array(stored.symmetricDifference(expected).prefix(5)))")

        let dump = try ContractsFixture.bpftoolDump()
        let functions = Set(try built.store.keys(kind: .function))
        XCTAssertEqual(functions, Set(dump.functionNames.map { "function:" + $0 }),
                       "every BTF FUNC has a contract")
    }

    /// Every tracepoint, field by field against its format file text.
    func testTracepointFieldsMatchFormatFiles() throws {
        let store = try ContractsFixture.store().store
        let events = try ContractsFixture.readPseudoFile("/sys/kernel/tracing/available_events")
            .split(separator: "\n").map(String.init)
        let stride = 1  // every tracepoint on this machine
        var checked = 0
        for index in Swift.stride(from: 0, to: events.count, by: stride) {
            let event = events[index]
            let parts = event.split(separator: ":")
            let path = "/sys/kernel/tracing/events/\(parts[0])/\(parts[1])/format"
            guard let text = try? ContractsFixture.readPseudoFile(path) else { continue }
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("field:") && !$0.contains("common_") }
            let contract = try XCTUnwrap(try store.contract(forProbe: "tracepoint:" + event), event)
            XCTAssertEqual(contract.arguments.count, lines.count, event)
            for (line, field) in zip(lines, contract.arguments) {
                let attributes = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                let declaration = attributes[0].dropFirst("field:".count)
                var nameText = declaration.split(separator: " ").last.map(String.init) ?? ""
                if let bracket = nameText.firstIndex(of: "[") { nameText = String(nameText[..<bracket]) }
                XCTAssertEqual(field.name, nameText, "\(event): \(line)")
                XCTAssertEqual(field.offset, Int(attributes[1].dropFirst("offset:".count)), "\(event).\(field.name)")
                XCTAssertEqual(field.size, Int(attributes[2].dropFirst("size:".count)), "\(event).\(field.name)")
                XCTAssertEqual(field.isDataLoc, declaration.hasPrefix("__data_loc"), "\(event).\(field.name)")
                // Syscall entry slots are unsigned longs holding the declared (possibly signed) type.
                if field.kind == .integer, parts[0] != "syscalls" {
                    XCTAssertEqual(field.signed, attributes[3] == "signed:1", "\(event).\(field.name)")
                }
                // Function-pointer typedefs (initcall_t) are pointers without a `*` in the text.
                if declaration.contains("*") { XCTAssertTrue(field.isPointer, "\(event).\(field.name)") }
            }
            checked += 1
        }
        XCTAssertEqual(checked, events.count)
    }

    func testSyscallContracts() throws {
        let store = try ContractsFixture.store().store
        let openat = try XCTUnwrap(try store.contract(forProbe: "tracepoint:syscalls:sys_enter_openat"))
        let filename = try XCTUnwrap(openat.argument(named: "filename"))
        XCTAssertEqual(filename.kind, .pointer)
        XCTAssertEqual(filename.addressSpace, .user)
        XCTAssertEqual(filename.nullability, .mayBeNull)
        XCTAssertEqual(try XCTUnwrap(openat.argument(named: "flags")).kind, .integer)
        let dfd = try XCTUnwrap(openat.argument(named: "dfd"))
        XCTAssertEqual(dfd.signed, true, "int dfd (AT_FDCWD is -100) in an 8-byte slot")
        XCTAssertEqual(dfd.bits, 64)

        let exit = try XCTUnwrap(try store.contract(forProbe: "t:syscalls:sys_exit_openat"))
        let retFact = try XCTUnwrap(exit.facts.first { $0.subject == .argument(name: "ret", index: 1) })
        XCTAssertEqual(retFact.range.min, -4095)
        XCTAssertEqual(retFact.source, .convention)

        // The syscall's own entry function follows the same convention for its return value.
        let entry = try XCTUnwrap(try store.contract(forProbe: "kretfunc:__x64_sys_openat"))
        XCTAssertEqual(entry.facts.first { $0.subject == .returnValue }?.range.min, -4095)
        XCTAssertNil(try store.contract(forProbe: "kfunc:tcp_connect")?.facts.first { $0.subject == .returnValue })

        // Kernel-recorded pids get the pid range; user-supplied ones (kill's pid) do not.
        let fork = try XCTUnwrap(try store.contract(forProbe: "tracepoint:sched:sched_process_fork"))
        XCTAssertTrue(fork.facts.contains { $0.subject == .argument(name: "child_pid", index: 3) && $0.range.max == 4_194_304 }
                      || fork.facts.contains { if case .argument(name: "child_pid", _) = $0.subject { return $0.range.max == 4_194_304 } else { return false } })
        let kill = try XCTUnwrap(try store.contract(forProbe: "tracepoint:syscalls:sys_enter_kill"))
        XCTAssertFalse(kill.facts.contains { if case .argument(name: "pid", _) = $0.subject { return true } else { return false } })

        // __data_loc strings.
        let exec = try XCTUnwrap(try store.contract(forProbe: "tracepoint:sched:sched_process_exec"))
        let execFilename = try XCTUnwrap(exec.argument(named: "filename"))
        XCTAssertTrue(execFilename.isDataLoc)
        XCTAssertEqual(execFilename.kind, .string)
        XCTAssertEqual(execFilename.nullability, .nonNull)
        // Fixed char arrays.
        let comm = try XCTUnwrap(try store.contract(forProbe: "tracepoint:sched:sched_switch")?.argument(named: "prev_comm"))
        XCTAssertEqual(comm.kind, .string)
        XCTAssertEqual(comm.arrayCount, 16)
    }

    func testTcpConnectMatchesBpftool() throws {
        let store = try ContractsFixture.store().store
        let dump = try ContractsFixture.bpftoolDump()
        let function = try XCTUnwrap(dump.first(kind: "FUNC", name: "tcp_connect"))
        let protoID = try XCTUnwrap(BpftoolDump.attribute("type_id", in: function.header))
        let proto = try XCTUnwrap(dump.entries[protoID])
        let vlen = try XCTUnwrap(BpftoolDump.attribute("vlen", in: proto.header))

        for spelling in ["kfunc:tcp_connect", "kprobe:tcp_connect", "fentry:vmlinux:tcp_connect", "kretfunc:tcp_connect"] {
            let contract = try XCTUnwrap(try store.contract(forProbe: spelling), spelling)
            XCTAssertEqual(contract.kind, .function)
            XCTAssertEqual(contract.arguments.count, vlen)
        }
        let contract = try XCTUnwrap(try store.contract(forProbe: "kfunc:tcp_connect"))
        let sk = try XCTUnwrap(contract.arguments.first)
        XCTAssertEqual(sk.name, "sk")
        XCTAssertEqual(sk.cType, "struct sock *")
        XCTAssertEqual(sk.record, "struct sock")
        XCTAssertEqual(sk.addressSpace, .kernel)
        XCTAssertEqual(sk.nullability, .mayBeNull)
        // bpftool: the param's type id is a PTR to STRUCT 'sock'.
        let paramType = try XCTUnwrap(BpftoolDump.attribute("type_id", in: try XCTUnwrap(proto.lines.first)))
        let pointer = try XCTUnwrap(dump.entries[paramType])
        XCTAssertEqual(pointer.kind, "PTR")
        let target = try XCTUnwrap(dump.entries[try XCTUnwrap(BpftoolDump.attribute("type_id", in: pointer.header))])
        XCTAssertEqual(target.kind, "STRUCT")
        XCTAssertEqual(target.name, "sock")
        // Return type: int.
        let retID = try XCTUnwrap(BpftoolDump.attribute("ret_type_id", in: proto.header))
        XCTAssertEqual(contract.returnValue?.cType, dump.entries[retID]?.name)

        XCTAssertNotNil(try store.contract(forProbe: "kprobe:tcp_v4_connect"))
        XCTAssertNil(try store.contract(forProbe: "kprobe:no_such_function_in_this_kernel"))
        XCTAssertThrowsError(try store.contract(forProbe: "uprobe:/bin/bash:readline"))
    }

    /// Every BTF function: parameter names and count against bpftool's FUNC_PROTO.
    func testFunctionSignaturesMatchBpftool() throws {
        let store = try ContractsFixture.store().store
        let dump = try ContractsFixture.bpftoolDump()
        var firstFunction: [String: Int] = [:]
        for entry in dump.entries.values where entry.kind == "FUNC" {
            if let known = firstFunction[entry.name], known < entry.id { continue }
            firstFunction[entry.name] = entry.id
        }
        var checked = 0
        for name in firstFunction.keys.sorted() {
            guard let id = firstFunction[name], let function = dump.entries[id],
                  let protoID = BpftoolDump.attribute("type_id", in: function.header),
                  let proto = dump.entries[protoID] else { continue }
            let names = proto.lines.compactMap { line -> String? in
                guard line.hasPrefix("'") else { return nil }
                return String(line.dropFirst().prefix { $0 != "'" })
            }
            let contract = try XCTUnwrap(try store.contract(forProbe: "kfunc:" + name), name)
            let variadic = names.last == "(anon)" && proto.lines.last?.contains("type_id=0") == true
            XCTAssertEqual(contract.isVariadic, variadic, name)
            XCTAssertEqual(contract.arguments.map { $0.name.isEmpty ? "(anon)" : $0.name },
                           Array(names.dropLast(variadic ? 1 : 0)), name)
            checked += 1
        }
        XCTAssertEqual(checked, firstFunction.count)
    }

    func testByteOrderMembersMatchBpftool() throws {
        let store = try ContractsFixture.store().store
        let dump = try ContractsFixture.bpftoolDump()
        let common = try XCTUnwrap(try store.record(named: "struct sock_common"))
        let dport = try XCTUnwrap(common.member(named: "skc_dport"))
        XCTAssertEqual(dport.typedefs.first, "__be16")
        XCTAssertEqual(dport.byteOrder, .bigEndian)
        XCTAssertEqual(dport.bits, 16)
        XCTAssertEqual(common.member(named: "skc_num")?.byteOrder, .host, "skc_num is the host-order local port")

        // bpftool agrees: sock_common's skc_dport member is typed by TYPEDEF '__be16'.
        let structEntry = try XCTUnwrap(dump.first(kind: "STRUCT", name: "sock_common"))
        var found = false
        for entry in [structEntry] + dump.entries.values.filter({ $0.kind == "UNION" || $0.kind == "STRUCT" }) where !found {
            guard let line = entry.lines.first(where: { $0.hasPrefix("'skc_dport'") }) else { continue }
            let id = try XCTUnwrap(BpftoolDump.attribute("type_id", in: line))
            XCTAssertEqual(dump.entries[id]?.kind, "TYPEDEF")
            XCTAssertEqual(dump.entries[id]?.name, "__be16")
            found = true
        }
        XCTAssertTrue(found)

        // struct sock embeds sock_common, so tcp_connect's contract reaches skc_dport.
        let tcp = try XCTUnwrap(try store.contract(forProbe: "kfunc:tcp_connect"))
        let reachable = try store.records(reachableFrom: tcp)
        XCTAssertEqual(reachable.first?.name, "struct sock")
        XCTAssertEqual(reachable.first?.member(named: "__sk_common")?.record, "struct sock_common")
        XCTAssertTrue(reachable.contains { $0.name == "struct sock_common" })
    }

    func testEnumRangesMatchBpftool() throws {
        let store = try ContractsFixture.store().store
        let dump = try ContractsFixture.bpftoolDump()
        let common = try XCTUnwrap(try store.record(named: "struct sk_buff"))
        // Find any enum-typed member of a common struct and compare with bpftool's enumerators.
        let enumMembers = try ["struct sk_buff", "struct task_struct", "struct sock", "struct inode"]
            .compactMap { try store.record(named: $0) }
            .flatMap(\.members).filter { $0.kind == .enumeration && $0.enumName != nil && $0.range != nil }
        _ = common
        let member = try XCTUnwrap(enumMembers.first, "some enum-typed member exists")
        let entry = try XCTUnwrap(dump.first(kind: "ENUM", name: try XCTUnwrap(member.enumName)))
        let values = entry.lines.compactMap { line -> Int64? in
            guard let range = line.range(of: "val=") else { return nil }
            return Int64(line[range.upperBound...].prefix { $0 == "-" || $0.isNumber })
        }
        XCTAssertFalse(values.isEmpty)
        let range = try XCTUnwrap(member.range)
        let isFlags = values.count > 2 && values.allSatisfy { $0 >= 0 && ($0 & ($0 - 1)) == 0 }
        if isFlags {
            XCTAssertEqual(range.max, values.reduce(0) { $0 | $1 })
        } else {
            XCTAssertEqual(range.min, values.min())
            XCTAssertEqual(range.max, values.max())
        }
    }

    func testSearchFindsRelevantProbes() throws {
        let store = try ContractsFixture.store().store
        let files = try store.search(prompt: "Which files are opened by each process? (openat)", limit: 10, kinds: [.tracepoint])
        XCTAssertTrue(files.contains { $0.contract.name == "syscalls:sys_enter_openat" },
                      "\(files.map(\.contract.name))")
        XCTAssertTrue(files.allSatisfy { $0.contract.kind == .tracepoint })
        XCTAssertTrue(zip(files, files.dropFirst()).allSatisfy { $0.score >= $1.score })

        let tcp = try store.search(prompt: "print the destination port of every tcp connect", limit: 20, kinds: [.function])
        XCTAssertTrue(tcp.contains { $0.contract.name == "tcp_connect" }, "\(tcp.map(\.contract.name))")
        XCTAssertEqual(try store.search(prompt: "the of and", limit: 5), [])

        let text = try store.candidateProbesText(prompt: "files opened (openat)", limit: 3, kinds: [.tracepoint])
        XCTAssertEqual(text.split(separator: "\n").count, 3)
        XCTAssertTrue(text.contains("- tracepoint:syscalls:sys_enter_openat(int __syscall_nr, int dfd, const char * filename [user pointer], int flags, umode_t mode)"), text)
    }
}
