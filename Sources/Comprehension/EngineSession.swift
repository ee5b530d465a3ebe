import BpftraceSemantics
import BpftraceSyntax
import Contracts
import KernelInfo
import LLM
import PromptAsserts
import SymbolicVerifier

/// The state of one `annotate` call: contracts per probe, notes, and the verify/drop loop.
struct Session {
    let engine: ComprehensionEngine
    let prompt: String
    let file: String
    var notes: [String] = []
    var specs: [ProbeSpec?] = []
    var probeContracts: [ProbeContract?] = []
    /// LLM assumes no contract implies, by text: the proof takes them on trust.
    var assumed: [Annotation] = []

    init(engine: ComprehensionEngine, prompt: String, file: String) {
        self.engine = engine
        self.prompt = prompt
        self.file = file
    }

    /// Finds the contract of each probe. Probes with several attach points or wildcards get no
    /// contract facts: a fact about one target need not hold for the others.
    mutating func resolveContracts(_ program: Program) {
        specs = []
        probeContracts = []
        for probe in program.probes {
            let text = probe.attachPoints.map(\.text).joined(separator: ",")
            guard probe.attachPoints.count == 1, let point = probe.attachPoints.first,
                  !point.target.contains(where: { Glob.hasWildcard($0) }), let spec = ProbeSpec(point) else {
                if probe.attachPoints.contains(where: { ProbeSpec($0) != nil }) {
                    notes.append("\(text): several or wildcard attach points, so no per-probe contract facts were used")
                }
                specs.append(nil)
                probeContracts.append(nil)
                continue
            }
            specs.append(spec)
            do {
                let contract = try engine.contracts.contract(for: spec)
                if contract == nil { notes.append("no contract for \(text): this kernel has no such probe") }
                probeContracts.append(contract)
            } catch {
                notes.append("contracts of \(text) unreadable: \(error)")
                probeContracts.append(nil)
            }
        }
    }

    /// Ken's kernel-value checks (byte order, user pointers) on the candidate as written.
    /// Types come from the resolver; the probe contracts supply only what it cannot know: the
    /// kernel-function arguments that hold user addresses (`__user` tags, SYSCALL_DEFINE bodies).
    mutating func kernelValueWarnings(_ program: Program, resolved: ResolvedProgram?) -> [Diagnostic] {
        guard let resolved = resolved ?? engine.kernel.map({ Resolver(kernel: $0).resolve(program) }) else {
            notes.append("no kernel types: Ken's byte-order and user-pointer checks did not run")
            return []
        }
        var userArguments = Set<KernelValueChecks.FunctionArgument>()
        for contract in probeContracts.compactMap({ $0 }) where contract.kind == .function {
            for argument in contract.arguments where argument.isUserPointer {
                userArguments.insert(KernelValueChecks.FunctionArgument(function: contract.name, argument: argument.name))
            }
        }
        return KernelValueChecks(userPointerArguments: userArguments).warnings(resolved)
    }

    func contractTexts(_ program: Program) -> [(probe: String, text: String)] {
        var out: [(String, String)] = []
        var seen = Set<String>()
        var budget = 8000
        for contract in probeContracts.compactMap({ $0 }) where seen.insert(contract.key).inserted {
            let records = (try? engine.contracts.records(reachableFrom: contract)) ?? []
            let text = ContractText.render(contract, records: Array(records.prefix(3)))
            guard budget > 0 else { break }
            let clipped = text.count > budget ? String(text.prefix(budget)) + "\n  …" : text
            budget -= clipped.count
            out.append((ContractText.displayName(contract), clipped))
        }
        return out
    }

    func usedBuiltinFacts(_ program: Program) -> [ContractFact] {
        let used = program.probes.reduce(into: Set<String>()) { $0.formUnion(ContractAssumptions.Uses($1).builtins) }
        return engine.contracts.builtinFacts.filter {
            if case let .builtin(name) = $0.subject { return used.contains(name) }
            return false
        }
    }

    /// The candidate with the request's explicit constraints asserted before its outputs; what
    /// was asserted, and every stated constraint left out (with why), becomes a note.
    mutating func promptAsserts(_ candidate: Program) -> Program {
        let extraction = ConstraintExtractor.extract(prompt)
        let contracts = probeContracts
        let placement = AssertPlacement.place(extraction, in: candidate) { index in
            guard index < contracts.count, let contract = contracts[index] else { return nil }
            return Set(contract.arguments.map(\.name))
        }
        notes += placement.notes
        return placement.program
    }

    mutating func ask(_ llm: LLMClient, _ messages: [ChatMessage]) async -> String? {
        do {
            return try await llm.complete(messages).content
        } catch {
            notes.append("LLM request for annotations failed: \(error.description); continuing with contract annotations only")
            return nil
        }
    }

