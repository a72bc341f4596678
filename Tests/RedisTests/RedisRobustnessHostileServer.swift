import Foundation
import Glibc
import SocketTransport
import Synchronization

/// A fake Redis server on a loopback port that runs `script` for every accepted connection on
/// its own thread. Accepting stops after `maxConnections` or when ``stop()`` is called.
final class HostileRedisServer: Sendable {
    private final class Shared: Sendable {
        let stopped = Mutex(false)
        let accepted = Mutex(0)
        let finished = Mutex(false)
    }

    let port: Int
    private let listener: ListeningSocket
    private let shared = Shared()

    /// `script` gets the connection index (from 0) and the socket; it owns the socket.
    init(
        maxConnections: Int = 1_000,
        script: @escaping @Sendable (_ index: Int, _ socket: StreamSocket) -> Void
    ) throws {
        listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        port = listener.port
        let listener = self.listener
        let shared = self.shared
        Thread {
            var index = 0
            while index < maxConnections, !shared.stopped.withLock({ $0 }) {
                guard let socket = try? listener.accept(timeout: .milliseconds(20)) else { continue }
                shared.accepted.withLock { $0 += 1 }
                let connectionIndex = index
                index += 1
                Thread { script(connectionIndex, socket) }.start()
            }
            shared.finished.withLock { $0 = true }
        }.start()
    }

    var accepted: Int { shared.accepted.withLock { $0 } }

    func stop() {
        shared.stopped.withLock { $0 = true }
        let deadline = ContinuousClock.now + .seconds(2)
        while !shared.finished.withLock({ $0 }), ContinuousClock.now < deadline {
            usleep(5_000)
        }
        listener.close()
    }

    /// Reads until `count` complete RESP commands (arrays of bulk strings) arrived, or the peer
    /// closed, or `timeout` passed. Returns the bytes read. Counting is approximate: it counts
    /// lines starting with `*`, which is correct for commands whose arguments contain no such line.
    static func readCommands(_ socket: StreamSocket, count: Int, timeout: Duration = .seconds(5)) -> [UInt8] {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while ContinuousClock.now < deadline {
            if commandCount(received) >= count, commandsComplete(received) { return received }
            guard (try? socket.waitReadable(timeout: .milliseconds(20))) == true else { continue }
            let result = chunk.withUnsafeMutableBytes { try? socket.read(into: $0) }
            switch result {
            case .bytes(let n)?: received.append(contentsOf: chunk[0..<n])
            case .wouldBlock?: continue
            default: return received
            }
        }
        return received
    }

    /// Counts the commands in `bytes` by their `*` header lines. Correct for commands whose
    /// arguments contain no line starting with `*`.
    static func commandCount(_ bytes: [UInt8]) -> Int {
        var count = 0
        var atLineStart = true
        for byte in bytes {
            if atLineStart, byte == UInt8(ascii: "*") { count += 1 }
            atLineStart = byte == UInt8(ascii: "\n")
        }
        return count
    }

    private static func commandsComplete(_ bytes: [UInt8]) -> Bool {
        bytes.last == UInt8(ascii: "\n")
    }

    /// Writes `text` and ignores failures, as a hostile server would.
    static func send(_ socket: StreamSocket, _ text: String) {
        try? socket.writeAll(Array(text.utf8), timeout: .seconds(2))
    }

    /// Keeps the connection open, discarding input, until the peer closes or `timeout` passes.
    static func drainUntilClosed(_ socket: StreamSocket, timeout: Duration = .seconds(10)) {
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while ContinuousClock.now < deadline {
            guard (try? socket.waitReadable(timeout: .milliseconds(20))) == true else { continue }
            let result = chunk.withUnsafeMutableBytes { try? socket.read(into: $0) }
            if case .bytes = result { continue }
            if case .wouldBlock = result { continue }
            return
        }
    }
}

// MARK: Common scripts

