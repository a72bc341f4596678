import Glibc

/// Small file-system helpers over Glibc, because TestSupport does not import Foundation.
enum POSIXFiles {
    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(code, &buffer, buffer.count) == 0 else {
            return "errno \(code)"
        }
        return "\(string(fromNullTerminated: buffer)) (errno \(code))"
    }

    static func string(fromNullTerminated buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    static func environmentValue(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// Reads a whole file, or returns nil when it cannot be opened.
    static func readBytes(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                result.append(contentsOf: chunk[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return result
    }

    static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Returns the last `maximumLines` lines of a log file, for error messages.
    static func tail(of path: String, maximumLines: Int = 20) -> String {
        guard let text = readText(path) else { return "(log \(path) is not readable)" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let lastLines = lines.suffix(maximumLines + 1).joined(separator: "\n")
        return lastLines.isEmpty ? "(log \(path) is empty)" : lastLines
    }

    /// Creates a fresh directory under `$TMPDIR` (or /tmp) with `mkdtemp`.
    static func makeTemporaryDirectory(prefix: String) throws -> String {
        let base = environmentValue("TMPDIR") ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            throw TestSupportError(
                .systemCallFailed,
                "mkdtemp in \(base) failed: \(errorText(errno)); set TMPDIR to a writable directory"
            )
        }
        return string(fromNullTerminated: template)
    }

    /// Removes a directory tree that a helper created. Symbolic links are removed, not followed.
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            unlink(path)
            return
        }
        if let directory = opendir(path) {
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name != "." && name != ".." {
                    names.append(name)
                }
            }
            closedir(directory)
            for name in names {
                removeTree("\(path)/\(name)")
            }
        }
        rmdir(path)
    }
}