    /// Parses, places and validates the LLM's annotations; every drop becomes a note.
    mutating func llmAnnotations(from reply: String, candidate: Program) -> [Annotation] {
        let parsed = AnnotationReply(reply: reply, candidate: candidate)
        notes += parsed.notes
        let validator = AnnotationValidator(program: candidate)
        var out: [Annotation] = []
        for block in parsed.blocks {
            guard let index = probeIndex(for: block.header, in: candidate) else {
                notes.append("dropped \(block.statements.count) LLM annotation(s) for \(block.header): the candidate has no such probe")
                continue
            }
            let probe = candidate.probes[index]
            let name = probe.attachPoints.map(\.text).joined(separator: ",")
            for statement in block.statements {
                var clean = statement
                clean.range = .unknown
                let annotation = Annotation(probeIndex: index, probe: name, statement: clean, origin: .llm,
                                            atEnd: !(AnnotationReply.isAssume(statement)))
                if let problem = validator.problem(with: statement, in: probe, spec: specs[index],
                                                   contract: probeContracts[index]) {
                    notes.append("dropped LLM annotation \(annotation.text) in \(name): \(problem)")
                } else if out.contains(where: { $0.probeIndex == index && $0.text == annotation.text }) {
                    continue
                } else if AnnotationReply.isAssume(statement) {
                    switch standing(of: clean, probeIndex: index, in: candidate) {
                    case let .contradicts(facts):
                        notes.append("dropped LLM annotation \(annotation.text) in \(name): "
                                     + (facts.isEmpty ? "it can never hold" : "it contradicts the kernel contract (\(facts))"))
                    case .implied:
                        out.append(annotation)
                    case .assumed:
                        if !assumed.contains(annotation) {
                            assumed.append(annotation)
                            notes.append("assumed (no contract implies it): \(annotation.text) in \(name)")
                        }
                        out.append(annotation)
                    }
                } else {
                    out.append(annotation)
                }
            }
        }
        return out
    }

    func probeIndex(for header: String, in program: Program) -> Int? {
        let wanted = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let exact = program.probes.firstIndex(where: { probe in
            Set(probe.attachPoints.map(\.text)) == Set(wanted) || probe.attachPoints.map(\.text).contains(header)
        }) { return exact }
        // Same target spelled differently (`kfunc:` for `fentry:`, `t:` for `tracepoint:`).
        guard wanted.count == 1, let spec = ProbeSpec(wanted[0]) else { return nil }
        return program.probes.firstIndex { probe in
            probe.attachPoints.count == 1 && probe.attachPoints.first.flatMap(ProbeSpec.init).map {
                $0.key == spec.key && $0.access == spec.access
            } == true
        }
    }

    // MARK: Assemble and verify

    struct Outcome {
        var program: Program
        var source: String
        var kept: [Annotation]
        var verification: VerificationResult?
        var rejected: [(annotation: Annotation, reason: String)]
        /// The origin of each assert, by "LINE:COLUMN" in `source`.
        var assertOrigins: [String: Annotation.Origin] = [:]
    }

    /// Inserts the annotations (assumes first, asserts last in each probe body), prints and
    /// re-parses, and returns which top-level statement position holds which annotation. The
    /// tree is the re-parsed one (positions in the printed text) unless the text did not parse.
    func assemble(_ candidate: Program, _ annotations: [Annotation]) -> (program: Program, source: String,
                                                                        placed: [String: Annotation], reparsed: Bool) {
        var program = candidate
        var layout: [(prefix: [Annotation], suffix: [Annotation])] = []
        for index in program.probes.indices {
            let mine = annotations.filter { $0.probeIndex == index }
            let prefix = mine.filter { !$0.atEnd }
            let suffix = mine.filter(\.atEnd)
            program.probes[index].body.statements = prefix.map(\.statement) + program.probes[index].body.statements
                + suffix.map(\.statement)
            layout.append((prefix, suffix))
        }
        let source = Printer.print(program)
        guard let reparsed = Parser.parse(source: source, file: file).program else {
            return (program, source, [:], false)
        }
        var placed: [String: Annotation] = [:]
        for (index, probe) in reparsed.probes.enumerated() where index < layout.count {
            let statements = probe.body.statements
            for (offset, annotation) in layout[index].prefix.enumerated() where offset < statements.count {
                placed[Self.key(statements[offset].range.start)] = annotation
            }
            let suffix = layout[index].suffix
            for (offset, annotation) in suffix.enumerated() {
                let position = statements.count - suffix.count + offset
                if position >= 0 { placed[Self.key(statements[position].range.start)] = annotation }
            }
        }
        return (reparsed, source, placed, true)
    }

    static func key(_ location: SourceLocation) -> String { "\(location.line):\(location.column)" }

