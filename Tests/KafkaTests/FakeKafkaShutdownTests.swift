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
        let descriptorsBefore = openDescriptorCount()
        let threadsBefore = threadCount()
        var connections: [FakeKafkaTestConnection] = []
        do {
            let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 3))
            try cluster.createTopic("events", partitions: 3)
            for broker in cluster.brokerIDs {
                let connection = try FakeKafkaTestConnection(cluster, broker: broker)
                _ = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
                connections.append(connection)
            }
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

    @Test("Shutdown closes listeners")
    func shutdownClosesListeners() throws {
        let cluster = try FakeKafkaCluster(configuration: FakeKafkaConfiguration(brokerCount: 2))
        let ports = try cluster.brokerIDs.map { try cluster.port(ofBroker: $0) }
        let connection = try FakeKafkaTestConnection(port: ports[0])
        _ = try connection.roundTrip(FakeKafkaRequests.apiVersions(version: 3, correlationID: 1))
        cluster.shutdown()
        #expect(connection.receive(timeout: .seconds(1)) == .closed)
        for port in ports {
            #expect(throws: TransportError.self) { try FakeKafkaTestConnection(port: port) }
        }
        cluster.shutdown()
    }

    @Test("Deinit shuts the cluster down")
    func deinitShutsDown() throws {
        var cluster: FakeKafkaCluster? = try FakeKafkaCluster()
        let port = try cluster!.port(ofBroker: 1)
        cluster = nil
        #expect(throws: TransportError.self) { try FakeKafkaTestConnection(port: port) }
    }
}
