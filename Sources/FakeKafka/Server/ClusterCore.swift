import DualStreamLogging
import Synchronization

/// State shared by the cluster object and its broker threads. Threads hold this, not the
/// `FakeKafkaCluster`, so that dropping the cluster object still shuts everything down.
final class ClusterCore: Sendable {
    let state: Mutex<ClusterState>
    let stopping = Atomic<Bool>(false)
    private let connectionCounter = Atomic<Int>(0)
    let maxRequestSize: Int
    let logger: Logger

    init(state: ClusterState, logger: Logger) {
        self.maxRequestSize = state.configuration.maxRequestSize
        self.state = Mutex(state)
        self.logger = logger
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    func nextConnectionID() -> Int {
        connectionCounter.add(1, ordering: .relaxed).newValue
    }
}
