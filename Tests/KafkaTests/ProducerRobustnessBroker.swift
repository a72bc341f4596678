import Foundation
import Kafka
import SocketTransport
import Synchronization

/// A request as the hostile broker decoded it by hand: header fields and, for Produce v3, the
/// topic and partition of each batch.
struct HostileRequest: Sendable {
    var apiKey: Int16
    var version: Int16
    var correlationID: Int32
    var connection: Int
    var produced: [(topic: String, partition: Int32)]
}

/// What the hostile broker does with one request.
enum HostileAction: Sendable {
    /// Sends the size prefix, then these bytes (response header and body).
    case respond([UInt8])
    /// Sends exactly these bytes, size prefix included (or not, for garbage).
    case raw([UInt8])
    /// Sends the size prefix and these bytes one byte at a time, `interval` apart.
    case drip([UInt8], interval: Duration)
    case close
    case ignore
}

/// A fake broker on 127.0.0.1 that answers each request with whatever bytes the test chooses.
/// Responses are built by hand in this file, never with the producer's encoder.
final class HostileBroker: @unchecked Sendable {
    let listener: ListeningSocket
    private let stopped = Atomic<Bool>(false)
    private let state = Mutex<(requests: [HostileRequest], connections: Int, threads: Int)>(([], 0, 0))
    private let handler: @Sendable (HostileRequest) -> HostileAction
    /// Returns false to close a new connection at once, without reading.
    private let admit: @Sendable (Int) -> Bool

    var port: Int { listener.port }
    var bootstrap: String { "127.0.0.1:\(port)" }

    init(admit: @escaping @Sendable (Int) -> Bool = { _ in true },
         handler: @escaping @Sendable (HostileRequest) -> HostileAction) throws {
        listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
        self.handler = handler
        self.admit = admit
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Wait for the threads to notice, bounded.
        for _ in 0..<100 where state.withLock({ $0.threads }) > 0 { usleep(10_000) }
        listener.close()
    }

    var requests: [HostileRequest] { state.withLock { $0.requests } }
    var connectionCount: Int { state.withLock { $0.connections } }

    func requestCount(apiKey: Int16) -> Int { requests.filter { $0.apiKey == apiKey }.count }

    private func acceptLoop() {
        state.withLock { $0.threads += 1 }
        defer { state.withLock { $0.threads -= 1 } }
        while !stopped.load(ordering: .acquiring) {
            guard let socket = try? listener.accept(timeout: .milliseconds(20)) else { continue }
            let number = state.withLock { state -> Int in
                state.connections += 1
                return state.connections
            }
            guard admit(number) else {
                socket.close()
                continue
            }
            let thread = Thread { [self] in serve(socket, connection: number) }
            thread.start()
        }
    }

    private func serve(_ socket: StreamSocket, connection: Int) {
        state.withLock { $0.threads += 1 }
        defer {
            socket.close()
            state.withLock { $0.threads -= 1 }
        }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !stopped.load(ordering: .acquiring) {
            guard (try? socket.waitReadable(timeout: .milliseconds(20))) == true else { continue }
            let result = try? chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
            switch result {
            case .bytes(let count)?: buffer.append(contentsOf: chunk[0..<count])
            case .wouldBlock?: continue
            default: return
            }
            while buffer.count >= 4 {
                let size = Int(readInt32(buffer, 0))
                guard size >= 8, buffer.count >= 4 + size else { break }
                let frame = Array(buffer[4..<(4 + size)])
                buffer.removeFirst(4 + size)
                let request = parseRequest(frame, connection: connection)
                state.withLock { $0.requests.append(request) }
                switch handler(request) {
                case .respond(let bytes):
                    var out = int32Bytes(Int32(bytes.count))
                    out += bytes
                    guard (try? socket.writeAll(out, timeout: .seconds(2))) != nil else { return }
                case .raw(let bytes):
                    guard (try? socket.writeAll(bytes, timeout: .seconds(2))) != nil else { return }
                case .drip(let bytes, let interval):
                    for byte in int32Bytes(Int32(bytes.count)) + bytes {
                        guard (try? socket.writeAll([byte], timeout: .seconds(2))) != nil else { return }
                        usleep(UInt32(interval.components.attoseconds / 1_000_000_000_000))
                    }
                case .close:
                    return
                case .ignore:
                    break
                }
            }
        }
    }

    private func parseRequest(_ frame: [UInt8], connection: Int) -> HostileRequest {
        let apiKey = Int16(bitPattern: UInt16(frame[0]) << 8 | UInt16(frame[1]))
        let version = Int16(bitPattern: UInt16(frame[2]) << 8 | UInt16(frame[3]))
        let correlation = readInt32(frame, 4)
        var request = HostileRequest(apiKey: apiKey, version: version, correlationID: correlation,
                                     connection: connection, produced: [])
        guard apiKey == 0, version == 3 else { return request }
        // Produce v3: header v1 (client id), TransactionalId, Acks, TimeoutMs, TopicData.
        var offset = 8
        offset += 2 + Int(readInt16(frame, offset))
        let transactional = Int(readInt16(frame, offset))
        offset += 2 + max(0, transactional)
        offset += 2 + 4
        let topicCount = readInt32(frame, offset)
        offset += 4
        for _ in 0..<topicCount {
            let nameLength = Int(readInt16(frame, offset))
            let name = String(decoding: frame[(offset + 2)..<(offset + 2 + nameLength)], as: UTF8.self)
            offset += 2 + nameLength
            let partitionCount = readInt32(frame, offset)
            offset += 4
            for _ in 0..<partitionCount {
                let partition = readInt32(frame, offset)
                let recordsLength = Int(readInt32(frame, offset + 4))
                offset += 8 + max(0, recordsLength)
                request.produced.append((name, partition))
            }
        }
        return request
    }
}

