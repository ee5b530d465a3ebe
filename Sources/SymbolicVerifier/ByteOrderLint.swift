import BpftraceSemantics
import BpftraceSyntax

/// Flags printing a value the kernel keeps in network byte order (`__be16`, `__be32`,
/// `__be64`: ports and addresses in `struct sock`) without swapping it, the paper's example of
/// a plausible-looking but wrong program. A warning, not a verdict: asserts decide correctness,
/// this makes the likely mistake visible even when no assert talks about it.
enum ByteOrderLint {
    static let printing: Set<String> = ["printf", "print", "printk", "debugf", "errorf", "warnf"]
    /// The ones whose first argument is a format string.
    static let formatted: Set<String> = ["printf", "printk", "debugf", "errorf", "warnf"]

    static func warnings(_ resolved: ResolvedProgram) -> [VerificationWarning] {
        var found: [VerificationWarning] = []
        for probe in resolved.program.probes {
            visit(probe.body) { expression in
                guard case let .call(name, arguments) = expression.kind, printing.contains(name) else { return }
                let values = formatted.contains(name) ? Array(arguments.dropFirst()) : arguments
                for argument in values {
                    guard let info = resolved.kernelValue(of: argument), let typedef = info.typedefName,
                          typedef.hasPrefix("__be") else { continue }
                    let text = ExpressionText.render(argument)
                    found.append(VerificationWarning(
                        position: SourcePosition(file: argument.range.start.file, line: argument.range.start.line,
                                                 column: argument.range.start.column),
                        message: "\(name) prints \(text), a \(typedef) (network byte order) value, without "
                            + "bswap(); on this little-endian machine the printed number is byte-swapped"))
                }
            }
        }
        return found
    }

    private static func visit(_ block: Block, _ action: (Expression) -> Void) {
        for statement in block.statements {
            switch statement.kind {
            case let .expression(expression):
                expression.forEachNode(action)
            case let .assignment(target, _, value):
                target.forEachNode(action)
                value.forEachNode(action)
            case let .letDeclaration(_, _, value):
                value?.forEachNode(action)
            case let .ifStatement(condition, then, otherwise):
                condition.forEachNode(action)
                visit(then, action)
                if let otherwise { visit(otherwise, action) }
            case let .unroll(_, body), let .whileLoop(_, body), let .forMap(_, _, body),
                 let .forRange(_, _, _, body), let .block(body):
                visit(body, action)
            case let .returnStatement(value):
                value?.forEachNode(action)
            case .breakStatement, .continueStatement, .assume, .assert:
                break
            }
        }
    }
}

extension SymbolicVerifier {
    /// Verifies a resolved program, adding the byte-order warnings its kernel facts allow.
    public func verify(_ resolved: ResolvedProgram, prompt: String? = nil) -> VerificationResult {
        var result = verify(resolved.program, prompt: prompt)
        result.warnings += ByteOrderLint.warnings(resolved)
        return result
    }
}
