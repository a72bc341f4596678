import Foundation
import Kafka
import Testing
import TestSupport

/// Records produced by this client are read back by kafka-python, an independent consumer.
@Suite("Producer read back by kafka-python", .serialized)
struct TansuInteropTests {
    /// kafka-python consumer that writes one tab-separated line per record, with the partition
    /// Java's default partitioner gives the key, computed by its own murmur2 (Kafka `Utils.murmur2`).
    static let readerScript = #"""
import sys, time
from kafka import KafkaConsumer, TopicPartition

def murmur2(data):
    length = len(data)
    seed, m, r = 0x9747b28c, 0x5bd1e995, 24
    h = (seed ^ length) & 0xffffffff
    for i in range(0, length - length % 4, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    tail = length - length % 4
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h

bootstrap, topic, partitions, expected, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
tps = [TopicPartition(topic, p) for p in range(partitions)]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
count = 0
deadline = time.time() + 150
with open(out, "w") as f:
    while count < expected and time.time() < deadline:
        for tp, records in consumer.poll(timeout_ms=1000, max_records=20000).items():
            for r in records:
                headers = ";".join("%s=%s" % (k, "-" if v is None else v.hex()) for k, v in r.headers)
                java = (murmur2(r.key) & 0x7fffffff) % partitions
                f.write("%d\t%d\t%s\t%s\t%d\t%s\t%d\n" % (r.partition, r.offset, r.key.hex(), r.value.hex(),
                                                         r.timestamp, headers, java))
                count += 1
consumer.close()
print("read", count)
"""#

    struct Sent {
        var key: String
        var sequence: Int
        var value: [UInt8]
        var timestamp: Int64
    }

    @Test(.timeLimit(.minutes(5)))
    func hundredThousandRecordsReadBackByKafkaPython() async throws {
        let tansu = TansuProcess()
        try tansu.start()
        defer { tansu.stop() }
        try tansu.createTopic("interop", partitions: 6)

        var configuration = KafkaProducerConfiguration(bootstrapServers: [tansu.bootstrap])
        configuration.deliveryTimeout = .seconds(60)
        let producer = try KafkaProducer(configuration: configuration, logger: TestLogging.logger)
        let total = 100_000
        let baseTimestamp: Int64 = 1_750_000_000_000
        var sent = [String: Sent]()
        var handles = [DeliveryHandle]()
        handles.reserveCapacity(total)
        for index in 0..<total {
            let key = String(format: "key-%04d", index % 1_000)
            let sequence = index / 1_000
            let padding = (0..<(index % 50)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let value = Array("\(key)#\(sequence)#".utf8) + padding
            let timestamp = baseTimestamp + Int64(index)
            let headers = [
                KafkaHeader(key: "sequence", value: Array(String(sequence).utf8)),
                KafkaHeader(key: "empty", value: nil),
            ]
            handles.append(try await producer.enqueue(ProducerRecord(
                topic: "interop", key: Array(key.utf8), value: value, headers: headers, timestamp: timestamp)))
            sent["\(key)#\(sequence)"] = Sent(key: key, sequence: sequence, value: value, timestamp: timestamp)
        }
        try await producer.flush(timeout: .seconds(60))
        var failures = 0
        for handle in handles {
            if case .failure = await handle.result() { failures += 1 }
        }
        #expect(failures == 0)
        await producer.close(timeout: .seconds(5))

        let directory = NSTemporaryDirectory() + "interop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scriptPath = directory + "/read_topic.py"
        let outputPath = directory + "/records.tsv"
        try Self.readerScript.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let run = try ChildProcess.run(
            executable: "python3",
            arguments: [scriptPath, tansu.bootstrap, "interop", "6", String(total), outputPath],
            timeout: .seconds(200))
        #expect(run.termination == .exited(0), "kafka-python reader: \(run.output)")

        let lines = try String(contentsOfFile: outputPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == total)
        var lastOffsetByKey = [String: (sequence: Int, offset: Int64)]()
        var partitionByKey = [String: Int]()
        var seen = Set<String>()
        var mismatches = [String]()
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 7, let partition = Int(fields[0]), let offset = Int64(fields[1]),
                  let timestamp = Int64(fields[4]), let javaPartition = Int(fields[6])
            else {
                mismatches.append("unparsable line: \(line)")
                continue
            }
            let key = String(decoding: Self.bytes(hex: fields[2]), as: UTF8.self)
            let value = Self.bytes(hex: fields[3])
            let valueText = String(decoding: value, as: UTF8.self)
            let parts = valueText.split(separator: "#", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let sequence = Int(parts[1]), let expected = sent["\(key)#\(sequence)"] else {
                mismatches.append("record not sent: key \(key) at \(partition)/\(offset)")
                continue
            }
            seen.insert("\(key)#\(sequence)")
            if value != expected.value { mismatches.append("value differs for \(key)#\(sequence)") }
            if timestamp != expected.timestamp { mismatches.append("timestamp \(timestamp) for \(key)#\(sequence)") }
            let expectedHeaders = "sequence=\(Self.hex(Array(String(sequence).utf8)));empty=-"
            if fields[5] != expectedHeaders { mismatches.append("headers \(fields[5]) for \(key)#\(sequence)") }
            if partition != javaPartition {
                mismatches.append("\(key) in partition \(partition), Java picks \(javaPartition)")
            }
            if let known = partitionByKey[key], known != partition { mismatches.append("\(key) in two partitions") }
            partitionByKey[key] = partition
            if let last = lastOffsetByKey[key], last.sequence < sequence, last.offset > offset {
                mismatches.append("\(key): sequence \(sequence) at offset \(offset) before \(last.sequence)")
            }
            if lastOffsetByKey[key].map({ $0.sequence < sequence }) ?? true {
                lastOffsetByKey[key] = (sequence, offset)
            }
        }
        #expect(seen.count == total)
        #expect(partitionByKey.count == 1_000)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }

    static func bytes(hex: Substring) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            result.append(UInt8(hexDigit(high) << 4 | hexDigit(low)))
        }
        return result
    }

    static func hexDigit(_ character: UInt8) -> Int {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(character - UInt8(ascii: "0"))
        default: Int(character - UInt8(ascii: "a")) + 10
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
