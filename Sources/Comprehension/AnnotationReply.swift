import BpftraceSyntax

/// Reads the annotations out of an LLM reply.
///
/// Accepted shapes, in order of preference:
/// 1. the requested block: probe headers holding only `assume`/`assert` statements;
/// 2. the whole candidate re-printed with annotations in it: accepted only when, without its
///    annotations, it is the candidate (top-level annotations are taken; assumes go first,
///    asserts last);
/// 3. a block that does not parse as a whole: each `assume(…)`/`assert(…)` line under a probe
///    header is parsed on its own, so one bad line loses only itself.
/// Everything not taken is reported in `notes`, never dropped silently.
struct AnnotationReply {
    /// Annotations per probe header, as written in the reply.
    var blocks: [(header: String, statements: [Statement])] = []
    var notes: [String] = []

    init(reply: String, candidate: Program) {
        guard let block = Self.pickBlock(reply) else {
            notes.append("the LLM reply has no fenced code block; no LLM annotations were used")
            return
        }
        let parsed = Parser.parse(source: block, file: "llm-annotations")
        if let program = parsed.program {
            take(program, candidate: candidate)
        } else {
            let first = parsed.diagnostics.first { $0.severity == .error }.map { $0.render(source: block) } ?? ""
            notes.append("the LLM annotations block does not parse as a whole (\(first)); reading it line by line")
            salvage(block)
        }
    }

    private mutating func take(_ program: Program, candidate: Program) {
        for probe in program.probes {
            let header = probe.attachPoints.map(\.text).joined(separator: ",")
            if probe.predicate != nil {
                notes.append("dropped the LLM's probe \(header): it adds a predicate, which changes the program")
            }
            let annotations = probe.body.statements.filter(Self.isAnnotation)
            let others = probe.body.statements.filter { !Self.isAnnotation($0) }
            if others.isEmpty {
                if probe.predicate == nil { blocks.append((header, annotations)) }
                continue
            }
            // A re-printed program: acceptable only if it is the candidate's probe unchanged.
            let stripped = stripAnnotations(Program(probes: [probe]))
            let same = candidate.probes.contains { original in
                stripAnnotations(Program(probes: [original])).isStructurallyEqual(to: stripped)
            }
            if same {
                blocks.append((header, annotations))
                let nested = Self.countNestedAnnotations(probe.body)
                if nested > 0 {
                    notes.append("dropped \(nested) LLM annotation(s) of \(header) nested inside blocks: only top-level annotations are placed")
                }
            } else {
                notes.append("dropped the LLM's annotations for \(header): its reply changes the program itself, not only annotations")
            }
        }
    }

    /// Line-by-line reading of a block that failed to parse.
    private mutating func salvage(_ block: String) {
        var header: String?
        var collected: [Statement] = []
        func flush() {
            if let header, !collected.isEmpty { blocks.append((header, collected)) }
            collected = []
        }
        for raw in block.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("{"), !line.hasPrefix("assume"), !line.hasPrefix("assert") {
                flush()
                header = line.dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard line.hasPrefix("assume") || line.hasPrefix("assert") else { continue }
            guard let current = header else {
                notes.append("dropped LLM annotation outside any probe: \(line)")
                continue
            }
            let wrapped = "BEGIN {\n" + (line.hasSuffix(";") ? line : line + ";") + "\n}\n"
            let parsed = Parser.parse(source: wrapped, file: "llm-annotation")
            if let statement = parsed.program?.probes.first?.body.statements.first, Self.isAnnotation(statement),
               parsed.program?.probes.first?.body.statements.count == 1 {
                collected.append(statement)
            } else {
                let why = parsed.diagnostics.first { $0.severity == .error }?.message ?? "not an annotation"
                notes.append("dropped LLM annotation for \(current) that does not parse: \(line) (\(why))")
            }
        }
        flush()
    }

    static func isAnnotation(_ statement: Statement) -> Bool {
        switch statement.kind {
        case .assume, .assert: return true
        default: return false
        }
    }

    static func countNestedAnnotations(_ block: Block) -> Int {
        var count = 0
        for statement in block.statements {
            switch statement.kind {
            case let .ifStatement(_, then, otherwise):
                count += countAll(then) + (otherwise.map(countAll) ?? 0)
            case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
                 let .forRange(_, _, _, body), let .block(body):
                count += countAll(body)
            default:
                break
            }
        }
        return count
    }

    private static func countAll(_ block: Block) -> Int {
        block.statements.filter(isAnnotation).count + countNestedAnnotations(block)
    }

    /// The `annotations` block, else a `bpftrace`/`bt` one, else the first untagged one, else any.
    static func pickBlock(_ reply: String) -> String? {
        var blocks: [(tag: String, code: String)] = []
        var open: (fence: String, tag: String, lines: [Substring])?
        for line in reply.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var current = open {
                if trimmed.hasPrefix(current.fence), trimmed.allSatisfy({ $0 == current.fence.first }) {
                    blocks.append((current.tag, current.lines.joined(separator: "\n")))
                    open = nil
                } else {
                    current.lines.append(line)
                    open = current
                }
            } else if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                let mark = trimmed.first ?? "`"
                let fence = String(trimmed.prefix { $0 == mark })
                let tag = trimmed.dropFirst(fence.count).trimmingCharacters(in: .whitespaces).lowercased()
                open = (fence, tag.split(separator: " ").first.map(String.init) ?? "", [])
            }
        }
        // An unterminated last block (reply cut off) is still read: line salvage copes.
        if let open { blocks.append((open.tag, open.lines.joined(separator: "\n"))) }
        return (blocks.first { $0.tag == AnnotationPrompt.fenceTag }
            ?? blocks.first { ["bpftrace", "bt"].contains($0.tag) }
            ?? blocks.first { $0.tag.isEmpty }
            ?? blocks.first)?.code
    }
}
