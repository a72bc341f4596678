import FakeKafka
import Foundation
import Kafka

/// Producer settings for tests against the fake cluster: short timeouts so failures show fast.
func testConfiguration(_ cluster: FakeKafkaCluster) -> KafkaProducerConfiguration {
    var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
    configuration.deliveryTimeout = .seconds(10)
    configuration.requestTimeout = .seconds(5)
    configuration.maxBlock = .seconds(5)
    configuration.connectTimeout = .seconds(2)
    configuration.linger = .milliseconds(1)
    return configuration
}

func record(_ topic: String, _ index: Int, partition: Int32? = 0, size: Int = 0) -> ProducerRecord {
    let value = Array("value-\(index)".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
    return ProducerRecord(topic: topic, partition: partition, key: Array("key-\(index)".utf8), value: value)
}

/// Index encoded by `record(_:_:)` in a stored value.
func recordIndex(_ value: [UInt8]?) -> Int? {
    guard let value else { return nil }
    let text = String(decoding: value.prefix { $0 != 0 && $0 < 128 }, as: UTF8.self)
    guard text.hasPrefix("value-") else { return nil }
    return Int(text.dropFirst(6).prefix { $0.isNumber })
}

/// Counts this process's TCP sockets whose remote port is one of `ports`: the client side of
/// connections to those brokers. Reads /proc/net/tcp and /proc/self/fd, so sockets of other
/// suites running at the same time are not counted.
func clientSocketCount(toPorts ports: [Int]) -> Int {
    var inodes = Set<String>()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        // String(contentsOfFile:) stops after the first 4,050 bytes of these files (seen with
        // Swift 6.3.1), so the table is read to its end through a FileHandle.
        guard let handle = FileHandle(forReadingAtPath: table),
              let data = try? handle.readToEnd()
        else { continue }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count > 9, let portText = columns[2].split(separator: ":").last,
                  let port = Int(portText, radix: 16), ports.contains(port)
            else { continue }
            inodes.insert(String(columns[9]))
        }
    }
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
    var count = 0
    for entry in entries {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry),
              target.hasPrefix("socket:[")
        else { continue }
        if inodes.contains(String(target.dropFirst(8).dropLast())) { count += 1 }
    }
    return count
}

func brokerPorts(_ cluster: FakeKafkaCluster) -> [Int] {
    cluster.bootstrapServers.compactMap { $0.split(separator: ":").last.flatMap { Int($0) } }
}

/// CPU ticks (user + system, in 1/100 s) of each thread of this process named `name`, by task id.
func threadCPUTicks(named name: String) -> [String: Int] {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [:] }
    var result = [String: Int]()
    for task in tasks {
        let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
        guard comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
              let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ")
        else { continue }
        // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
        result[task] = user + system
    }
    return result
}
