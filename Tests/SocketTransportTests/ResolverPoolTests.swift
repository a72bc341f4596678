import Glibc
import SocketTransport
import Synchronization
import Testing

extension TransportSuite {
    /// `ResolverPool` with injected lookups for made-up names under `.dualstream.test`, so no DNS
    /// query is ever sent.
    @Suite struct ResolverPoolTests {
        /// Returns a lookup that maps every name to 127.0.0.1, after `slowDelay` for `slowHost`, and
        /// fails for `failingHost`.
        static func lookup(slowHost: String = "", slowDelay: Duration = .zero, failingHost: String = "")
            -> NameResolver
        {
            NameResolver { host, port throws(TransportError) in
                if host == failingHost {
                    throw TransportError(.resolveFailed, "resolve \(host) failed: not in the test's table")
                }
                if host == slowHost {
                    let milliseconds = slowDelay.components.seconds * 1000
                        + slowDelay.components.attoseconds / 1_000_000_000_000_000
                    usleep(UInt32(milliseconds * 1000))
                }
                return try SocketAddress.resolveWithoutLookup(.tcp(host: "127.0.0.1", port: port)) ?? []
            }
        }

        /// Waits up to `timeout` for completions until `count` arrived.
        static func collect(_ pool: ResolverPool, count: Int, timeout: Duration) -> [ResolverPool.Completion] {
            var results: [ResolverPool.Completion] = []
            let deadline = ContinuousClock.now + timeout
            while results.count < count && ContinuousClock.now < deadline {
                results += pool.takeCompleted()
                usleep(5_000)
            }
            return results
        }

        @Test func slowLookupDoesNotBlockOther() throws {
            let wakes = Atomic<Int>(0)
            let pool = ResolverPool(
                resolver: Self.lookup(slowHost: "slow.dualstream.test", slowDelay: .seconds(1)),
                maximumThreads: 2, threadName: "test-resolve", onCompletion: { wakes.add(1, ordering: .relaxed) })
            defer { pool.shutdown() }
            let start = ContinuousClock.now
            let slow = pool.submit(host: "slow.dualstream.test", port: 9)
            let fast = pool.submit(host: "fast.dualstream.test", port: 10)
            let first = Self.collect(pool, count: 1, timeout: .seconds(5))
            let elapsed = ContinuousClock.now - start
            #expect(first.map(\.ticket) == [fast])
            #expect(elapsed < .milliseconds(500), "the fast lookup took \(elapsed)")
            let addresses = try first.first?.result.get() ?? []
            #expect(addresses.map(\.description) == ["127.0.0.1:10"])

            let second = Self.collect(pool, count: 1, timeout: .seconds(5))
            #expect(second.map(\.ticket) == [slow])
            #expect(wakes.load(ordering: .relaxed) == 2)
            #expect(pool.threadCount == 2)
        }

        @Test func failureCarriesError() {
            let pool = ResolverPool(resolver: Self.lookup(failingHost: "bad.dualstream.test"), onCompletion: {})
            defer { pool.shutdown() }
            let ticket = pool.submit(host: "bad.dualstream.test", port: 9)
            let results = Self.collect(pool, count: 1, timeout: .seconds(5))
            #expect(results.map(\.ticket) == [ticket])
            #expect(results.first?.host == "bad.dualstream.test")
            guard case .failure(let error)? = results.first?.result else {
                Issue.record("expected a failure, got \(results)")
                return
            }
            #expect(error.code == .resolveFailed)
            #expect(error.description == "resolve bad.dualstream.test failed: not in the test's table")
        }

        @Test func cancelledLookupIsDropped() {
            let pool = ResolverPool(
                resolver: Self.lookup(slowHost: "slow.dualstream.test", slowDelay: .milliseconds(300)),
                maximumThreads: 1, onCompletion: {})
            defer { pool.shutdown() }
            let running = pool.submit(host: "slow.dualstream.test", port: 9)
            usleep(50_000)
            // One thread: this lookup queues behind the running one and is dropped from the queue.
            let queued = pool.submit(host: "queued.dualstream.test", port: 9)
            pool.cancel(running)
            pool.cancel(queued)
            let kept = pool.submit(host: "kept.dualstream.test", port: 9)
            let results = Self.collect(pool, count: 1, timeout: .seconds(5))
            #expect(results.map(\.ticket) == [kept])
            usleep(100_000)
            #expect(pool.takeCompleted().isEmpty)
        }

        @Test func shutdownEndsThreads() {
            let wakes = Atomic<Int>(0)
            let pool = ResolverPool(
                resolver: Self.lookup(slowHost: "slow.dualstream.test", slowDelay: .milliseconds(300)),
                maximumThreads: 2, onCompletion: { wakes.add(1, ordering: .relaxed) })
            _ = pool.submit(host: "slow.dualstream.test", port: 9)
            _ = pool.submit(host: "idle.dualstream.test", port: 9)
            _ = Self.collect(pool, count: 1, timeout: .seconds(5))
            #expect(pool.threadCount == 2)
            pool.shutdown()
            // The idle thread ends at once, the busy one when its lookup returns.
            let deadline = ContinuousClock.now + .seconds(5)
            while pool.threadCount > 0 && ContinuousClock.now < deadline { usleep(10_000) }
            #expect(pool.threadCount == 0)
            #expect(wakes.load(ordering: .relaxed) == 1, "a lookup finished after shutdown woke the owner")
            #expect(pool.takeCompleted().isEmpty)
            let late = pool.submit(host: "late.dualstream.test", port: 9)
            usleep(50_000)
            #expect(pool.takeCompleted().isEmpty, "ticket \(late) completed after shutdown")
        }

        @Test func literalsNeedNoLookup() throws {
            let ipv4 = try SocketAddress.resolveWithoutLookup(.tcp(host: "127.0.0.1", port: 80))
            #expect(ipv4?.map(\.description) == ["127.0.0.1:80"])
            let ipv6 = try SocketAddress.resolveWithoutLookup(.tcp(host: "[::1]", port: 80))
            #expect(ipv6?.map(\.description) == ["[::1]:80"])
            let localhost = try SocketAddress.resolveWithoutLookup(.tcp(host: "LocalHost.", port: 80))
            #expect(localhost?.map(\.description) == ["127.0.0.1:80", "[::1]:80"])
            #expect(try SocketAddress.resolveWithoutLookup(.tcp(host: "broker.dualstream.test", port: 80)) == nil)
            #expect(throws: TransportError.self) {
                try SocketAddress.resolveWithoutLookup(.tcp(host: "", port: 80))
            }
        }

        @Test func connectToResolvedAddresses() throws {
            let listener = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            defer { listener.close() }
            let endpoint = Endpoint.tcp(host: "named.dualstream.test", port: listener.port)
            let addresses = try Self.lookup().resolve(host: "named.dualstream.test", port: listener.port)
            let pending = try StreamSocket.startConnect(to: endpoint, addresses: addresses)
            let socket = try #require(try PendingConnectTests.drive(pending, timeout: .seconds(5)))
            socket.close()
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.startConnect(to: endpoint, addresses: [])
            }
            #expect(error?.code == .resolveFailed)
            #expect(error?.description.contains("named.dualstream.test") == true)
        }
    }
}
