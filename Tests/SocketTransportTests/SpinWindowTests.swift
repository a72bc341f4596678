import SocketTransport
import Testing

extension TransportSuite {
    @Suite struct SpinWindowTests {
        @Test("widens within the limit")
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

        @Test("limit is inclusive")
        func limitIsInclusive() {
            var window = SpinWindow(limit: .microseconds(80))
            window.recordBlockedWait(elapsed: .microseconds(80))
            #expect(window.current == .microseconds(10))
            window.recordBlockedWait(elapsed: .microseconds(81))
            #expect(window.current == .zero)
        }

        @Test("halves, then closes below an eighth")
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

        @Test("zero or negative limit stays closed")
        func closedLimits() {
            for limit in [Duration.zero, .microseconds(-5)] {
                var window = SpinWindow(limit: limit)
                window.recordBlockedWait(elapsed: .zero)
                window.recordBlockedWait(elapsed: .nanoseconds(1))
                #expect(window.limit == .zero)
                #expect(window.current == .zero)
            }
        }

        @Test("fixed window stays at limit")
        func fixed() {
            var window = SpinWindow(limit: .microseconds(30), fixed: true)
            #expect(window.current == .microseconds(30))
            window.recordBlockedWait(elapsed: .seconds(1))
            window.recordBlockedWait(elapsed: .microseconds(1))
            #expect(window.current == .microseconds(30))
        }
    }
}
