/// Plain-text rendering of contracts, for `kenc contracts` and for LLM prompts (the Prompter's
/// candidate list and the Comprehension Engine's annotation request). Compact on purpose: a
/// prompt has room for a few probes, not for whole structs.
public enum ContractText {
    /// One line: `tracepoint:syscalls:sys_enter_openat(int dfd, const char * filename [user], …)`.
    public static func probeLine(_ contract: ProbeContract) -> String {
        let arguments = contract.arguments.map(valueShort).joined(separator: ", ")
        var line = displayName(contract) + "(" + arguments + (contract.isVariadic ? ", ..." : "") + ")"
        if let ret = contract.returnValue, ret.kind != .void { line += " -> " + ret.cType }
        return line
    }

    /// How programs name the probe: functions show as `kfunc:NAME` (also kprobe:NAME).
    public static func displayName(_ contract: ProbeContract) -> String {
        switch contract.kind {
        case .tracepoint: return "tracepoint:" + contract.name
        case .function: return "kfunc:" + contract.name
        case .rawTracepoint: return "rawtracepoint:" + contract.name
        }
    }

    static func valueShort(_ value: ValueContract) -> String {
        var s = value.cType + (value.name.isEmpty ? "" : " " + value.name)
        var tags: [String] = []
        if value.isUserPointer { tags.append("user pointer") }
        if value.byteOrder == .bigEndian { tags.append("big-endian") }
        if value.byteOrder == .littleEndian { tags.append("little-endian") }
        if value.isDataLoc { tags.append("__data_loc") }
        if !tags.isEmpty { s += " [" + tags.joined(separator: ", ") + "]" }
        return s
    }

    /// The full contract: every argument with its properties, facts, and the byte-order, enum
    /// and user-pointer members of the records it reaches.
    public static func render(_ contract: ProbeContract, records: [RecordContract] = []) -> String {
        var lines: [String] = [displayName(contract) + (contract.kind == .function ? "  (also kprobe/kretprobe/kretfunc)" : "")]
        for (index, argument) in contract.arguments.enumerated() {
            lines.append("  arg \(index): " + describe(argument))
        }
        if let ret = contract.returnValue {
            lines.append("  returns: " + describe(ret))
        }
        if !contract.facts.isEmpty {
            lines.append("  facts:")
            for fact in contract.facts {
                lines.append("    \(subjectText(fact.subject)) in \(fact.range)  (\(fact.rationale))")
            }
        }
        for record in records {
            let notable = record.members.filter { $0.byteOrder != .host || $0.kind == .enumeration || $0.addressSpace == .user }
            let embedded = record.members.filter { $0.kind == .record && $0.record != nil }
            guard !notable.isEmpty || !embedded.isEmpty else { continue }
            lines.append("  \(record.name):")
            for member in embedded.prefix(6) {
                lines.append("    .\(member.name): \(member.record ?? member.cType) (embedded)")
            }
            for member in notable.prefix(24) {
                lines.append("    ." + describe(member))
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func describe(_ value: ValueContract) -> String {
        var parts: [String] = [(value.name.isEmpty ? "" : value.name + ": ") + value.cType]
        switch value.kind {
        case .integer, .enumeration:
            if let bits = value.bits, let signed = value.signed {
                parts.append((signed ? "signed " : "unsigned ") + "\(bits)-bit")
            }
        case .pointer:
            parts.append("pointer to \(value.pointee ?? "?") in \(value.addressSpace?.rawValue ?? "unknown") memory, "
                         + (value.nullability == .nonNull ? "never NULL" : "may be NULL"))
        case .string:
            parts.append(value.isDataLoc ? "string (__data_loc)" : "string, char[\(value.arrayCount ?? 0)]")
        case .array:
            parts.append(value.isDataLoc ? "dynamic array (__data_loc)" : "array of \(value.arrayCount ?? 0) \(value.element ?? "?")")
        default:
            break
        }
        switch value.byteOrder {
        case .bigEndian: parts.append("BIG-ENDIAN (network byte order): swap with bswap() before printing or comparing as a number")
        case .littleEndian: parts.append("little-endian")
        case .host: break
        }
        if let range = value.range { parts.append("range \(range)") }
        if let why = value.rationale { parts.append(why) }
        return parts.joined(separator: "; ")
    }

    public static func subjectText(_ subject: ContractFact.Subject) -> String {
        switch subject {
        case let .argument(name, index): return name.isEmpty ? "arg\(index)" : name
        case .returnValue: return "return value"
        case let .builtin(name): return name
        }
    }
}

extension ContractStore {
    /// For the Prompter: the probes of this kernel most relevant to `prompt`, one line each
    /// with their arguments (user pointers and byte order marked), best first. Pass
    /// `kinds: [.tracepoint]` on kernels where kprobes/fentry cannot attach.
    public func candidateProbesText(prompt: String, limit: Int = 8,
                                    kinds: Set<ProbeContract.Kind> = Set(ProbeContract.Kind.allCases)) throws(ContractsError) -> String {
        try search(prompt: prompt, limit: limit, kinds: kinds)
            .map { "- " + ContractText.probeLine($0.contract) }
            .joined(separator: "\n")
    }
}
