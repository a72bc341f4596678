import TestSupport
import Testing

@testable import KafkaWire

/// Seeded random mutations of every recorded fixture, decoded by every decoder that applies.
///
/// Each decode must return or throw `WireDecodingError` with an offset inside the buffer it read;
/// a trap ends the test process, and the time limit catches a hang. The generator is seeded from
/// the fixture's name, so a failure reproduces with the same input on every run. Batches are
/// fuzzed with their Length and CRC fixed up afterwards, so mutations reach the record fields
/// behind the checksum instead of failing it.
@Suite(.timeLimit(.minutes(2))) struct DecoderFuzzTests {
    static let iterationsPerFixture = 400

    /// Values that sit on the edges of lengths, counts and varints.
    static let edgeIntegers: [Int64] = [
        0, 1, -1, -2, 0x7F, 0x80, 0xFF, Int64(Int16.max), Int64(Int16.min), 0xFFFF,
        Int64(Int32.max), Int64(Int32.min), Int64(UInt32.max), Int64.max, Int64.min,
    ]

    /// Seeds from the name with FNV-1a, so each fixture gets its own fixed sequence.
    static func seed(_ name: String) -> UInt64 {
        name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// Applies one to four random edits: bit flips, edge bytes, edge integers of every width,
    /// overlong varints, insertions, deletions, duplicated ranges and truncation.
    static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            guard !bytes.isEmpty else {
                bytes = [UInt8.random(in: 0...255, using: &generator)]
                continue
            }
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<9, using: &generator) {
            case 0:
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1:
                bytes[index] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF].randomElement(using: &generator)!
            case 2:
                let value = edgeIntegers.randomElement(using: &generator)!
                let width = [1, 2, 4, 8].randomElement(using: &generator)!
                let encoded = bigEndian(value).suffix(width)
                let end = min(bytes.count, index + width)
                bytes.replaceSubrange(index..<end, with: encoded.prefix(end - index))
            case 3:
                let varints: [[UInt8]] = [
                    unsignedVarint(UInt64(UInt32.max)), zigzagVarint(Int64(Int32.max)),
                    zigzagVarint(Int64.min), Array(repeating: 0xFF, count: 11), [0x80, 0x80, 0x80, 0x80, 0x10],
                    zigzagVarint(-1), zigzagVarint(-2),
                ]
                let end = min(bytes.count, index + 1)
                bytes.replaceSubrange(index..<end, with: varints.randomElement(using: &generator)!)
            case 4:
                let count = Int.random(in: 1...8, using: &generator)
                bytes.insert(
                    contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }, at: index)
            case 5:
                let end = min(bytes.count, index + Int.random(in: 1...16, using: &generator))
                bytes.removeSubrange(index..<end)
            case 6:
                let end = min(bytes.count, index + Int.random(in: 1...32, using: &generator))
                bytes.insert(contentsOf: bytes[index..<end], at: index)
            case 7:
                bytes.removeSubrange(index...)
            default:
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
        }
        return bytes
    }

    /// Checks that a thrown error is a `WireDecodingError` pointing inside a buffer of `count` bytes.
    static func checkError(_ error: any Error, bufferCount: Int, input: [UInt8], label: String) {
        guard let wireError = error as? WireDecodingError else {
            if !(error is FixtureError) {
                Issue.record("\(label): unexpected error type \(error) for input \(hexString(input))")
            }
            return
        }
        #expect(
            (0...bufferCount).contains(wireError.offset),
            "\(label): offset \(wireError.offset) outside \(bufferCount) bytes: \(wireError)")
        #expect(!wireError.field.isEmpty, "\(label): \(wireError)")
    }

    /// Mutated frame bodies through the header and body decoders the sidecar names, then the
    /// record batches of any Produce request that still decodes.
    @Test(arguments: KafkaFixtures.allFrames)
    func mutatedFrameBodies(name: String) {
        let body = Array(KafkaFixtures.bytes(name).dropFirst(4))
        var generator = SplitMix64(seed: Self.seed(name))
        for iteration in 0..<Self.iterationsPerFixture {
            let mutated = Self.mutate(body, using: &generator)
            do {
                let decoded = try FixtureDecoding.decode(name: name, frame: mutated)
                for case let request as ProduceRequest in decoded {
                    for partition in request.topicData.flatMap(\.partitionData) {
                        do {
                            _ = try partition.decodeBatches()
                        } catch {
                            Self.checkError(
                                error, bufferCount: partition.records?.count ?? 0, input: mutated,
                                label: "\(name) #\(iteration) batches")
                        }
                    }
                }
            } catch {
                Self.checkError(error, bufferCount: mutated.count, input: mutated, label: "\(name) #\(iteration)")
            }
        }
    }

    /// Mutated whole frames, size prefix included, fed to a `FrameBuffer` in random chunks. A
    /// frame is returned only once all its bytes arrived and never exceeds the maximum.
    @Test(arguments: KafkaFixtures.allFrames)
    func mutatedFramesThroughFrameBuffer(name: String) {
        let frame = KafkaFixtures.bytes(name)
        var generator = SplitMix64(seed: Self.seed(name) ^ 0xF)
        let maximum = 1 << 16
        for iteration in 0..<Self.iterationsPerFixture / 4 {
            let mutated = Self.mutate(frame, using: &generator)
            var buffer = FrameBuffer(maximumFrameSize: maximum)
            var offset = 0
            var returned = 0
            do {
                while offset < mutated.count {
                    let end = min(mutated.count, offset + Int.random(in: 1...64, using: &generator))
                    buffer.append(mutated[offset..<end])
                    offset = end
                    while let body = try buffer.nextFrame() {
                        #expect(body.count <= maximum)
                        returned += body.count + 4
                    }
                }
                #expect(returned + buffer.bufferedByteCount == mutated.count, "\(name) #\(iteration)")
            } catch {
                Self.checkError(error, bufferCount: mutated.count, input: mutated, label: "\(name) #\(iteration)")
            }
        }
    }

    /// The record batches inside recorded Produce requests and the published vector batches.
    static let recordedBatches: [[UInt8]] = {
        var batches = ["sarama-uncompressed-batch", "sarama-control-batch", "sarama-empty-batch"]
            .map { KafkaFixtures.bytes("vectors/\($0)") }
        for name in KafkaFixtures.names(direction: "request") where FixtureDecoding.apiKey(name) == .produce {
            guard let decoded = try? FixtureDecoding.decode(name: name, frame: Array(KafkaFixtures.bytes(name).dropFirst(4)))
            else { continue }
            for case let request as ProduceRequest in decoded {
                batches += request.topicData.flatMap(\.partitionData).compactMap(\.records)
            }
        }
        return batches.filter { !$0.isEmpty }
    }()

    @Test func recordedBatchesFound() {
        #expect(Self.recordedBatches.count >= 10, "found \(Self.recordedBatches.count) batches")
    }

    /// Mutated batches with the CRC recomputed, and half of them with Length set to match.
    @Test func mutatedBatchesWithValidChecksum() {
        var generator = SplitMix64(seed: 0xBA7C4)
        for (batchIndex, original) in Self.recordedBatches.enumerated() {
            for iteration in 0..<Self.iterationsPerFixture * 2 {
                var mutated = Self.mutate(original, using: &generator)
                if mutated.count >= 21 {
                    if Bool.random(using: &generator) && mutated.count >= 12 {
                        mutated.replaceSubrange(8..<12, with: bigEndian(Int32(mutated.count - 12)))
                    }
                    let crc = CRC32C.checksum(mutated[21...])
                    mutated.replaceSubrange(17..<21, with: bigEndian(crc))
                }
                do {
                    for batch in try RecordBatch.decodeAll(mutated) {
                        for record in batch.records {
                            _ = batch.timestamp(of: record)
                            _ = batch.offset(of: record)
                        }
                    }
                } catch {
                    Self.checkError(
                        error, bufferCount: mutated.count, input: mutated,
                        label: "batch \(batchIndex) #\(iteration)")
                }
            }
        }
    }
}
