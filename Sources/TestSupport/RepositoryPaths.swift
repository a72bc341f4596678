import Glibc

/// Locations in the source checkout, found from this file's `#filePath` at compile time, so they
/// hold only when the tests run on the machine that built them.
public enum RepositoryPaths {
    /// Package root: the directory that contains `Package.swift`
    /// (this file is `<root>/Sources/TestSupport/RepositoryPaths.swift`).
    public static var packageRoot: String {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }

    /// The shared data directory `<root>/../shared/data` with symbolic links resolved, or nil when
    /// it does not exist. Tests that need it should skip with a message naming this path.
    public static var sharedData: String? {
        let path = "\(packageRoot)/../shared/data"
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
