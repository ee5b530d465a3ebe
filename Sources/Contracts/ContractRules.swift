import KernelInfo

/// The rules that turn kernel types into contracts. Kept in one place because each is a
/// decision with a reason, and the reasons are what the LLM prompt and `kenc contracts` show.
public enum ContractRules {
    /// `PID_MAX_LIMIT` on 64-bit kernels: `pid_max` can never exceed it, so every task id is in
    /// 0...4194304 whatever the sysctl says.
    public static let pidMax: Int64 = 4_194_304
    /// `(uid_t)-1` is the "no id" marker (setresuid's "unchanged"), never a task's credential.
    public static let uidMax: Int64 = 4_294_967_294
    /// `MAX_ERRNO`: a syscall or kernel function returning an error returns -1...-4095.
    public static let maxErrno: Int64 = 4095

    /// Builtins whose values are always in range, whatever the probe.
    public static let builtinFacts: [ContractFact] = [
        ContractFact(subject: .builtin(name: "pid"), range: ValueRange(min: 0, max: pidMax), source: .convention,
                     rationale: "pid is the current task's tgid; task ids are at most PID_MAX_LIMIT (4194304)"),
        ContractFact(subject: .builtin(name: "tid"), range: ValueRange(min: 0, max: pidMax), source: .convention,
                     rationale: "tid is the current task's id; task ids are at most PID_MAX_LIMIT (4194304)"),
        ContractFact(subject: .builtin(name: "uid"), range: ValueRange(min: 0, max: uidMax), source: .convention,
                     rationale: "a task's uid is never (uid_t)-1"),
        ContractFact(subject: .builtin(name: "gid"), range: ValueRange(min: 0, max: uidMax), source: .convention,
                     rationale: "a task's gid is never (gid_t)-1"),
    ]

    /// Whether `typedefs` (outermost first) name a byte-order type. The first be/le name wins:
    /// `__be16` is itself a typedef of `__u16`.
    public static func byteOrder(typedefs: [String]) -> ByteOrder {
        for name in typedefs {
            if ["__be16", "__be32", "__be64"].contains(name) { return .bigEndian }
            if ["__le16", "__le32", "__le64"].contains(name) { return .littleEndian }
        }
        return .host
    }

    /// Typedef names of `type`, outermost first, looking through arrays to their element.
    static func typedefChain(_ type: CType) -> [String] {
        var names: [String] = []
        var t = type
        var steps = 0
        while steps < 32 {
            steps += 1
            switch t {
            case let .typedef(name, inner):
                names.append(name)
                t = inner
            case let .array(element, _):
                t = element
            default:
                return names
            }
        }
        return names
    }

    /// Nullability rule (sound by construction): BTF records no nullability, and kernel
    /// functions are routinely called with NULL for "optional" pointers, so Ken never assumes a
    /// pointer argument is non-NULL. The only `nonNull` values are those the layout guarantees:
    /// `__data_loc` fields always locate data inside the event record.
    static func nullability(isDataLoc: Bool) -> Nullability {
        isDataLoc ? .nonNull : .mayBeNull
    }

    /// Facts for a tracepoint field.
    static func tracepointFacts(category: String, event: String, field: TracepointField, index: Int,
                                contract: ValueContract) -> [ContractFact] {
        var facts: [ContractFact] = []
        let subject = ContractFact.Subject.argument(name: field.name, index: index)
        let isSyscallExit = (category == "syscalls" && event.hasPrefix("sys_exit_"))
            || (category == "raw_syscalls" && event == "sys_exit")
        if isSyscallExit, field.name == "ret" {
            facts.append(ContractFact(
                subject: subject, range: ValueRange(min: -maxErrno, max: Int64.max), source: .convention,
                rationale: "syscalls return -errno on failure: a negative ret is in -4095...-1"))
        }
        // Values the user passed to a syscall are arbitrary (kill(-1, …), setuid(-1)); only ids the
        // kernel recorded from a task obey the ranges.
        let userSupplied = category == "syscalls" && event.hasPrefix("sys_enter_")
        if !userSupplied, contract.kind == .integer {
            if contract.typedefs.first == "pid_t" || field.typeText == "pid_t" {
                facts.append(ContractFact(subject: subject, range: ValueRange(min: 0, max: pidMax),
                                          source: .convention,
                                          rationale: "a pid_t recorded by the kernel is a task id: 0...PID_MAX_LIMIT"))
            }
        }
        facts += typeFacts(subject: subject, contract: contract)
        return facts
    }

    /// Facts for a function parameter or return value.
    static func functionFacts(subject: ContractFact.Subject, contract: ValueContract) -> [ContractFact] {
        typeFacts(subject: subject, contract: contract)
    }

    /// Facts implied by the type beyond its width: enum ranges and `bool`.
    static func typeFacts(subject: ContractFact.Subject, contract: ValueContract) -> [ContractFact] {
        guard let range = contract.range else { return [] }
        switch contract.kind {
        case .enumeration:
            return [ContractFact(subject: subject, range: range, source: .enumeration,
                                 rationale: "value of enum \(contract.enumName ?? "(anon)"): its enumerators span \(range)")]
        case .boolean:
            return [ContractFact(subject: subject, range: range, source: .type, rationale: "bool is 0 or 1")]
        default:
            return []
        }
    }
}
