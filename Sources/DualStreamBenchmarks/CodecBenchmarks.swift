import Glibc
import KafkaWire

/// `dualstream-bench codec [--iterations N]`: RecordBatch encoding and CRC-32C throughput.
///
/// Encodes a batch of 1,000 records (16-byte key, 200-byte value, no headers) with
/// `RecordBatchBuilder`, CRC included, and reports MB/s of batch bytes and ns per record. Then
/// times CRC-32C over the same bytes next to a plain memcpy of them. The peer is kafka-python's
/// pure-Python `DefaultRecordBatchBuilder` encoding the same records, run through `python3` in the
/// same process tree when kafka-python is installed. Our figures are the fastest of 5 rounds; the
/// peer's is one timed run.
enum CodecBenchmarks {
    static let recordCount = 1_000
    static let keySize = 16
    static let valueSize = 200

    static func run(arguments: [String]) async throws {
        var iterations = 2_000
        if let index = arguments.firstIndex(of: "--iterations"), index + 1 < arguments.count,
            let value = Int(arguments[index + 1]), value > 0
        {
            iterations = value
        }
        let keys = (0..<recordCount).map { index in
            (0..<keySize).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0) }
        }
        let value = (0..<valueSize).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let timestamp: Int64 = 1_700_000_000_000

        // Warm up, and keep one batch for the CRC and memcpy runs.
        var batch: [UInt8] = []
        for _ in 0..<20 {
            batch = try encodeBatch(keys: keys, value: value, timestamp: timestamp)
        }
        let batchSize = batch.count

        var checksum = 0
        let encodeSeconds = try bestOfRounds(iterations) { count in
            for _ in 0..<count {
                let bytes = try encodeBatch(keys: keys, value: value, timestamp: timestamp)
                checksum &+= Int(bytes[20])
            }
        }
        let encodedBytes = Double(batchSize * iterations)
        let encodeMBps = encodedBytes / encodeSeconds / 1e6
        let nsPerRecord = encodeSeconds * 1e9 / Double(iterations * recordCount)

        let crcRounds = iterations * 4
        var crcAccumulator: UInt32 = 0
        let crcSeconds = bestOfRounds(crcRounds) { count in
            batch.withUnsafeBytes { buffer in
                for _ in 0..<count {
                    crcAccumulator = crcAccumulator &+ CRC32C.update(0, buffer)
                }
            }
        }
        var destination = [UInt8](repeating: 0, count: batchSize)
        let memcpySeconds = bestOfRounds(crcRounds) { count in
            batch.withUnsafeBytes { source in
                destination.withUnsafeMutableBytes { target in
                    for round in 0..<count {
                        memcpy(target.baseAddress!, source.baseAddress!, batchSize)
                        // A data dependency per round so the copies cannot be elided.
                        target[round % batchSize] ^= 1
                    }
                }
            }
        }
        let crcGBps = Double(batchSize * crcRounds) / crcSeconds / 1e9
        let memcpyGBps = Double(batchSize * crcRounds) / memcpySeconds / 1e9

        print(
            "codec: RecordBatch of \(recordCount) records, \(keySize)-byte keys, \(valueSize)-byte values, "
                + "\(batchSize) bytes, \(iterations) iterations")
        print(format("  ours    encode+CRC: %.1f MB/s, %.1f ns/record", encodeMBps, nsPerRecord))
        if let peer = runPeer(iterations: max(1, iterations / 100)) {
            let ratio = peer.nsPerRecord / nsPerRecord
            print(
                format("  peer    encode+CRC: %.1f MB/s, %.1f ns/record", peer.mbps, peer.nsPerRecord)
                    + " (\(peer.name))")
            print(format("  ratio   ours/peer throughput: %.1fx", ratio))
        } else {
            print("  peer    kafka-python not available; peer skipped")
        }
        print(format("  CRC-32C alone: %.2f GB/s; memcpy of the same bytes: %.2f GB/s", crcGBps, memcpyGBps))
        print("  (checksums \(checksum) \(crcAccumulator) \(destination[0]))")
    }

    static func encodeBatch(keys: [[UInt8]], value: [UInt8], timestamp: Int64) throws -> [UInt8] {
        var builder = RecordBatchBuilder(capacity: 240 * recordCount)
        for key in keys {
            try builder.append(key: key, value: value, timestamp: timestamp)
        }
        return builder.finish()
    }

    static let rounds = 5

    /// Runs `body` in `rounds` rounds of `total / rounds` iterations and returns the fastest
    /// round scaled to `total`, so other load on a shared machine inflates the figure less.
    static func bestOfRounds(_ total: Int, _ body: (Int) throws -> Void) rethrows -> Double {
        let perRound = max(1, total / rounds)
        var best = Double.infinity
        for _ in 0..<rounds {
            let elapsed = try ContinuousClock().measure { try body(perRound) }
            let parts = elapsed.components
            best = min(best, Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
        }
        return best * Double(total) / Double(perRound)
    }

    /// Runs kafka-python's DefaultRecordBatchBuilder on the same record shape and parses its
    /// "mbps ns_per_record" output line.
    static func runPeer(iterations: Int) -> (name: String, mbps: Double, nsPerRecord: Double)? {
        let script = """
            import time
            from kafka.record.default_records import DefaultRecordBatchBuilder
            keys = [bytes(((i * 31 + j) & 255) for j in range(\(keySize))) for i in range(\(recordCount))]
            value = bytes(((j * 7) & 255) for j in range(\(valueSize)))
            def one():
                b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                    producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 30)
                for i, k in enumerate(keys):
                    b.append(i, timestamp=\(1_700_000_000_000), key=k, value=value, headers=[])
                return b.build()
            size = len(one())
            n = \(iterations)
            start = time.perf_counter()
            for _ in range(n):
                one()
            elapsed = time.perf_counter() - start
            print(size * n / elapsed / 1e6, elapsed * 1e9 / (n * \(recordCount)))
            """
        let command = "python3 -c '\(script)' 2>/dev/null"
        guard let pipe = popen(command, "r") else { return nil }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 256)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += nulTerminatedText(buffer)
        }
        guard pclose(pipe) == 0 else { return nil }
        let fields = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: " \n")) }
        guard fields.count == 2 else { return nil }
        return ("kafka-python DefaultRecordBatchBuilder", fields[0], fields[1])
    }

    static func format(_ pattern: String, _ values: CVarArg...) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        _ = withVaList(values) { vsnprintf(&buffer, buffer.count, pattern, $0) }
        return nulTerminatedText(buffer)
    }

    /// Decodes a C buffer as UTF-8 up to its first NUL.
    private static func nulTerminatedText(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return result
    }
}
