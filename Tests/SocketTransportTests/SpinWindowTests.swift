import SocketTransport
import Testing

extension TransportSuite {
    @Suite struct SpinWindowTests {
        @Test("starts closed and widens while blocking waits end within the limit")
        func widens() {
            var window = SpinWindow(limit: .microseconds(80))
            #expect(window.current == .zero)
            var seen: [Duration] = []
            for _ in 0..<5 {
                window.recordBlockedWait(elapsed: .microseconds(50))
                seen.append(window.current)
            }
            #expect(seen == [10, 20, 40, 80, 80].map { Duration.microseconds($0) })
        }

        @Test("a wait of exactly the limit widens, a longer one narrows")
        func limitIsInclusive() {
            var window = SpinWindow(limit: .microseconds(80))
            window.recordBlockedWait(elapsed: .microseconds(80))
            #expect(window.current == .microseconds(10))
            window.recordBlockedWait(elapsed: .microseconds(81))
            #expect(window.current == .zero)
        }

        @Test("halves after longer waits and closes below an eighth of the limit")
        func narrowsAndCloses() {
            var window = SpinWindow(limit: .microseconds(80))
            for _ in 0..<4 {
                window.recordBlockedWait(elapsed: .microseconds(30))
            }
            #expect(window.current == .microseconds(80))
            var seen: [Duration] = []
            for _ in 0..<5 {
                window.recordBlockedWait(elapsed: .milliseconds(2))
                seen.append(window.current)
            }
            #expect(seen == [40, 20, 10, 0, 0].map { Duration.microseconds($0) })
        }

        @Test("zero and negative limits never open")
        func closedLimits() {
            for limit in [Duration.zero, .microseconds(-5)] {
                var window = SpinWindow(limit: limit)
                window.recordBlockedWait(elapsed: .zero)
                window.recordBlockedWait(elapsed: .nanoseconds(1))
                #expect(window.limit == .zero)
                #expect(window.current == .zero)
            }
        }

        @Test("a fixed window stays at the limit")
        func fixed() {
            var window = SpinWindow(limit: .microseconds(30), fixed: true)
            #expect(window.current == .microseconds(30))
            window.recordBlockedWait(elapsed: .seconds(1))
            window.recordBlockedWait(elapsed: .microseconds(1))
            #expect(window.current == .microseconds(30))
        }
    }
}
