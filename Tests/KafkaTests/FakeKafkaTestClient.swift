import FakeKafka
import Glibc
import SocketTransport

/// A blocking client connection to one fake broker, for sending hand-built frames.
final class FakeKafkaTestConnection {
    enum Received: Equatable {
        case frame([UInt8])
        case timedOut
        case closed
        /// The read failed with this errno (ECONNRESET after a reset).
        case failed(Int32?)
    }

    let socket: StreamSocket
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        socket = try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(2))
    }

    convenience init(_ cluster: FakeKafkaCluster, broker: Int32 = 1) throws {
        try self.init(port: cluster.port(ofBroker: broker))
    }

    deinit {
        socket.close()
    }

    func send(_ frame: [UInt8]) throws {
        try socket.writeAll(frame, timeout: .seconds(2))
    }

    /// Receives one response frame (without its size prefix).
    func receive(timeout: Duration = .seconds(2)) -> Received {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if buffer.count >= 4 {
                let size = buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
                if buffer.count >= 4 + size {
                    let frame = Array(buffer[4..<(4 + size)])
                    buffer.removeFirst(4 + size)
                    return .frame(frame)
                }
            }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return .timedOut }
            do {
                guard try socket.waitReadable(timeout: remaining) else { return .timedOut }
                var chunk = [UInt8](repeating: 0, count: 65_536)
                let result = try chunk.withUnsafeMutableBytes { raw throws(TransportError) in
                    try socket.read(into: raw)
                }
                switch result {
                case .bytes(let count): buffer += chunk[0..<count]
                case .wouldBlock: continue
                case .closed: return .closed
                }
            } catch {
                return .failed((error as? TransportError)?.errno)
            }
        }
    }

    /// Sends a request and returns its response frame, failing the caller's expectation with
    /// a description of what came instead.
    func roundTrip(_ frame: [UInt8], timeout: Duration = .seconds(2)) throws -> FakeKafkaResponseReader {
        try send(frame)
        switch receive(timeout: timeout) {
        case .frame(let bytes):
            return FakeKafkaResponseReader(bytes)
        case let other:
            throw FakeKafkaTestFailure("expected a response frame, received \(other)")
        }
    }
}

extension FakeKafkaTestConnection {
    /// Sends a Produce request with one batch, `records`, for partition 0 of `topic`, and returns
    /// the decoded response.
    func produce(
        version: Int16, correlationID: Int32, topic: String, records: [UInt8]
    ) throws -> FakeKafkaTestProduceResponse {
        var reader = try roundTrip(
            FakeKafkaRequests.produce(
                version: version, correlationID: correlationID,
                batches: [.init(topic: topic, partition: 0, records: records)]))
        return try reader.produceResponse(version: version)
    }
}

struct FakeKafkaTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads response fields in order; a read past the end throws.
struct FakeKafkaResponseReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw FakeKafkaTestFailure(
                "response ends at byte \(bytes.count); needed \(count) more at \(offset)")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func int8() throws -> Int8 { Int8(bitPattern: try take(1).first!) }
    mutating func int16() throws -> Int16 {
        Int16(truncatingIfNeeded: try take(2).reduce(0) { $0 << 8 | Int($1) })
    }
    mutating func int32() throws -> Int32 {
        Int32(truncatingIfNeeded: try take(4).reduce(0) { $0 << 8 | Int($1) })
    }
    mutating func int64() throws -> Int64 {
        Int64(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    mutating func bytes(_ count: Int) throws -> [UInt8] { Array(try take(count)) }

    mutating func unsignedVarint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try take(1).first!
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    mutating func arrayCount(flexible: Bool) throws -> Int {
        flexible ? Int(try unsignedVarint()) - 1 : Int(try int32())
    }

    mutating func string(flexible: Bool) throws -> String? {
        let length = flexible ? Int(try unsignedVarint()) - 1 : Int(try int16())
        if length < 0 { return nil }
        return String(decoding: try take(length), as: UTF8.self)
    }

    /// Skips a tagged-field section and returns its fields by tag.
    mutating func taggedFields() throws -> [UInt64: [UInt8]] {
        var fields: [UInt64: [UInt8]] = [:]
        let count = try unsignedVarint()
        for _ in 0..<count {
            let tag = try unsignedVarint()
            let size = Int(try unsignedVarint())
            fields[tag] = try bytes(size)
        }
        return fields
    }
}

/// One partition of a decoded Produce response.
struct FakeKafkaTestProducePartition {
    var topic: String
    var index: Int32
    var errorCode: Int16
    var baseOffset: Int64
    var logAppendTime: Int64
    var logStartOffset: Int64?
    var errorMessage: String?
    var currentLeaderTag: [UInt8]?
}

struct FakeKafkaTestProduceResponse {
    var correlationID: Int32
    var partitions: [FakeKafkaTestProducePartition]
    var throttleTime: Int32
    var nodeEndpointsTag: [UInt8]?
}

extension FakeKafkaResponseReader {
    /// Decodes a Produce response of `version` (ProduceResponse.json) and checks nothing is left.
    mutating func produceResponse(version: Int16) throws -> FakeKafkaTestProduceResponse {
        let flexible = version >= 9
        let correlationID = try int32()
        if flexible { _ = try taggedFields() }
        var partitions: [FakeKafkaTestProducePartition] = []
        for _ in 0..<(try arrayCount(flexible: flexible)) {
            let topic = try string(flexible: flexible) ?? "<null>"
            for _ in 0..<(try arrayCount(flexible: flexible)) {
                var partition = FakeKafkaTestProducePartition(
                    topic: topic, index: try int32(), errorCode: try int16(), baseOffset: try int64(),
                    logAppendTime: try int64())
                if version >= 5 { partition.logStartOffset = try int64() }
                if version >= 8 {
                    for _ in 0..<(try arrayCount(flexible: flexible)) {
                        _ = try int32()
                        _ = try string(flexible: flexible)
                    }
                    partition.errorMessage = try string(flexible: flexible)
                }
                if flexible { partition.currentLeaderTag = try taggedFields()[0] }
                partitions.append(partition)
            }
            if flexible { _ = try taggedFields() }
        }
        let throttle = try int32()
        var endpoints: [UInt8]?
        if flexible { endpoints = try taggedFields()[0] }
        guard remaining == 0 else {
            throw FakeKafkaTestFailure("\(remaining) bytes follow the Produce response")
        }
        return FakeKafkaTestProduceResponse(
            correlationID: correlationID, partitions: partitions, throttleTime: throttle,
            nodeEndpointsTag: endpoints)
    }
}