extension HostileRedisServer {
    /// Starts a server that never replies and discards input until the peer closes the connection.
    static func silent(maxConnections: Int = 1_000) throws -> HostileRedisServer {
        try HostileRedisServer(maxConnections: maxConnections) { _, socket in
            drainUntilClosed(socket)
            socket.close()
        }
    }

    /// Starts a server that closes every connection as soon as it accepts it.
    static func closingEveryConnection() throws -> HostileRedisServer {
        try HostileRedisServer(maxConnections: 100_000) { _, socket in
            socket.close()
        }
    }

    /// Starts a server that reads one command on each connection, sends `reply(index)`, then
    /// discards input until the peer closes the connection.
    static func replyingOnce(
        _ reply: @escaping @Sendable (_ index: Int) -> String
    ) throws -> HostileRedisServer {
        try HostileRedisServer { index, socket in
            _ = readCommands(socket, count: 1)
            send(socket, reply(index))
            drainUntilClosed(socket)
            socket.close()
        }
    }

    /// Starts a server that runs `firstConnection` on connection 0 and `laterConnections`, by
    /// default `answerEveryCommand`, on the others. Each connection closes when its script returns.
    static func misbehavingOnce(
        then laterConnections: @escaping @Sendable (StreamSocket) -> Void = answerEveryCommand,
        _ firstConnection: @escaping @Sendable (StreamSocket) -> Void
    ) throws -> HostileRedisServer {
        try HostileRedisServer { index, socket in
            if index == 0 {
                firstConnection(socket)
            } else {
                laterConnections(socket)
            }
            socket.close()
        }
    }

    /// Starts a server whose connection 0 reads one command, sends `reply` and then discards input
    /// until the peer closes the connection. Later connections run `answerEveryCommand`.
    static func misbehavingOnce(reply: String) throws -> HostileRedisServer {
        try misbehavingOnce { socket in
            _ = readCommands(socket, count: 1)
            send(socket, reply)
            drainUntilClosed(socket)
        }
    }

    /// Replies `:9` to every command until the peer closes or stays silent for 3 seconds.
    static func answerEveryCommand(_ socket: StreamSocket) {
        while true {
            let received = readCommands(socket, count: 1, timeout: .seconds(3))
            let count = commandCount(received)
            if count == 0 { return }
            send(socket, String(repeating: ":9\r\n", count: count))
        }
    }

    /// Waits until this server has accepted `count` connections or `timeout` has passed.
    func waitUntilAccepted(_ count: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while accepted < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sleeps for `duration`, then returns the connections this server accepted meanwhile and the
    /// CPU time used meanwhile by the threads started after `threadsBefore` was taken.
    func reconnectCost(
        threadsBefore: Set<Int>, over duration: Duration
    ) async throws -> (connects: Int, cpu: Duration) {
        let cpuBefore = threadCPUTimes()
        let acceptedBefore = accepted
        try await Task.sleep(for: duration)
        let cpu = cpuTimeOfNewThreads(before: threadsBefore, start: cpuBefore)
        return (accepted - acceptedBefore, cpu)
    }
}

/// CPU time (user + system) of each thread of this process, by thread id, from the utime and
/// stime fields of /proc/self/task/<tid>/stat. Process-wide getrusage would also count tests
/// that run in parallel.
func threadCPUTimes() -> [Int: Duration] {
    let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))
    var times: [Int: Duration] = [:]
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    for task in tasks {
        guard let tid = Int(task),
            let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
            let commandEnd = stat.lastIndex(of: ")")
        else { continue }
        // After "pid (comm)" come state (field 3) and so on; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: commandEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else {
            continue
        }
        times[tid] = .milliseconds((user + system) * 1_000 / ticksPerSecond)
    }
    return times
}

/// CPU time that the threads started after `before` used between `start` and now.
func cpuTimeOfNewThreads(before: Set<Int>, start: [Int: Duration]) -> Duration {
    var total = Duration.zero
    for (tid, now) in threadCPUTimes() where !before.contains(tid) {
        total += now - (start[tid] ?? .zero)
    }
    return total
}
