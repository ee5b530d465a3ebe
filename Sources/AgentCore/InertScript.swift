import BpftraceSyntax

/// A script made inert for verify-only: the same probes and the same code for the kernel verifier,
/// but no body can run.
///
/// bpftrace 0.17 cannot load programs without attaching them, so a verify-only load attaches every
/// probe for a moment, and BEGIN runs as soon as it is attached. Stripping bodies would hide them
/// from the verifier. Instead every probe gets the predicate `pid == 0xffffffff && (original)`:
/// the compiler and the verifier cannot know the current task's pid, so both paths (the whole
/// body) are still generated and verified, while no task has that pid (pid_max is at most 2^22),
/// so at run time no body executes: no printf, cat, system, signal, map update or exit. BEGIN,
/// END and interval probes are guarded like every other.
enum InertScript {
    /// The pid no task can have.
    static let impossiblePID: UInt64 = 0xFFFF_FFFF

    /// The program with every probe guarded, or a refusal for what cannot be made inert.
    static func make(_ program: Program) throws(ProgramRefusal) -> Program {
        var inert = program
        for index in inert.probes.indices {
            let probe = inert.probes[index]
            for point in probe.attachPoints where point.kind == .watchpoint || point.kind == .asyncwatchpoint {
                throw ProgramRefusal(reason: .probeKind(point.kind.canonicalProvider),
                                     message: "verify-only cannot make \(point.kind.canonicalProvider) probes inert",
                                     detail: "", hint: "attach the script instead, or verify it without the watchpoint")
            }
            let guardExpression = Expression(.binary(.equal, Expression(.builtin("pid")),
                                                     Expression(.integer(IntegerLiteral(impossiblePID)))))
            inert.probes[index].predicate = probe.predicate.map {
                Expression(.binary(.logicalAnd, guardExpression, $0))
            } ?? guardExpression
        }
        return inert
    }
}

extension ProgramChecker {
    /// `check`, then the text a verify-only load runs: the checked program made inert.
    public func checkForVerify(_ source: String, file: String = "extension.bt") throws(ProgramRefusal) -> CheckedProgram {
        var checked = try check(source, file: file)
        guard let program = Parser.parse(source: source, file: file).program else { return checked }  // check() parsed it
        checked.text = try prepare(try InertScript.make(program), source: source)
        return checked
    }
}
