import Glibc

/// Owns one file descriptor of a BPF object (program, map, link) and closes it exactly once when
/// the last reference goes away.
///
/// Why a class: the kernel frees a program or link only when its last fd (and pin) is gone, so the
/// fd's lifetime *is* the resource's lifetime. Immutable and `Sendable`: it can be handed between
/// tasks, and nobody can close it twice.
public final class BPFFileDescriptor: Sendable {
    /// The raw descriptor. Valid for as long as this object is alive.
    public let rawValue: Int32

    /// Takes ownership of `rawValue` (which must be an open descriptor).
    public init(owning rawValue: Int32) {
        self.rawValue = rawValue
    }

    deinit {
        _ = Glibc.close(rawValue)
    }
}
