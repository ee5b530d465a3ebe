import KernelInfo

/// The context struct of a tracepoint program, from the tracefs format: every field at its
/// offset (explicit padding), so `args->field` is a direct, verifier-checked context load.
enum TracepointContexts {
    static func structName(_ format: TracepointFormat) -> String {
        "ken_tp_" + CLiteral.identifier(format.category + "_" + format.name, limit: 100)
    }

    /// Whether `field` is declared with its own integer type (a direct load); fields that
    /// are not naturally aligned are declared as bytes and read with a helper instead.
    static func isDirectInteger(_ field: TracepointField) -> Bool {
        guard !field.isDynamicArray, [1, 2, 4, 8].contains(field.size), field.offset % field.size == 0 else { return false }
        switch field.type.resolved {
        case .array, .record: return false
        default: return true
        }
    }

    static func declare(_ format: TracepointFormat, into w: inout CWriter) {
        let fields = (format.commonFields + format.fields).sorted { $0.offset < $1.offset }
        w.line("/* tracepoint \(format.category):\(format.name), from its tracefs format */")
        w.block("struct \(structName(format))", trailer: ";") { w in
            var offset = 0
            var pad = 0
            for field in fields where field.offset >= offset {
                if field.offset > offset {
                    w.line("char __pad\(pad)[\(field.offset - offset)];")
                    pad += 1
                }
                let name = CLiteral.identifier(field.name)
                if field.isDynamicArray, field.size == 4 {
                    w.line("__u32 \(name); /* __data_loc: offset (low 16 bits), length (high 16) */")
                } else if isDirectInteger(field) {
                    let type: String
                    if case .pointer = field.type.resolved { type = "__u64" } else {
                        type = ValueKind.cInteger(bits: field.size * 8, signed: field.isSigned)
                    }
                    w.line("\(type) \(name); /* \(field.typeText) */")
                } else {
                    w.line("char \(name)[\(max(1, field.size))]; /* \(field.typeText) */")
                }
                offset = field.offset + max(1, field.size)
            }
        }
    }
}
