import Foundation

/// Who and where: `job_runs.invoked_by`, `host` and `pid`.
public enum Invoker {
    /// `SUPPORTBILL_INVOKED_BY` if set; else `systemd:<unit>` under systemd; else the user
    /// (`SUDO_USER via sudo` when run through sudo).
    public static var current: String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["SUPPORTBILL_INVOKED_BY"], !explicit.isEmpty { return explicit }
        if environment["INVOCATION_ID"] != nil, let unit = environment["SUPPORTBILL_UNIT"] { return "systemd:\(unit)" }
        if environment["INVOCATION_ID"] != nil { return "systemd" }
        if let sudo = environment["SUDO_USER"], !sudo.isEmpty { return "\(sudo) via sudo" }
        if let user = environment["USER"], !user.isEmpty { return user }
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(geteuid())"
    }

    public static var host: String { ProcessInfo.processInfo.hostName }
    public static var pid: Int { Int(getpid()) }
}
