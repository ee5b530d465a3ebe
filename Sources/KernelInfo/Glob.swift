/// bpftrace-style wildcard matching for attach points: `*` matches any run of characters
/// (including none), `?` one character; everything else literally. Works on UTF-8 bytes with
/// the classic linear backtracking algorithm (no recursion, no regex compilation).
public enum Glob {
    public static func hasWildcard(_ pattern: String) -> Bool {
        pattern.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
    }

    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        return matches(p, t)
    }

    static func matches(_ p: [UInt8], _ t: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*"), question = UInt8(ascii: "?")
        var pi = 0, ti = 0
        var starP = -1, starT = 0
        while ti < t.count {
            if pi < p.count, p[pi] == question || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == star {
                starP = pi; starT = ti; pi += 1
            } else if starP >= 0 {
                pi = starP + 1; starT += 1; ti = starT
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == star { pi += 1 }
        return pi == p.count
    }

    /// The names among `names` matching `pattern` (the pattern itself when it has no
    /// wildcard and is present).
    public static func filter(_ names: [String], _ pattern: String) -> [String] {
        let p = Array(pattern.utf8)
        return names.filter { matches(p, Array($0.utf8)) }
    }
}
