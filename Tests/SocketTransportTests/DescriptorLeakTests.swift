import Glibc
import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    @Suite struct DescriptorLeakTests {
        /// 1,000 connect/accept/close cycles, then 200 refused connects, must leave the number of
        /// entries in /proc/self/fd where it started. The enclosing suite is serialized, but other
        /// test targets may run in parallel and hold descriptors of their own for a while, so the
        /// count gets up to 30 s to settle. A second check counts only this process's sockets
        /// on the two ports used here, which other tests cannot touch.
        @Test func connectCloseCyclesLeakNothing() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let closedPort: Int = try {
                let spare = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
                defer { spare.close() }
                return spare.port
            }()
            // One round of each step first, so that anything the runtime or test library opens
            // lazily on first use is already open when the baseline is taken.
            try Self.connectAndClose(listener)
            #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: closedPort), timeout: .seconds(1))
            }
            let baseline = openDescriptorCount()
            #expect(baseline > 0)
            let ports: Set<Int> = [listener.port, closedPort]
            #expect(SocketTable.openSockets(onPorts: ports) == 1, "only the listener should be open")

            for _ in 0..<1_000 {
                try Self.connectAndClose(listener)
            }
            for _ in 0..<200 {
                #expect(throws: TransportError.self) {
                    try StreamSocket.connect(
                        to: .tcp(host: "127.0.0.1", port: closedPort), timeout: .seconds(1))
                }
            }
            for _ in 0..<100 {
                let dropped = try StreamSocket.connect(to: listener.endpoint, timeout: .seconds(2))
                _ = dropped
            }
            while let pending = try listener.accept(timeout: .milliseconds(50)) {
                pending.close()
            }

            #expect(SocketTable.openSockets(onPorts: ports) == 1, "sockets left open: \(Self.listing())")
            let settled = try waitUntil(timeout: .seconds(30)) { openDescriptorCount() <= baseline }
            #expect(
                settled, "open descriptors: \(openDescriptorCount()), baseline \(baseline): \(Self.listing())"
            )
        }

        private static func connectAndClose(_ listener: ListeningSocket) throws {
            let client = try StreamSocket.connect(to: listener.endpoint, timeout: .seconds(2))
            let peer = try #require(try listener.accept(timeout: .seconds(2)))
            client.close()
            peer.close()
        }

        /// Lists /proc/self/fd with link targets, to show what stayed open.
        static func listing() -> String {
            guard let directory = opendir("/proc/self/fd") else { return "(no /proc)" }
            defer { closedir(directory) }
            var entries: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name != "." && name != ".." else { continue }
                var target = [CChar](repeating: 0, count: 256)
                let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
                let text =
                    length > 0
                    ? String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
                entries.append("\(name)->\(text)")
            }
            return entries.joined(separator: " ")
        }

        @Test func pollerAndListenerCloseTheirDescriptors() throws {
            let baseline = openDescriptorCount()
            for _ in 0..<200 {
                let poller = try Poller()
                let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
                try poller.register(fileDescriptor: listener.fileDescriptor, token: 1, interest: .readable)
                poller.close()
                _ = listener
            }
            let settled = try waitUntil(timeout: .seconds(5)) { openDescriptorCount() <= baseline }
            #expect(settled, "open descriptors: \(openDescriptorCount()), baseline \(baseline)")
        }
    }
}

/// Maps this process's socket descriptors to TCP ports through /proc/net/tcp and /proc/net/tcp6.
enum SocketTable {
    /// Returns how many descriptors of this process are TCP sockets whose local or remote port
    /// is in `ports`.
    static func openSockets(onPorts ports: Set<Int>) -> Int {
        let inodes = socketInodes(onPorts: ports, table: "/proc/net/tcp")
            .union(socketInodes(onPorts: ports, table: "/proc/net/tcp6"))
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            var target = [CChar](repeating: 0, count: 64)
            let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
            guard length > 0 else { continue }
            let text = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // Socket links read "socket:[12345]".
            if text.hasPrefix("socket:["), let inode = Int(text.dropFirst(8).dropLast()),
                inodes.contains(inode)
            {
                count += 1
            }
        }
        return count
    }

    /// Returns the inodes of rows whose local or remote port is in `ports`. Each row reads
    /// "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...", with
    /// addresses as hexadecimal "ADDRESS:PORT". Rows in TIME_WAIT have inode 0.
    private static func socketInodes(onPorts ports: Set<Int>, table: String) -> Set<Int> {
        guard let text = ProcessTable.readText(table) else { return [] }
        var inodes = Set<Int>()
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9 else { continue }
            let localPort = fields[1].split(separator: ":").last.flatMap { Int($0, radix: 16) }
            let remotePort = fields[2].split(separator: ":").last.flatMap { Int($0, radix: 16) }
            guard let inode = Int(fields[9]), inode != 0 else { continue }
            if ports.contains(localPort ?? -1) || ports.contains(remotePort ?? -1) {
                inodes.insert(inode)
            }
        }
        return inodes
    }
}
