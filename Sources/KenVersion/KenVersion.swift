/// Ken's version: one constant every program reports (`--version`, Status replies) and that
/// `packaging/VERSION` must equal (a test checks; `packaging/build-deb` refuses a mismatch).
public enum KenVersion {
    public static let current = "0.1.0"
}
