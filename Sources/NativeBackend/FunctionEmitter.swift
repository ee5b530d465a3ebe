import BpftraceSemantics
import BpftraceSyntax
import KernelInfo
import NativeABI

/// A generated C expression and what it holds (see `ValueKind`).
struct CValue {
    var c: String
    var kind: ValueKind
    /// For a value-less call used as a statement (`printf`, `exit`): the same C as separate
    /// lines, so the generated code reads well in `kenc show`.
    var statements: [String]? = nil
}

/// Generates one BPF program (one probe body for one attach target): its scratch frame, its
/// variables and its statements. Expressions become C expressions (GNU statement expressions
/// where a value needs statements), so `&&`, `||` and `?:` keep their short-circuit order.
final class FunctionEmitter {
    let object: ObjectState
    let target: ProgramTarget
    let programName: String
    /// Scratch frame members (`name`, C declaration), in order.
    private(set) var frame: [String] = []
    /// Bytes of the frame: every member is 8-aligned and a multiple of 8 bytes, so this is
    /// exactly clang's `sizeof` of the frame struct.
    private(set) var frameBytes = 0
    private var frameNames: Set<String> = []
    /// `$variables`: kind and C lvalue.
    var variables: [String: CValue] = [:]
    /// Declarations of scalar variables, at the top of the function.
    var locals: [String] = []
    var body = CWriter()
    private var counter = 0

    init(object: ObjectState, target: ProgramTarget, programName: String) {
        self.object = object
        self.target = target
        self.programName = programName
    }

    var resolved: ResolvedProgram { object.resolved }
    var kernel: KernelInfo { object.kernel }

    // MARK: Names and frame

    func fresh(_ prefix: String = "_t") -> String {
        counter += 1
        return "\(prefix)\(counter)"
    }

    /// A zero-initialised-on-use buffer of `bytes` in the scratch frame; returns `f->name`.
    func frameBuffer(_ bytes: Int, name: String? = nil) -> String {
        let n = name ?? fresh("t")
        if !frameNames.contains(n) {
            frameNames.insert(n)
            let rounded = max(8, (bytes + 7) / 8 * 8)
            frame.append("char \(n)[\(rounded)] __attribute__((aligned(8)));")
            frameBytes += rounded
        }
        return "f->\(n)"
    }

    /// A frame member of a named struct type (event records).
    func frameStruct(_ type: String, name: String, size: Int) -> String {
        if !frameNames.contains(name) {
            frameBytes += (size + 7) / 8 * 8
            frameNames.insert(name)
            frame.append("\(type) \(name) __attribute__((aligned(8)));")
        }
        return "f->\(name)"
    }

    // MARK: Storing values

    /// C statements that store `value` into a destination of kind `dest` at lvalue `lvalue`
    /// (scalars: an lvalue of the destination's C type; buffers: a `char *`).
    func store(_ value: CValue, into lvalue: String, as dest: ValueKind) throws(NativeCompileError) -> String {
        if let type = dest.cScalarType {
            guard value.kind.isScalar else { throw .unsupported(.init("storing \(value.kind) where \(dest) is expected")) }
            if dest == .boolean, value.kind != .boolean { return "\(lvalue) = (__u8)((\(value.c)) != 0);" }
            return "\(lvalue) = (\(type))(\(value.c));"
        }
        switch (dest, value.kind) {
        case let (.string(size), .string(from)):
            let n = min(size, from)
            var s = cCopy(lvalue, value.c, n)
            if size > n { s += " " + cZero("(char *)(\(lvalue)) + \(n)", size - n) }
            if from > size { s += " ((char *)(\(lvalue)))[\(size - 1)] = 0;" }
            return s
        case let (.tuple(kinds), .tuple(from)) where kinds.count == from.count:
            guard let destLayout = RecordLayout(kinds), let srcLayout = RecordLayout(from) else {
                throw .unsupported(.init("tuple of \(dest)"))
            }
            var parts: [String] = [cZero(lvalue, destLayout.size)]
            for i in kinds.indices {
                let src = element(of: value, layout: srcLayout, index: i)
                let dst = elementLValue(lvalue, kind: kinds[i], offset: destLayout.fields[i].offset)
                parts.append(try store(src, into: dst, as: kinds[i]))
            }
            return parts.joined(separator: " ")
        case let (.string(size), .array(8, _, count)):
            // Bytes the resolver calls a string (`__u8 name[N]`): copied as they are.
            let n = min(size, count)
            var s = cCopy(lvalue, value.c, n)
            if size > n { s += " " + cZero("(char *)(\(lvalue)) + \(n)", size - n) }
            return s
        case (.kernelStack, .kernelStack), (.inet, .inet), (.array, .array):
            guard dest.byteSize == value.kind.byteSize else { throw .unsupported(.init("mixing \(value.kind) and \(dest)")) }
            return cCopy(lvalue, value.c, dest.byteSize)
        default:
            throw .unsupported(.init("storing \(value.kind) where \(dest) is expected"))
        }
    }

