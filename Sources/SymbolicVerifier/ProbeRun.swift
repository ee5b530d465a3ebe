import BpftraceSyntax
import Z3

/// A value read from the environment (builtin, field, map entry, ghost variable) that a
/// counterexample should show, in source terms.
struct ModelItem {
    enum Kind { case integer(signed: Bool), string, pointer }
    var name: String
    var term: Z3BitVector
    var kind: Kind
}

/// The world of one symbolic run of one probe: the values the program does not determine.
///
/// Environment symbols are shared by every path of the run (pid is pid whichever branch is
/// taken), so they live here, not in `PathState`. A class because every path and every
/// evaluation step adds to the same tables; it never leaves the verification task that made it.
final class ProbeRun {
    let context: Z3Context
    let probeIndex: Int
    let probeName: String
    let options: VerificationOptions
    let mapShapes: [String: MapShape]
    let staticTypes: StaticTypes
    let session: Session
    /// Named integer constants (`#define`s, ABI constants) usable as identifiers.
    let constants: [String: Int64]
    /// Every store into a map in the program, for the concurrent-writer rules.
    let writers: MapWriters
    /// The kinds of this probe's attach points (which probes can nest with it).
    let probeKinds: [ProbeKind]
    /// Values of unknown width and signedness (untyped fields), where they matter.
    let untyped: UntypedValues
    /// What other runs, full maps and changing memory may do; paths refer to them by index.
    var events: [WorldEvent] = []
    /// Values of untyped fields read in this run, by name (see `recordUntyped`).
    var untypedReads: [(name: String, term: Z3BitVector)] = []
    /// The first read of each pointer expression (by its text), for re-read explanations.
    var firstReads: [String: (location: SourceLocation, value: SymbolicValue)] = [:]

    /// Constraints every value of the run satisfies by its type (string canonical form, …).
    private(set) var axioms: [Z3Bool] = []
    private var symbols: [String: SymbolicValue] = [:]
    private var initialMaps: [String: Z3Array] = [:]
    private(set) var modelItems: [ModelItem] = []
    private var modelItemNames: Set<String> = []
    private var freshCounter = 0
    /// Assert locations this run could not explore completely (loop bound, path limit).
    var incompleteAsserts: [SourceLocation: String] = [:]
    /// Set when the path limit cut exploration short: every assert of the probe is then UNKNOWN
    /// unless a violation was found.
    var truncation: String?

    init(context: Z3Context, probeIndex: Int, probeName: String, options: VerificationOptions,
         mapShapes: [String: MapShape], staticTypes: StaticTypes, session: Session,
         constants: [String: Int64], writers: MapWriters, probeKinds: [ProbeKind], untyped: UntypedValues) {
        self.untyped = untyped
        self.constants = constants
        self.writers = writers
        self.probeKinds = probeKinds
        self.context = context
        self.probeIndex = probeIndex
        self.probeName = probeName
        self.options = options
        self.mapShapes = mapShapes
        self.staticTypes = staticTypes
        self.session = session
    }

    private func symbolName(_ name: String) -> String { "p\(probeIndex)|" + name }

    // MARK: Symbols

    /// The symbol for `name`, created on first use with `shape` and then fixed for the run.
    /// `valueBits` narrower than the shape means the kernel produces only that many bits.
    func environmentValue(_ name: String, shape: ValueShape, valueBits: Int? = nil,
                          show: Bool = true) -> SymbolicValue {
        if let existing = symbols[name] { return existing }
        let value = freshValue(named: symbolName(name), shape: shape, valueBits: valueBits)
        symbols[name] = value
        if show { remember(name, value) }
        return value
    }

    /// A symbol name never used before in this run: an unknown value made at each evaluation
    /// (an undefined shift, an unmodelled construct) must not be shared between loop iterations.
    func uniqueName(_ base: String) -> String {
        freshCounter += 1
        return symbolName("\(base)#\(freshCounter)")
    }

    /// A value that differs at every read (nsecs, rand, …).
    func freshRead(_ name: String, shape: ValueShape) -> SymbolicValue {
        freshCounter += 1
        let value = freshValue(named: symbolName("\(name)#\(freshCounter)"), shape: shape, valueBits: nil)
        remember("\(name) (read \(freshCounter))", value)
        return value
    }

    func freshValue(named name: String, shape: ValueShape, valueBits: Int?) -> SymbolicValue {
        switch shape {
        case let .integer(bits, signed):
            let narrow = min(valueBits ?? bits, bits)
            let term = context.bitVectorConstant(name, width: narrow)
            return .integer(term.resized(to: bits, signed: false), signed: signed)
        case let .string(size):
            let term = context.bitVectorConstant(name, width: size * 8)
            addStringAxiom(term)
            return .string(term)
        case let .pointer(pointee):
            return .pointer(context.bitVectorConstant(name, width: 64), pointee: pointee)
        case let .record(recordName):
            let address = context.bitVectorConstant(name + "&", width: 64)
            return .object(ObjectReference(address: address, record: recordName, path: [], text: name))
        case let .tuple(elements):
            return .tuple(elements.enumerated().map { index, element in
                freshValue(named: "\(name).\(index)", shape: element, valueBits: nil)
            })
        }
    }

    func remember(_ name: String, _ value: SymbolicValue) {
        guard !modelItemNames.contains(name) else { return }
        switch value {
        case let .integer(bits, signed):
            modelItemNames.insert(name)
            modelItems.append(ModelItem(name: name, term: bits, kind: .integer(signed: signed)))
        case let .string(bytes):
            modelItemNames.insert(name)
            modelItems.append(ModelItem(name: name, term: bytes, kind: .string))
        case let .pointer(address, _):
            modelItemNames.insert(name)
            modelItems.append(ModelItem(name: name, term: address, kind: .pointer))
        case let .tuple(elements):
            for (index, element) in elements.enumerated() { remember("\(name).\(index)", element) }
        case .boolean, .object, .args:
            break
        }
    }

    /// Strings are NUL-terminated within their buffer and zero after the first NUL, which is
    /// what the kernel's comm and bpftrace's str() produce; it makes == on contents plain
    /// equality of bits.
    func addStringAxiom(_ term: Z3BitVector) {
        let count = term.width / 8
        guard count > 0 else { return }
        let zero = context.bitVector(UInt64(0), width: 8)
        var parts: [Z3Bool] = [term.extract(high: count * 8 - 1, low: count * 8 - 8).eq(zero)]
        if count > 1 {
            for index in 0..<(count - 1) {
                let byte = term.extract(high: index * 8 + 7, low: index * 8)
                let next = term.extract(high: index * 8 + 15, low: index * 8 + 8)
                parts.append(byte.eq(zero).implies(next.eq(zero)))
            }
        }
        axioms.append(context.and(parts))
    }

    func addAxiom(_ fact: Z3Bool) { axioms.append(fact) }

    // MARK: Maps

    func initialMap(_ name: String) -> Z3Array {
        if let existing = initialMaps[name] { return existing }
        let shape = mapShapes[name] ?? MapShape.defaultShape
        let array = context.arrayConstant(symbolName("@" + name), indexWidth: shape.keyBits,
                                          valueWidth: shape.valueBits)
        initialMaps[name] = array
        return array
    }

    func note(_ text: String) { session.note(text) }
}
