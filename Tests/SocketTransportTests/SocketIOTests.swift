import Glibc
import SocketTransport
import Synchronization
import Testing

extension TransportSuite {
    @Suite struct SocketIOTests {
        @Test func readWouldBlockWhenEmpty() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            var buffer = [UInt8](repeating: 0, count: 16)
            let result = try buffer.withUnsafeMutableBytes { try client.read(into: $0) }
            #expect(result == .wouldBlock)
        }

        /// The peer never reads, so the send buffer fills: `write` must return short counts and
        /// then 0 (EAGAIN) instead of blocking or throwing.
        @Test func writeReturnsZeroWhenBufferFull() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let chunk = [UInt8](repeating: 0xAB, count: 1 << 20)
            var total = 0
            var sawShortWrite = false
            var sawZero = false
            for _ in 0..<256 {
                let written = try chunk.withUnsafeBytes { try client.write($0) }
                total += written
                if written > 0 && written < chunk.count {
                    sawShortWrite = true
                }
                if written == 0 {
                    sawZero = true
                    break
                }
            }
            #expect(sawZero, "wrote \(total) bytes without EAGAIN")
            #expect(sawShortWrite)
            #expect(total > 0)
            #expect(try client.waitWritable(timeout: .milliseconds(20)) == false)
        }

        /// A gathered write sends its buffers in order, skips empty ones, and returns a short
        /// count and then 0 when the peer stops reading, like `write`.
        @Test func gatheredWriteKeepsOrderAndStopsWhenFull() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime(listener) {} }
            let pieces: [[UInt8]] = [Array("head".utf8), [], Array("-middle-".utf8), Array("tail".utf8)]
            let written = try Self.withBuffers(pieces) { try client.write(gathering: $0) }
            #expect(written == 16)
            let received = try peer.readAvailable(maximum: 64, timeout: .seconds(2))
            #expect(String(decoding: received ?? [], as: UTF8.self) == "head-middle-tail")
            #expect(try Self.withBuffers([[], []]) { try client.write(gathering: $0) } == 0)

            let big: [[UInt8]] = [[UInt8](repeating: 1, count: 1 << 20), [UInt8](repeating: 2, count: 1 << 20)]
            var total = 0
            var sawShortWrite = false
            var sawZero = false
            for _ in 0..<128 {
                let count = try Self.withBuffers(big) { try client.write(gathering: $0) }
                total += count
                if count > 0 && count < 2 << 20 { sawShortWrite = true }
                if count == 0 {
                    sawZero = true
                    break
                }
            }
            #expect(sawZero, "wrote \(total) bytes without EAGAIN")
            #expect(sawShortWrite)
        }

        /// Calls `body` with pointers to each array's bytes, all valid while it runs.
        static func withBuffers(
            _ arrays: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> Int
        ) throws -> Int {
            func collect(_ rest: ArraySlice<[UInt8]>, _ buffers: [UnsafeRawBufferPointer]) throws -> Int {
                guard let first = rest.first else { return try body(buffers) }
                return try first.withUnsafeBytes { try collect(rest.dropFirst(), buffers + [$0]) }
            }
            return try collect(arrays[...], [])
        }

        /// writeAll of 16 MiB to a peer that reads 64 KiB at a time with pauses: the writer hits
        /// EAGAIN and partial writes many times and must still deliver every byte in order.
        @Test func writeAllCompletesPartialWrites() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            let size = 16 << 20
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) }
            let received = Mutex<[UInt8]>([])
            let reader = TestThread {
                var collected: [UInt8] = []
                collected.reserveCapacity(size)
                var chunks = 0
                while collected.count < size {
                    guard let bytes = try? peer.readAvailable(maximum: 65_536, timeout: .seconds(10)),
                        !bytes.isEmpty
                    else { break }
                    collected += bytes
                    chunks += 1
                    if chunks % 16 == 0 {
                        usleep(2_000)
                    }
                }
                received.withLock { $0 = collected }
            }
            try client.writeAll(payload, timeout: .seconds(30))
            reader.join()
            let collected = received.withLock { $0 }
            #expect(collected.count == size)
            #expect(collected == payload)
        }

        @Test func writeAllTimesOutAgainstStalledPeer() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let payload = [UInt8](repeating: 1, count: 64 << 20)
            let error = #expect(throws: TransportError.self) {
                try client.writeAll(payload, timeout: .milliseconds(100))
            }
            #expect(error?.code == .timedOut)
            #expect(error?.description.contains("timed out after 100 ms with ") == true)
            #expect(error?.description.contains("of \(64 << 20) bytes written") == true)
        }

        @Test func cleanCloseReadsAsClosed() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            try peer.writeAll([9, 8, 7], timeout: .seconds(1))
            peer.close()
            #expect(try client.waitReadable(timeout: .seconds(2)))
            var buffer = [UInt8](repeating: 0, count: 16)
            let first = try buffer.withUnsafeMutableBytes { try client.read(into: $0) }
            #expect(first == .bytes(3))
            #expect(Array(buffer.prefix(3)) == [9, 8, 7])
            let second = try buffer.withUnsafeMutableBytes { try client.read(into: $0) }
            #expect(second == .closed)
        }

        @Test func resetIsAnErrorNotAClose() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            peer.resetAndClose()
            #expect(try client.waitReadable(timeout: .seconds(2)))
            var buffer = [UInt8](repeating: 0, count: 16)
            let error = #expect(throws: TransportError.self) {
                _ = try buffer.withUnsafeMutableBytes { try client.read(into: $0) }
            }
            #expect(error?.code == .readFailed)
            #expect(error?.errno == ECONNRESET)
            #expect(error?.description.hasSuffix("failed: Connection reset by peer (errno 104)") == true)
        }

        /// Writing to a peer that has gone must throw EPIPE or ECONNRESET, not kill the process
        /// with SIGPIPE. SIGPIPE is set to its default action (terminate) for the test, so a send
        /// without MSG_NOSIGNAL would end the test process.
        @Test func writeAfterPeerCloseThrowsWithoutSigpipe() throws {
            let previous = signal(SIGPIPE, SIG_DFL)
            defer { signal(SIGPIPE, previous) }
            let (client, peer, _) = try Loopback.connectedPair()
            peer.close()
            #expect(try client.waitReadable(timeout: .seconds(2)))
            var failure: TransportError?
            for _ in 0..<50 {
                do {
                    try client.writeAll([UInt8](repeating: 0, count: 4096), timeout: .seconds(1))
                } catch {
                    failure = error
                    break
                }
                usleep(1_000)
            }
            let error = try #require(failure, "50 writes to a closed peer did not fail")
            #expect(error.code == .writeFailed)
            #expect(error.errno == EPIPE || error.errno == ECONNRESET)
        }

        @Test func closedSocketThrowsClosed() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            client.close()
            client.close()
            #expect(client.fileDescriptor == -1)
            var buffer = [UInt8](repeating: 0, count: 4)
            let readError = #expect(throws: TransportError.self) {
                _ = try buffer.withUnsafeMutableBytes { try client.read(into: $0) }
            }
            #expect(readError?.code == .closed)
            let writeError = #expect(throws: TransportError.self) {
                try client.writeAll([1], timeout: .seconds(1))
            }
            #expect(writeError?.code == .closed)
        }

        @Test func errorsMatchCodesInCatch() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            client.close()
            var matched = false
            do {
                try client.writeAll([1], timeout: .seconds(1))
            } catch .closed {
                matched = true
            } catch {
                Issue.record("expected .closed, caught \(error)")
            }
            #expect(matched)
        }

        @Test func readExactlyReportsEarlyClose() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            try peer.writeAll([1, 2], timeout: .seconds(1))
            peer.close()
            let error = #expect(throws: TransportError.self) {
                _ = try client.readExactly(5, timeout: .seconds(2))
            }
            #expect(error?.code == .closed)
            #expect(error?.description.contains("after 2 of 5 bytes") == true)
        }

        @Test func readExactlyTimesOut() throws {
            let (client, peer, listener) = try Loopback.connectedPair()
            defer { withExtendedLifetime((peer, listener)) {} }
            let error = #expect(throws: TransportError.self) {
                _ = try client.readExactly(1, timeout: .milliseconds(30))
            }
            #expect(error?.code == .timedOut)
        }

        @Test func shutdownWriteGivesPeerCleanClose() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            try client.shutdownWrite()
            #expect(try peer.readAvailable(maximum: 4, timeout: .seconds(2)) == nil)
            try peer.writeAll([5], timeout: .seconds(1))
            #expect(try client.readExactly(1, timeout: .seconds(2)) == [5])
        }

        @Test func acceptedSocketHasNoDelayAndKeepalive() throws {
            let (client, peer, _) = try Loopback.connectedPair()
            for socket in [client, peer] {
                #expect(Self.option(socket, Int32(IPPROTO_TCP), Int32(TCP_NODELAY)) == 1)
                #expect(Self.option(socket, SOL_SOCKET, SO_KEEPALIVE) == 1)
                #expect(
                    Self.option(socket, Int32(IPPROTO_TCP), Int32(TCP_KEEPIDLE))
                        == StreamSocket.keepaliveIdleSeconds)
                #expect(
                    Self.option(socket, Int32(IPPROTO_TCP), Int32(TCP_KEEPINTVL))
                        == StreamSocket.keepaliveIntervalSeconds)
                #expect(
                    Self.option(socket, Int32(IPPROTO_TCP), Int32(TCP_KEEPCNT))
                        == StreamSocket.keepaliveProbeCount)
                let flags = fcntl(socket.fileDescriptor, F_GETFL)
                #expect(flags & O_NONBLOCK != 0)
                #expect(fcntl(socket.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
            }
        }

        private static func option(_ socket: StreamSocket, _ level: Int32, _ name: Int32) -> Int32 {
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(socket.fileDescriptor, level, name, &value, &length) == 0 else { return -1 }
            return value
        }
    }
}