    /// A byte array (`__u8 name[N]`) as a string of N + 1 bytes: the bytes, then a NUL.
    func byteArrayAsString(_ v: CValue) -> CValue? {
        guard case let .array(8, _, count) = v.kind else { return nil }
        let t = frameBuffer(count + 1)
        return CValue(c: "({ \(cCopy(t, v.c, count)) \(t)[\(count)] = 0; \(t); })", kind: .string(size: count + 1))
    }

    /// Element `i` of a tuple buffer.
    func element(of tuple: CValue, layout: RecordLayout, index i: Int) -> CValue {
        let kind = layout.kinds[i]
        let offset = layout.fields[i].offset
        if let type = kind.cScalarType {
            return CValue(c: "(*(\(type) *)((char *)(\(tuple.c)) + \(offset)))", kind: kind)
        }
        return CValue(c: "((char *)(\(tuple.c)) + \(offset))", kind: kind)
    }

    func elementLValue(_ base: String, kind: ValueKind, offset: Int) -> String {
        if let type = kind.cScalarType { return "(*(\(type) *)((char *)(\(base)) + \(offset)))" }
        return "((char *)(\(base)) + \(offset))"
    }

    /// A value made into a buffer the caller may keep (string literals and scalars are copied).

    // MARK: Integer helpers

    /// The value widened to 64 bits by its own signedness (C's conversion does exactly that).
    func widened(_ v: CValue) throws(NativeCompileError) -> String {
        guard v.kind.isScalar else { throw .unsupported(.init("arithmetic on \(v.kind)")) }
        return "((__u64)(\(v.c)))"
    }

    func truth(_ v: CValue) throws(NativeCompileError) -> String {
        guard v.kind.isScalar else { throw .unsupported(.init("\(v.kind) used as a condition")) }
        return "((\(v.c)) != 0)"
    }

    func isSigned(_ kind: ValueKind) -> Bool { kind.integerShape?.signed ?? false }
}

/// Zeroing and copying buffers: clang's BPF backend expands small `memset`/`memcpy` inline but
/// cannot lower large ones, so those become a word loop and `bpf_probe_read_kernel`.
extension FunctionEmitter {
    static let inlineMemoryLimit = 128

    func cZero(_ pointer: String, _ bytes: Int) -> String {
        bytes <= Self.inlineMemoryLimit ? "__builtin_memset(\(pointer), 0, \(bytes));" : "ken_zero(\(pointer), \(bytes));"
    }

    func cCopy(_ destination: String, _ source: String, _ bytes: Int) -> String {
        bytes <= Self.inlineMemoryLimit ? "__builtin_memcpy(\(destination), \(source), \(bytes));"
            : "bpf_probe_read_kernel(\(destination), \(bytes), \(source));"
    }
}
