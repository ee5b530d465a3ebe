import BpftraceSyntax
import Contracts
import SymbolicVerifier

/// An LLM `assume` is a claim about the kernel, not a fact: it is weighed against the probe's
/// contract facts with the Symbolic Verifier (Z3). One the contracts contradict is dropped
/// with a note; one they imply is a fact; any other is kept but listed as "assumed", so the
/// user sees what the proof rests on beyond the kernel's own guarantees.
enum AssumeStanding: Equatable {
    /// The contract facts imply it.
    case implied
    /// The contract facts (as `assume` text) rule it out.
    case contradicts(String)
    /// Neither: the proof takes it on trust.
    case assumed
}

extension Session {
    func standing(of assume: Statement, probeIndex: Int, in candidate: Program) -> AssumeStanding {
        guard case let .assume(condition) = assume.kind, candidate.probes.indices.contains(probeIndex) else {
            return .assumed
        }
        var subject = candidate.probes[probeIndex]
        subject.predicate = nil
        subject.body.statements = [assume] // the facts about what the assume reads
        let facts = ContractAssumptions.annotations(
            probeIndex: probeIndex, probe: subject, spec: specs[probeIndex], contract: probeContracts[probeIndex],
            builtinFacts: engine.contracts.builtinFacts)
        let negated = Expression(.unary(.logicalNot, condition))
        if proves(facts, negated, probe: subject, in: candidate) {
            return .contradicts(facts.map(\.text).joined(separator: " "))
        }
        return proves(facts, condition, probe: subject, in: candidate) ? .implied : .assumed
    }

    /// Whether `facts` (contract assumes) imply `goal` in `probe`, by proving `assert(goal)` after
    /// them. False when it cannot be shown (not implied, unresolvable, solver undecided).
    private func proves(_ facts: [Annotation], _ goal: Expression, probe: Probe, in candidate: Program) -> Bool {
        var question = candidate
        var body = probe
        body.body.statements = facts.map(\.statement) + [Statement(.assert(goal, message: nil))]
        question.probes = [body]
        let source = Printer.print(question)
        guard case let .success(typed) = VerificationFrontEnd.prepare(source: source, file: "assume-check.bt",
                                                                     kernel: engine.kernel) else { return false }
        return engine.verifier.verify(typed).asserts.first?.verdict == .verified
    }
}