    /// Who claimed each assert of the assembled program: the placed annotations by position,
    /// and the request's own asserts (placed inside the body, before each output) by their marker.
    static func assertOrigins(_ placed: [String: Annotation], _ program: Program) -> [String: Annotation.Origin] {
        var origins = placed.filter { $0.value.isAssert }.mapValues(\.origin)
        func walk(_ block: Block) {
            for statement in block.statements {
                switch statement.kind {
                case let .assert(_, message?) where message.hasPrefix(AssertPlacement.marker):
                    let key = key(statement.range.start)
                    if origins[key] == nil { origins[key] = .prompt }
                case let .ifStatement(_, then, otherwise):
                    walk(then)
                    if let otherwise { walk(otherwise) }
                case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
                     let .forRange(_, _, _, body), let .block(body):
                    walk(body)
                default:
                    break
                }
            }
        }
        program.probes.forEach { walk($0.body) }
        return origins
    }

    mutating func verify(_ candidate: Program, mechanical: [Annotation], llm: inout [Annotation],
                         attempt: Int) -> Outcome {
        var contractAnnotations = mechanical
        var round = 0
        while true {
            round += 1
            let all = contractAnnotations + llm
            let (program, source, placed, reparsed) = assemble(candidate, all)
            let prepared = reparsed ? VerificationFrontEnd.prepare(program: program, kernel: engine.kernel)
                : VerificationFrontEnd.prepare(source: source, file: file, kernel: engine.kernel)
            switch prepared {
            case let .failure(failure):
                var culprits: [Annotation] = []
                for diagnostic in failure.diagnostics {
                    if let annotation = annotation(at: diagnostic.range, in: program, placed: placed),
                       !culprits.contains(annotation) {
                        culprits.append(annotation)
                        notes.append("dropped annotation \(annotation.text) in \(annotation.probe): \(diagnostic.message)")
                    }
                }
                if culprits.isEmpty || round > 4 {
                    let first = failure.diagnostics.first.map { $0.render(source: source) } ?? "unknown error"
                    notes.append("the annotated program does not resolve, so nothing was proven: \(first)")
                    return Outcome(program: program, source: source, kept: all, verification: nil, rejected: [],
                                   assertOrigins: Self.assertOrigins(placed, program))
                }
                contractAnnotations.removeAll { culprits.contains($0) }
                llm.removeAll { culprits.contains($0) }
            case let .success(typed):
                let result = engine.verifier.verify(typed, prompt: prompt)
                record(source: source, program: program, result: result, attempt: attempt)
                let rejected = vacuous(result, placed: placed, annotations: all)
                return Outcome(program: program, source: source, kept: all, verification: result, rejected: rejected,
                               assertOrigins: Self.assertOrigins(placed, program))
            }
        }
    }

    /// The annotation whose top-level statement contains `range`.
    func annotation(at range: SourceRange, in program: Program, placed: [String: Annotation]) -> Annotation? {
        for probe in program.probes {
            for statement in probe.body.statements
            where statement.range.start.offset <= range.start.offset && range.start.offset < max(statement.range.end.offset, statement.range.start.offset + 1) {
                return placed[Self.key(statement.range.start)]
            }
        }
        return nil
    }

    /// LLM annotations the verifier found vacuous: asserts that hold whatever the program
    /// does, and assumes that make the paths to an assert impossible.
    func vacuous(_ result: VerificationResult, placed: [String: Annotation],
                 annotations: [Annotation]) -> [(annotation: Annotation, reason: String)] {
        var out: [(annotation: Annotation, reason: String)] = []
        for assertResult in result.asserts {
            guard let annotation = placed["\(assertResult.position.line):\(assertResult.position.column)"] else { continue }
            if assertResult.vacuous, annotation.origin == .llm {
                out.append((annotation, assertResult.reason ?? "it holds regardless of the program"))
            } else if let reason = assertResult.reason, reason.hasPrefix("vacuous") {
                let assumes = annotations.filter {
                    $0.origin == .llm && !$0.isAssert && $0.probeIndex == annotation.probeIndex
                }
                for assume in assumes where !out.contains(where: { $0.annotation == assume }) {
                    out.append((assume, "the assumes contradict each other or the probe's conditions, so \(annotation.text) holds only vacuously"))
                }
            }
        }
        return out
    }

    mutating func record(source: String, program: Program, result: VerificationResult, attempt: Int) {
        guard let log = engine.log else { return }
        let probes = program.probes.map { $0.attachPoints.map(\.text).joined(separator: ",") }
        do {
            try log.append(AnnotationLogEntry(prompt: prompt, probes: probes, source: source, result: result,
                                              attempt: attempt, notes: notes))
        } catch {
            notes.append("could not record the annotated program: \(error)")
        }
    }
}

extension AnnotationReply {
    static func isAssume(_ statement: Statement) -> Bool {
        if case .assume = statement.kind { return true }
        return false
    }
}
