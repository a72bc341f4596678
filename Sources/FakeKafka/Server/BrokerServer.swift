import DualStreamLogging
import SocketTransport
import Synchronization

/// One fake broker: a listener on 127.0.0.1 with its own accept thread, and a thread per
/// accepted connection.
///
/// Only the accept thread touches the listening socket, so refusing and restoring connections
/// is a request to that thread (it closes or reopens the listener within one poll interval),
/// never a close from another thread while it polls.
final class BrokerServer: Sendable {
    private struct Control {
        var wantsListening = true
        var isListening = true
        var connections: [ConnectionHandle] = []
    }

    let nodeID: Int32
    let port: Int
    private let core: ClusterCore
    private let control = Mutex(Control())
    private let acceptThread = Mutex<NativeThread?>(nil)

    /// Binds 127.0.0.1 port 0 and starts the accept thread.
    init(nodeID: Int32, core: ClusterCore) throws(FakeKafkaError) {
        let listener: ListeningSocket
        do {
            listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        } catch {
            throw .listenFailed(broker: nodeID, underlying: error.description)
        }
        self.nodeID = nodeID
        self.port = listener.port
        self.core = core
        do {
            let thread = try NativeThread.start(name: "fake-accept-\(nodeID)") { [self] in acceptLoop(listener) }
            acceptThread.withLock { $0 = thread }
        } catch {
            listener.close()
            throw .listenFailed(broker: nodeID, underlying: error.description)
        }
    }

    private func acceptLoop(_ initial: ListeningSocket) {
        var listener: ListeningSocket? = initial
        while !core.isStopping {
            let wanted = control.withLock { $0.wantsListening }
            if !wanted, let open = listener {
                open.close()
                listener = nil
                control.withLock { $0.isListening = false }
            } else if wanted, listener == nil {
                // Rebinding the same port works because the listener sets SO_REUSEADDR.
                listener = try? ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: port))
                let reopened = listener != nil
                control.withLock { $0.isListening = reopened }
            }
            reapFinishedConnections()
            guard let open = listener else {
                sleep(for: BrokerConnection.pollInterval) { core.isStopping }
                continue
            }
            do {
                if let socket = try open.accept(timeout: BrokerConnection.pollInterval) {
                    startConnection(socket)
                }
            } catch {
                core.logger.debug(
                    "fake broker accept failed", metadata: ["kafka.broker": "\(nodeID)", "error": "\(error)"])
                sleep(for: BrokerConnection.pollInterval) { core.isStopping }
            }
        }
        listener?.close()
    }

    private func startConnection(_ socket: StreamSocket) {
        let handle = ConnectionHandle(id: core.nextConnectionID())
        core.state.withLock { $0.acceptedConnections[nodeID, default: 0] += 1 }
        let core = self.core
        let broker = nodeID
        do {
            let thread = try NativeThread.start(name: "fake-broker-\(broker)") {
                var connection = BrokerConnection(socket: socket, handle: handle, core: core, broker: broker)
                connection.run()
            }
            handle.thread.withLock { $0 = thread }
            control.withLock { $0.connections.append(handle) }
        } catch {
            core.state.withLock { $0.problems.append("broker \(broker): \(error); connection dropped") }
            socket.close()
        }
    }

    /// Joins the threads of connections that ended, so a long test does not accumulate them.
    private func reapFinishedConnections() {
        let finished = control.withLock { control in
            let done = control.connections.filter { $0.finished.load(ordering: .acquiring) }
            control.connections.removeAll { $0.finished.load(ordering: .acquiring) }
            return done
        }
        for handle in finished {
            handle.thread.withLock { $0 }?.join()
        }
    }

    /// Closes the listener (new connections are refused) or reopens it on the same port, and
    /// waits up to two seconds for the accept thread to do so. Returns false on timeout.
    func setListening(_ listening: Bool) -> Bool {
        control.withLock { $0.wantsListening = listening }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(2))
        while clock.now < deadline {
            if control.withLock({ $0.isListening == listening }) { return true }
            sleep(for: .milliseconds(5)) { false }
        }
        return false
    }

    /// Asks every open connection to reset (SO_LINGER 0, then close). Each connection thread
    /// does it within one poll interval; returns the number of connections asked.
    func resetConnections() -> Int {
        let open = control.withLock { $0.connections.filter { !$0.finished.load(ordering: .acquiring) } }
        for handle in open {
            handle.resetRequested.store(true, ordering: .releasing)
        }
        return open.count
    }

    /// Joins the accept thread and every connection thread. Call after setting `core.stopping`.
    func join() {
        acceptThread.withLock { $0 }?.join()
        let connections = control.withLock { control in
            let all = control.connections
            control.connections.removeAll()
            return all
        }
        for handle in connections {
            handle.thread.withLock { $0 }?.join()
        }
    }
}
