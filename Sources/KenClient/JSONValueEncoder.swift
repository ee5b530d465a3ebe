import Foundation

/// An `Encoder` that builds a `JSONValue` directly: snake_case keys, and nil optionals kept as
/// `null` (JSONEncoder drops them, which would make an absent value look like a missing key).
final class JSONValueEncoder: Encoder {
    /// A node of the tree being built; containers keep references so nested ones write into
    /// their parent.
    final class Node {
        enum Content {
            case value(JSONValue)
            case object([String: Node])
            case array([Node])
        }

        var content: Content
        init(_ content: Content) { self.content = content }

        var value: JSONValue {
            switch content {
            case .value(let value): value
            case .object(let members): .object(members.mapValues(\.value))
            case .array(let nodes): .array(nodes.map(\.value))
            }
        }

        func set(_ key: String, _ node: Node) {
            if case .object(var members) = content {
                members[key] = node
                content = .object(members)
            } else {
                content = .object([key: node])
            }
        }

        func append(_ node: Node) {
            if case .array(var nodes) = content {
                nodes.append(node)
                content = .array(nodes)
            } else {
                content = .array([node])
            }
        }
    }

    let root: Node
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(root: Node = Node(.value(.null)), codingPath: [CodingKey] = []) {
        self.root = root
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = root.content {} else { root.content = .object([:]) }
        return KeyedEncodingContainer(Keyed<Key>(node: root, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .array = root.content {} else { root.content = .array([]) }
        return Unkeyed(node: root, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        Single(node: root, codingPath: codingPath)
    }

    /// One value as a node, using the plain forms for the scalar types.
    static func node<T: Encodable>(_ value: T, codingPath: [CodingKey]) throws -> Node {
        switch value {
        case let v as Bool: return Node(.value(.bool(v)))
        case let v as String: return Node(.value(.string(v)))
        case let v as Double: return Node(.value(.double(v)))
        case let v as Float: return Node(.value(.double(Double(v))))
        case let v as any BinaryInteger: return Node(.value(.integer(Int64(clamping: v))))
        case let v as Date: return Node(.value(.double(v.timeIntervalSince1970)))
        case let v as Data: return Node(.value(.string(v.base64EncodedString())))
        case let v as URL: return Node(.value(.string(v.absoluteString)))
        default:
            let encoder = JSONValueEncoder(codingPath: codingPath)
            try value.encode(to: encoder)
            return encoder.root
        }
    }

    /// `returnValue` → `return_value`, `isDataLoc` → `is_data_loc`.
    static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                if !out.isEmpty, out.last != "_" { out += "_" }
                out += character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [CodingKey]

        private func name(_ key: Key) -> String { JSONValueEncoder.snakeCase(key.stringValue) }

        mutating func encodeNil(forKey key: Key) throws { node.set(name(key), Node(.value(.null))) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            node.set(name(key), try JSONValueEncoder.node(value, codingPath: codingPath + [key]))
        }

        // Absent optionals are written as null instead of being left out: every overload the
        // protocol declares, since the defaults skip nil.
        private mutating func present<T: Encodable>(_ value: T?, _ key: Key) throws {
            if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
        }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = Node(.object([:]))
            node.set(name(key), child)
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            let child = Node(.array([]))
            node.set(name(key), child)
            return Unkeyed(node: child, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> Encoder { JSONValueEncoder(root: node, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> Encoder {
            let child = Node(.value(.null))
            node.set(name(key), child)
            return JSONValueEncoder(root: child, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [CodingKey]
        var count: Int { if case .array(let nodes) = node.content { nodes.count } else { 0 } }

        mutating func encodeNil() throws { node.append(Node(.value(.null))) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            node.append(try JSONValueEncoder.node(value, codingPath: codingPath))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = Node(.object([:]))
            node.append(child)
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let child = Node(.array([]))
            node.append(child)
            return Unkeyed(node: child, codingPath: codingPath)
        }

        mutating func superEncoder() -> Encoder {
            let child = Node(.value(.null))
            node.append(child)
            return JSONValueEncoder(root: child, codingPath: codingPath)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [CodingKey]

        mutating func encodeNil() throws { node.content = .value(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            node.content = try JSONValueEncoder.node(value, codingPath: codingPath).content
        }
    }
}
