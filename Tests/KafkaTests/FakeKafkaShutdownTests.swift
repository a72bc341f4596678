import FakeKafka
import Glibc
import SocketTransport
import TestSupport
import Testing

/// Shutdown closes every socket and joins every thread.
@Suite("FakeKafka shutdown")
struct FakeKafkaShutdownTests {
    /// Entries in /proc/self/task: the threads of this process.
    static func threadCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }

    /// Starts three brokers, opens connections that send requests, shuts down, and exits with a
    /// status naming the check that failed. It runs in a child process, where no other test
    /// opens descriptors or threads, so the counts are exact.
    static func shutdownRestoresCounts() -> Int32 {
        // Without this wait the count sometimes dropped by one mid-test: a descriptor that the
        // child's test runtime closes soon after start. Take the baseline once the count stays
        // the same for 100 ms.
        var settled = openDescriptorCount()
        for _ in 0..<20 {
            usleep(100_000)
            let now = openDescriptorCount()
            if now == settled { break }
            settled = now
        }
        let descriptorsBefore = openDescriptorCount()
        let threadsBefore = threadCount()
        var connections: [FakeKafkaTestConnection] = []
        var ports: [Int] = []
        do {
            let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
            try cluster.createTopic("events", partitions: 3)
            ports = try cluster.brokerIDs.map { try cluster.port(ofBroker: $0) }
            for broker in cluster.brokerIDs {
                let connection = try FakeKafkaTestConnection(cluster, broker: broker)
                _ = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
                connections.append(connection)
            }
            // Connections that end are reaped while the cluster runs: their threads are joined.
            let threadsBeforeTransient = threadCount()
            for _ in 0..<10 {
                let transient = try FakeKafkaTestConnection(cluster, broker: 2)
                _ = try transient.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 2))
            }
            let reaped = try waitUntil(timeout: .seconds(2)) { threadCount() == threadsBeforeTransient }
            guard reaped else { return 18 }
            // One connection left mid-request: the fake is waiting for the rest of a frame.
            try connections[0].send([0, 0, 0, 100, 0, 18])
            // 3 listeners, 3 accepted sockets and 3 client sockets.
            guard openDescriptorCount() == descriptorsBefore + 9 else { return 10 }
            // 3 accept threads and 3 connection threads.
            guard threadCount() == threadsBefore + 6 else { return 11 }
            cluster.shutdown()
        } catch {
            return 12
        }
        guard openDescriptorCount() == descriptorsBefore + connections.count else { return 13 }
        for port in ports {
            // Nothing else in this process listens, so a refused connect shows the listener closed.
            guard (try? FakeKafkaTestConnection(port: port)) == nil else { return 17 }
        }
        for connection in connections {
            guard connection.receive(timeout: .seconds(1)) == .closed else { return 14 }
        }
        connections.removeAll()
        guard openDescriptorCount() == descriptorsBefore else { return 15 }
        guard threadCount() == threadsBefore else { return 16 }
        return 0
    }

    @Test("Shutdown restores descriptor and thread counts")
    func shutdownCounts() async {
        await #expect(processExitsWith: .success) {
            exit(FakeKafkaShutdownTests.shutdownRestoresCounts())
        }
    }

    // Tests in this process run in parallel and may bind a port that a stopped broker released,
    // so these two check that open connections close. The exit test above checks the listeners.

    @Test("Shutdown closes open connections")
    func shutdownClosesConnections() throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        let first = try FakeKafkaTestConnection(cluster, broker: 1)
        let second = try FakeKafkaTestConnection(cluster, broker: 2)
        _ = try first.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        _ = try second.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        cluster.shutdown()
        #expect(first.receive(timeout: .seconds(1)) == .closed)
        #expect(second.receive(timeout: .seconds(1)) == .closed)
        cluster.shutdown()
    }

    @Test("Shutdown interrupts a delayed response")
    func shutdownDuringDelay() throws {
        let cluster = try FakeKafkaCluster()
        cluster.inject(FakeKafkaFault(.delay(.seconds(30)), apiKey: .apiVersions))
        let connection = try FakeKafkaTestConnection(cluster)
        try connection.send(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        #expect(cluster.waitForRequestsBlocking(count: 1, timeout: .seconds(2)))
        let clock = ContinuousClock()
        let start = clock.now
        cluster.shutdown()
        #expect(clock.now - start < .seconds(1))
        #expect(connection.receive(timeout: .seconds(1)) == .closed)
    }

    @Test("Deinit shuts the cluster down")
    func deinitShutsDown() throws {
        var cluster: FakeKafkaCluster? = try FakeKafkaCluster()
        let connection = try FakeKafkaTestConnection(try #require(cluster))
        _ = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        cluster = nil
        #expect(connection.receive(timeout: .seconds(1)) == .closed)
    }
}
