import BPF

/// The kind of one program in a BPF object, in the vocabulary of `programs.probe_kinds`.
public struct ObjectProgramKind: Sendable, Equatable {
    /// The program's function name.
    public var name: String
    /// Its ELF section (how libbpf attaches it), e.g. "raw_tp/sys_enter".
    public var section: String
    /// The probe kind: bpftrace's name where one exists ("tracepoint", "rawtracepoint",
    /// "kprobe", "fentry", …), otherwise the section's prefix ("lsm", "xdp", "struct_ops", …).
    public var kind: String
    /// True for kinds that only observe. Kinds that can change what the kernel does (deny an
    /// operation, drop a packet, replace a function) are allowed only when probe_kinds names them.
    public var observes: Bool

    /// Reads the kind from the section name as libbpf does (the prefix before the first '/'),
    /// falling back to libbpf's program type name.
    init(program: BPFProgram) {
        name = program.name
        section = program.sectionName
        var prefix = String(program.sectionName.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if prefix.hasPrefix("?") { prefix.removeFirst() }
        if prefix.isEmpty { prefix = program.typeName }
        switch prefix {
        case "tracepoint", "tp": (kind, observes) = ("tracepoint", true)
        case "raw_tracepoint", "raw_tp", "tp_btf", "raw_tracepoint.w", "raw_tp.w": (kind, observes) = ("rawtracepoint", true)
        case "kprobe", "ksyscall", "kprobe.multi", "kprobe.session": (kind, observes) = ("kprobe", true)
        case "kretprobe", "kretsyscall", "kretprobe.multi": (kind, observes) = ("kretprobe", true)
        case "uprobe", "uprobe.s", "uprobe.multi", "uprobe.multi.s", "uprobe.session", "uprobe.session.s":
            (kind, observes) = ("uprobe", true)
        case "uretprobe", "uretprobe.s", "uretprobe.multi", "uretprobe.multi.s": (kind, observes) = ("uretprobe", true)
        case "usdt": (kind, observes) = ("usdt", true)
        case "fentry", "fentry.s", "fentry.multi", "fentry.multi.s": (kind, observes) = ("fentry", true)
        case "fexit", "fexit.s", "fexit.multi", "fexit.multi.s": (kind, observes) = ("fexit", true)
        case "perf_event": (kind, observes) = ("perf_event", true)
        case "iter", "iter.s": (kind, observes) = ("iter", true)
        case "lsm", "lsm.s", "lsm_cgroup": (kind, observes) = ("lsm", false)
        case "fmod_ret", "fmod_ret.s": (kind, observes) = ("fmod_ret", false)
        default: (kind, observes) = (prefix, false)
        }
    }
}

/// What the agent learned from its own inspection of an object, before loading it.
public struct CheckedObject: Sendable, Equatable {
    public var programs: [ObjectProgramKind]
    /// Capabilities the object's helper calls use (all allowed, or it was refused).
    public var capabilities: Set<ProgramCapability>
    /// Kernel functions it calls (all allowed, or it was refused).
    public var kfuncs: Set<String>
}

extension ProgramChecker {
    /// Inspects an object without loading it: every program's kind against `probe_kinds`, every
    /// helper call (in every code section, subprograms included) against `programs.allow`, every
    /// kfunc against `programs.kfuncs`. The first refusal names the program, the helper or kind,
    /// and the policy line that would allow it.
    public func checkObject(_ bytes: [UInt8]) throws(ProgramRefusal) -> CheckedObject {
        guard bytes.count <= policy.maxProgramBytes else {
            throw ProgramRefusal(reason: .tooLarge, message: "the object is \(bytes.count) bytes; the limit is \(policy.maxProgramBytes)",
                                 detail: "", hint: "raise programs.max_program_bytes in the agent's policy file")
        }
        let code: BPFObjectCode
        let programs: [BPFProgram]
        do {
            code = try BPFObjectCode(elf: bytes)
            programs = try BPFObject(elf: bytes, name: "ken_inspect").programs
        } catch {
            throw ProgramRefusal(reason: .invalidObject, message: "the object cannot be inspected: \(Self.firstLine("\(error)"))",
                                 detail: "\(error)", hint: "compile it with clang -target bpf -O2 -g -c")
        }
        let kinds = programs.filter(\.autoload).map(ObjectProgramKind.init(program:))
        for program in kinds where !allowsObjectKind(program) {
            let allowed = policy.allowedProbeKinds.isEmpty ? "every kind that only observes" : policy.allowedProbeKinds.joined(separator: ", ")
            throw ProgramRefusal(
                reason: .probeKind(program.kind),
                message: "program \(program.name) is a \(program.kind) program (section \(program.section))\(program.observes ? "" : ", which can change what the kernel does"); the agent's policy does not allow that kind",
                detail: "", hint: "allowed: \(allowed); an administrator may add it with programs.probe_kinds = [..., \"\(program.kind)\"] in /etc/ken/agent.toml")
        }
        var capabilities: Set<ProgramCapability> = []
        var kfuncs: Set<String> = []
        for call in code.calls {
            let place = "in section \(call.section), instruction \(call.instruction)"
            switch call.target {
            case let .helper(id):
                if let capability = ProgramCapability(helperID: id) {
                    let name = BPFHelpers.name(id) ?? "helper \(id)"
                    guard policy.allowedCapabilities.contains(capability) else {
                        throw ProgramRefusal(
                            reason: .helper(name),
                            message: "the object calls \(name) (helper \(id)) \(place), which needs capability \(capability.rawValue); the agent's policy refuses it",
                            detail: "", hint: "an administrator may allow it with \(capability.policyLine) in /etc/ken/agent.toml")
                    }
                    capabilities.insert(capability)
                } else if id <= 0 || id > BPFHelpers.highestKnownID {
                    throw ProgramRefusal(reason: .helper("helper \(id)"),
                                         message: "the object calls helper number \(id) \(place), which the agent does not know",
                                         detail: "", hint: "helpers are numbered 1…\(BPFHelpers.highestKnownID); new kernel functionality is reached through kfuncs (programs.kfuncs)")
                }
            case let .kfunc(name):
                guard policy.allowsAnyKfunc || policy.allowedKfuncs.contains(name) else {
                    throw ProgramRefusal(
                        reason: .kfunc(name),
                        message: "the object calls the kernel function \(name) (a kfunc) \(place); the agent's policy refuses it",
                        detail: "", hint: "an administrator may allow it with programs.kfuncs = [\"\(name)\"] in /etc/ken/agent.toml")
                }
                kfuncs.insert(name)
            case let .kfuncByBTFID(id):
                guard policy.allowsAnyKfunc else {
                    throw ProgramRefusal(
                        reason: .kfunc("BTF id \(id)"),
                        message: "the object calls a kernel function by BTF id \(id) \(place); the agent cannot name it, so its policy refuses it",
                        detail: "", hint: "call kfuncs through extern __ksym declarations, or an administrator may allow any kfunc with programs.kfuncs = true")
                }
            case let .unknown(sourceRegister, immediate):
                throw ProgramRefusal(reason: .invalidObject,
                                     message: "the object has a call instruction of unknown form (src_reg \(sourceRegister), imm \(immediate)) \(place)",
                                     detail: "", hint: "compile it with clang -target bpf")
            }
        }
        if let raw = code.rawMapReferences.first {
            throw ProgramRefusal(reason: .invalidObject,
                                 message: "the object names a map by a raw file descriptor in section \(raw.section), instruction \(raw.instruction)",
                                 detail: "", hint: "declare maps in the .maps section so the loader creates them")
        }
        return CheckedObject(programs: kinds, capabilities: capabilities, kfuncs: kfuncs)
    }

    /// Observing kinds pass an empty probe_kinds; every kind passes when named.
    func allowsObjectKind(_ program: ObjectProgramKind) -> Bool {
        policy.allowedProbeKinds.isEmpty ? program.observes : policy.allowedProbeKinds.contains(program.kind)
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? Substring(text))
    }
}
