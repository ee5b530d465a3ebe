/// One table of a parsed configuration file, read strictly: the one decoding path that
/// `agent.toml`, `kend.toml` and fleet manifests share. A reader names the keys it knows
/// (`only`), then asks for each key with the type it wants; any unknown key or wrong type is a
/// `TOMLDecodingError` that names the key by its dotted path (`llm.timeout`), so every file gets
/// the same strict errors in the same words. The caller adds the file name.
public struct TOMLTable: Sendable, Equatable {
    public let values: [String: TOMLValue]
    /// The table's dotted name ("llm", "" for the top level), for messages.
    public let name: String

    public init(_ values: [String: TOMLValue], name: String = "") {
        self.values = values
        self.name = name
    }

    /// The key's dotted path, as messages print it.
    public func path(_ key: String) -> String { name.isEmpty ? key : "\(name).\(key)" }

    /// Fails on the first key (in sorted order) that is not in `known`.
    public func only(_ known: Set<String>) throws(TOMLDecodingError) {
        for key in values.keys.sorted() where !known.contains(key) {
            throw TOMLDecodingError("unknown key \(path(key)) (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// Every value of this table as a sub-table, sorted by key; `expected` lists the table names
    /// for the message when a value is not a table.
    public func tables(expected: String) throws(TOMLDecodingError) -> [TOMLTable] {
        try values.keys.sorted().map { (key) throws(TOMLDecodingError) -> TOMLTable in
            guard case let .table(table) = values[key] else {
                throw TOMLDecodingError("top-level key \(path(key)) must be a [table] (\(expected))")
            }
            return TOMLTable(table, name: path(key))
        }
    }

    public func string(_ key: String, nonEmpty: Bool = false) throws(TOMLDecodingError) -> String? {
        guard let value = values[key] else { return nil }
        guard case let .string(text) = value, !nonEmpty || !text.isEmpty else {
            throw TOMLDecodingError(nonEmpty ? "\(path(key)) must be a non-empty string"
                                             : "\(path(key)) must be a string, not \(value.typeName)")
        }
        return text
    }

    /// A string that must be one of an enum's raw values.
    public func choice<Choice: RawRepresentable & CaseIterable>(_ key: String) throws(TOMLDecodingError) -> Choice?
    where Choice.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            let known = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw TOMLDecodingError("\(path(key)) must be one of \(known), not \"\(text.prefix(32))\"")
        }
        return choice
    }

    public func bool(_ key: String) throws(TOMLDecodingError) -> Bool? {
        guard let value = values[key] else { return nil }
        guard case let .boolean(flag) = value else { throw TOMLDecodingError("\(path(key)) must be true or false") }
        return flag
    }

    public func integer(_ key: String, in range: ClosedRange<Int64>) throws(TOMLDecodingError) -> Int? {
        guard let value = values[key] else { return nil }
        guard case let .integer(number) = value, range.contains(number) else {
            throw TOMLDecodingError("\(path(key)) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return Int(number)
    }

    /// An integer or a float.
    public func number(_ key: String, in range: ClosedRange<Double>) throws(TOMLDecodingError) -> Double? {
        guard let value = values[key] else { return nil }
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .float(let float): number = float
        default: throw TOMLDecodingError("\(path(key)) must be a number")
        }
        guard range.contains(number) else {
            throw TOMLDecodingError("\(path(key)) must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// An array of strings; with `allowIDs`, non-negative integers too (uids, gids), as text.
    public func strings(_ key: String, allowIDs: Bool = false) throws(TOMLDecodingError) -> [String]? {
        guard let value = values[key] else { return nil }
        guard case let .array(items) = value else { throw TOMLDecodingError("\(path(key)) must be an array") }
        return try items.map { (item) throws(TOMLDecodingError) -> String in
            switch item {
            case let .string(text): return text
            case let .integer(id) where allowIDs && id >= 0: return String(id)
            default: throw TOMLDecodingError("\(path(key)) must hold only strings\(allowIDs ? " or ids" : "")")
            }
        }
    }
}

/// A well-formed file whose content does not fit what the reader expects.
public struct TOMLDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
