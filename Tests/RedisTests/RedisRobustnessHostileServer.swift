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
    /// lines starting with `*`, which holds for commands whose arguments contain no such line.
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

    private static func commandCount(_ bytes: [UInt8]) -> Int {
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

/// CPU time (user + system) this process used so far, from getrusage.
func processCPUTime() -> Duration {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Duration.seconds(usage.ru_utime.tv_sec) + .microseconds(usage.ru_utime.tv_usec)
    let system = Duration.seconds(usage.ru_stime.tv_sec) + .microseconds(usage.ru_stime.tv_usec)
    return user + system
}
