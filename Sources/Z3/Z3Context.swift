import CZ3

/// One Z3 context with reference-counted ASTs (`Z3_mk_context_rc`).
///
/// Every term, solver and model made from a context keeps the context alive, and the context is
/// deleted only when the last of them is gone, so no handle can outlive the memory it points to.
///
/// Not `Sendable`, on purpose: a Z3 context must not be used from two threads at once. The
/// verifier makes one context per verification and keeps it inside one task; the compiler then
/// prevents it from escaping to another.
public final class Z3Context {
    let raw: Z3_context
    /// The first error Z3 reported; sticky, so a query built from a broken term is never solved.
    private(set) var firstError: Z3Error?
    /// Sorts made so far, each holding one reference. In a reference-counted context an AST with
    /// no reference may be reclaimed at the next API call, so a sort must be held between being
    /// made and being used (e.g. two sorts made for one array sort).
    private var sorts: [SortKey: Z3_sort] = [:]

    private enum SortKey: Hashable {
        case bitVector(Int)
        case array(index: Int, value: Int)
    }

    public init() throws(Z3Error) {
        guard let config = Z3_mk_config() else { throw .contextCreationFailed }
        defer { Z3_del_config(config) }
        Z3_set_param_value(config, "model", "true")
        guard let context = Z3_mk_context_rc(config) else { throw .contextCreationFailed }
        // Without this Z3's default handler prints and exits the process on any API misuse.
        Z3_set_error_handler(context, nil)
        raw = context
        interrupter = Z3Interrupter(context)
    }

    /// Lets another task stop this context's running `check` (see `Z3Interrupter`).
    public let interrupter: Z3Interrupter

    deinit {
        interrupter.invalidate()
        // Deleting the context frees every AST it owns, including the cached sorts.
        Z3_del_context(raw)
    }

    /// The linked libz3's version, e.g. "4.8.12.0".
    public static var version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, build: UInt32 = 0, revision: UInt32 = 0
        Z3_get_version(&major, &minor, &build, &revision)
        return "\(major).\(minor).\(build).\(revision)"
    }

    /// The error Z3 reported first in this context, if any.
    public var error: Z3Error? { firstError }

    /// Reads Z3's error code after a call and remembers the first failure.
    @discardableResult
    func noteError(_ operation: String) -> Bool {
        let code = Z3_get_error_code(raw)
        guard code != Z3_OK else { return false }
        if firstError == nil {
            let message = Z3_get_error_msg(raw, code).map { String(cString: $0) } ?? "unknown"
            firstError = .api(operation: operation, message: message)
        }
        return true
    }

    /// Throws the remembered error, if any.
    func throwIfFailed() throws(Z3Error) {
        if let firstError { throw firstError }
    }

    /// Wraps a freshly made AST; a nil AST (Z3 failed) becomes a placeholder `false`/zero-width
    /// node whose use is harmless because the context error is already recorded.
    func node(_ ast: Z3_ast?, _ operation: String) -> Node {
        // Take the reference before any other call so the AST cannot be reclaimed.
        let held = ast.map { Node(context: self, ast: $0) }
        noteError(operation)
        if let held { return held }
        // Z3 only returns nil together with an error code; `true` keeps the node valid.
        return Node(context: self, ast: Z3_mk_true(raw))
    }

    func symbol(_ name: String) -> Z3_symbol? {
        Z3_mk_string_symbol(raw, name)
    }

    func bvSort(_ width: Int) -> Z3_sort? {
        let key = SortKey.bitVector(max(width, 1))
        if let sort = sorts[key] { return sort }
        let sort = Z3_mk_bv_sort(raw, UInt32(clamping: max(width, 1)))
        return hold(sort, key, "mk_bv_sort")
    }

    func arraySort(indexWidth: Int, valueWidth: Int) -> Z3_sort? {
        let key = SortKey.array(index: max(indexWidth, 1), value: max(valueWidth, 1))
        if let sort = sorts[key] { return sort }
        let index = bvSort(indexWidth), value = bvSort(valueWidth)
        return hold(Z3_mk_array_sort(raw, index, value), key, "mk_array_sort")
    }

    private func hold(_ sort: Z3_sort?, _ key: SortKey, _ operation: String) -> Z3_sort? {
        guard let sort, let ast = Z3_sort_to_ast(raw, sort) else {
            noteError(operation)
            return nil
        }
        Z3_inc_ref(raw, ast)
        noteError(operation)
        sorts[key] = sort
        return sort
    }
}

/// Owns one reference to a Z3 AST and to its context.
final class Node {
    let context: Z3Context
    let ast: Z3_ast

    init(context: Z3Context, ast: Z3_ast) {
        self.context = context
        self.ast = ast
        Z3_inc_ref(context.raw, ast)
    }

    deinit {
        Z3_dec_ref(context.raw, ast)
    }

    var ctx: Z3_context { context.raw }
}
