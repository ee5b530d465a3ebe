#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Looks up users and groups in the system's databases (NSS: /etc/passwd, /etc/group, LDAP, …).
/// The one place Ken calls the C user database; pointers never leave these functions.
public enum UserDatabase {
    /// The gid of group `name`, or nil if there is no such group.
    public static func groupID(named name: String) -> UInt32? {
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getgrnam_r(name, &group, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return group.gr_gid
    }

    /// The uid of user `name`, or nil if there is no such user.
    public static func userID(named name: String) -> UInt32? {
        guard let (uid, _, _) = passwdEntry(name: name) else { return nil }
        return uid
    }

    /// The login name of `uid`, or nil if it has none.
    public static func userName(uid: UInt32) -> String? {
        var pwd = Glibc.passwd()
        var result: UnsafeMutablePointer<Glibc.passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getpwuid_r(uid, &pwd, &buffer, buffer.count, &result)
        guard rc == 0, result != nil, let name = pwd.pw_name else { return nil }
        return String(cString: name)
    }

    private static func passwdEntry(name: String) -> (UInt32, UInt32, String)? {
        var pwd = Glibc.passwd()
        var result: UnsafeMutablePointer<Glibc.passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getpwnam_r(name, &pwd, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return (pwd.pw_uid, pwd.pw_gid, name)
    }

    /// Every group `uid` belongs to: its primary group and its supplementary groups from the group
    /// database. A uid without a passwd entry belongs to no named group.
    public static func groups(ofUID uid: UInt32) -> Set<UInt32> {
        guard let name = userName(uid: uid), let (_, primary, _) = passwdEntry(name: name) else { return [] }
        var count: Int32 = 64
        for _ in 0..<4 {
            var gids = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(name, primary, &gids, &n) >= 0 {
                return Set(gids.prefix(Int(n)).map { UInt32($0) })
            }
            count = max(n, count * 2)
        }
        return [primary]
    }
}