// MARK: Hand-built response bytes

func readInt16(_ bytes: [UInt8], _ offset: Int) -> Int16 {
    Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
}

func readInt32(_ bytes: [UInt8], _ offset: Int) -> Int32 {
    var value: UInt32 = 0
    for index in 0..<4 { value = value << 8 | UInt32(bytes[offset + index]) }
    return Int32(bitPattern: value)
}

func int16Bytes(_ value: Int16) -> [UInt8] {
    let bits = UInt16(bitPattern: value)
    return [UInt8(bits >> 8), UInt8(bits & 0xff)]
}

func int32Bytes(_ value: Int32) -> [UInt8] {
    let bits = UInt32(bitPattern: value)
    return [UInt8(bits >> 24), UInt8(bits >> 16 & 0xff), UInt8(bits >> 8 & 0xff), UInt8(bits & 0xff)]
}

func int64Bytes(_ value: Int64) -> [UInt8] {
    int32Bytes(Int32(truncatingIfNeeded: value >> 32)) + int32Bytes(Int32(truncatingIfNeeded: value))
}

func stringBytes(_ text: String) -> [UInt8] {
    let utf8 = Array(text.utf8)
    return int16Bytes(Int16(utf8.count)) + utf8
}

/// ApiVersions response encoded as v0: header, ErrorCode, ApiKeys[ApiKey, MinVersion, MaxVersion].
func apiVersionsV0(_ correlation: Int32, error: Int16 = 0, keys: [(Int16, Int16, Int16)]) -> [UInt8] {
    var bytes = int32Bytes(correlation) + int16Bytes(error) + int32Bytes(Int32(keys.count))
    for (key, low, high) in keys { bytes += int16Bytes(key) + int16Bytes(low) + int16Bytes(high) }
    return bytes
}

/// Produce 3, Metadata 1 and ApiVersions 0: what the hostile broker advertises by default.
let hostileDefaultKeys: [(Int16, Int16, Int16)] = [(0, 3, 3), (3, 1, 1), (18, 0, 0)]

struct HostilePartition {
    var error: Int16 = 0
    var index: Int32
    var leader: Int32
}

struct HostileTopic {
    var error: Int16 = 0
    var name: String
    var partitions: [HostilePartition]
}

/// Metadata v1 response: Brokers[NodeId, Host, Port, Rack], ControllerId, Topics[ErrorCode, Name,
/// IsInternal, Partitions[ErrorCode, PartitionIndex, LeaderId, ReplicaNodes, IsrNodes]].
func metadataV1(_ correlation: Int32, brokers: [(Int32, String, Int32)], topics: [HostileTopic]) -> [UInt8] {
    var bytes = int32Bytes(correlation) + int32Bytes(Int32(brokers.count))
    for (node, host, port) in brokers {
        bytes += int32Bytes(node) + stringBytes(host) + int32Bytes(port) + int16Bytes(-1)
    }
    bytes += int32Bytes(1) + int32Bytes(Int32(topics.count))
    for topic in topics {
        bytes += int16Bytes(topic.error) + stringBytes(topic.name) + [0] + int32Bytes(Int32(topic.partitions.count))
        for partition in topic.partitions {
            bytes += int16Bytes(partition.error) + int32Bytes(partition.index) + int32Bytes(partition.leader)
            bytes += int32Bytes(0) + int32Bytes(0)
        }
    }
    return bytes
}

struct HostileProduceResult {
    var topic: String
    var partition: Int32
    var error: Int16 = 0
    var baseOffset: Int64 = 0
}

/// Produce v3 response: Responses[Name, PartitionResponses[Index, ErrorCode, BaseOffset,
/// LogAppendTimeMs]], ThrottleTimeMs.
func produceV3(_ correlation: Int32, results: [HostileProduceResult], throttle: Int32 = 0) -> [UInt8] {
    var bytes = int32Bytes(correlation) + int32Bytes(Int32(results.count))
    for result in results {
        bytes += stringBytes(result.topic) + int32Bytes(1)
        bytes += int32Bytes(result.partition) + int16Bytes(result.error) + int64Bytes(result.baseOffset)
        bytes += int64Bytes(-1)
    }
    return bytes + int32Bytes(throttle)
}

/// Handles ApiVersions the usual way: a request above v0 gets the v0-encoded UNSUPPORTED_VERSION
/// answer naming ApiVersions 0 only, so the producer retries at v0 and gets `keys`.
func hostileApiVersions(_ request: HostileRequest, keys: [(Int16, Int16, Int16)] = hostileDefaultKeys)
    -> HostileAction
{
    if request.version > 0 {
        return .respond(apiVersionsV0(request.correlationID, error: 35, keys: [(18, 0, 0)]))
    }
    return .respond(apiVersionsV0(request.correlationID, keys: keys))
}

/// Settings for producers aimed at a hostile broker: short timeouts, no idempotence.
func hostileConfiguration(_ broker: HostileBroker) -> KafkaProducerConfiguration {
    var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrap])
    configuration.deliveryTimeout = .seconds(2)
    configuration.requestTimeout = .seconds(1)
    configuration.maxBlock = .seconds(2)
    configuration.connectTimeout = .seconds(1)
    configuration.linger = .milliseconds(1)
    configuration.enableIdempotence = false
    configuration.acks = .leader
    return configuration
}

/// CPU seconds (user + system) this process used so far, from getrusage.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
}
