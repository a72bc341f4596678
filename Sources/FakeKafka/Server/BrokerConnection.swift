import DualStreamLogging
import SocketTransport
import Synchronization

/// The handle the broker keeps for one accepted connection and its thread.
final class ConnectionHandle: Sendable {
    let id: Int
    let resetRequested = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)
    let thread = Mutex<NativeThread?>(nil)

    init(id: Int) {
        self.id = id
    }
}

/// Serves one connection on its own thread: reads size-prefixed requests, hands each to the
/// cluster state, and writes the responses in request order. Only this thread touches the socket.
struct BrokerConnection {
    /// How long a blocking wait lasts before the loop checks for shutdown or a reset request.
    static let pollInterval: Duration = .milliseconds(20)

    let socket: StreamSocket
    let handle: ConnectionHandle
    let core: ClusterCore
    let broker: Int32
    private var buffer: [UInt8] = []
    /// Index of the first unconsumed byte in `buffer`.
    private var start = 0
    private var sequence = 0

    init(socket: StreamSocket, handle: ConnectionHandle, core: ClusterCore, broker: Int32) {
        self.socket = socket
        self.handle = handle
        self.core = core
        self.broker = broker
    }

    mutating func run() {
        let metadata: Logger.Metadata = ["kafka.broker": "\(broker)", "fake.connection": "\(handle.id)"]
        core.logger.debug("fake broker accepted a connection", metadata: metadata)
        let ending = serve()
        switch ending {
        case .reset:
            socket.resetAndClose()
        case .close, .keepOpen:
            socket.close()
        }
        core.logger.debug("fake broker closed a connection", metadata: metadata)
        handle.finished.store(true, ordering: .releasing)
    }

    private var shouldStop: Bool {
        core.isStopping || handle.resetRequested.load(ordering: .acquiring)
    }

    private mutating func serve() -> HandlingOutcome.After {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if core.isStopping { return .close }
            if handle.resetRequested.load(ordering: .acquiring) { return .reset }
            do {
                guard try socket.waitReadable(timeout: Self.pollInterval) else { continue }
                let result = try chunk.withUnsafeMutableBytes { raw throws(TransportError) in
                    try socket.read(into: raw)
                }
                switch result {
                case .wouldBlock:
                    continue
                case .closed:
                    return .close
                case .bytes(let count):
                    buffer.append(contentsOf: chunk[0..<count])
                }
            } catch {
                // A reset from the peer or a closed socket ends the connection.
                return .close
            }
            frames: while true {
                switch nextFrame() {
                case .needMore:
                    break frames
                case .invalid(let problem):
                    core.logger.debug(
                        "fake broker closed a connection after an invalid frame",
                        metadata: ["kafka.broker": "\(broker)", "fake.connection": "\(handle.id)"])
                    core.state.withLock {
                        $0.problems.append("broker \(broker) connection \(handle.id): \(problem)")
                    }
                    return .close
                case .frame(let frame):
                    if let ending = process(frame) { return ending }
                }
            }
            compactBuffer()
        }
    }

    /// Handles one request and sends its response. Returns how the connection ends, or nil to
    /// keep reading.
    private mutating func process(_ frame: [UInt8]) -> HandlingOutcome.After? {
        sequence += 1
        let context = ConnectionContext(broker: broker, connection: handle.id, sequence: sequence)
        let outcome = core.state.withLock { $0.handle(frame: frame, context: context) }
        core.logger.trace(
            "fake broker handled a request",
            metadata: [
                "kafka.broker": "\(broker)", "fake.connection": "\(handle.id)", "fake.request": "\(sequence)",
                "fake.response.bytes": "\(outcome.response?.count ?? 0)",
            ])
        if let delay = outcome.delay {
            sleep(for: delay) { shouldStop }
        }
        if let response = outcome.response, !writeAll(response) {
            return .close
        }
        return outcome.after == .keepOpen ? nil : outcome.after
    }

    private enum FrameResult {
        case needMore
        case frame([UInt8])
        case invalid(String)
    }

    /// Takes the next complete request frame from the buffer. Returns `.needMore` and consumes
    /// nothing when the frame is incomplete; a declared size above the limit is invalid at once.
    private mutating func nextFrame() -> FrameResult {
        let available = buffer.count - start
        guard available >= 4 else { return .needMore }
        var size = 0
        for index in start..<(start + 4) { size = size << 8 | Int(buffer[index]) }
        let signedSize = Int(Int32(truncatingIfNeeded: size))
        guard signedSize >= 0, signedSize <= core.maxRequestSize else {
            return .invalid(
                "request size \(signedSize) is outside 0...\(core.maxRequestSize) "
                    + "(the maximum request size); connection closed")
        }
        guard available >= 4 + signedSize else { return .needMore }
        let frame = Array(buffer[(start + 4)..<(start + 4 + signedSize)])
        start += 4 + signedSize
        return .frame(frame)
    }

    private mutating func compactBuffer() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 64 * 1024 && start > buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// Writes a whole response, waiting for writability in short steps so that shutdown is not
    /// held up by a client that stopped reading. Returns false when the connection failed.
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            if shouldStop { return false }
            do {
                let written = try bytes.withUnsafeBytes { raw throws(TransportError) in
                    try socket.write(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                }
                offset += written
                if written == 0 {
                    _ = try socket.waitWritable(timeout: Self.pollInterval)
                }
            } catch {
                return false
            }
        }
        return true
    }
}
