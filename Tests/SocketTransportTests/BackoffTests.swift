import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    @Suite struct BackoffTests {
        @Test func withoutJitterDoublesToMaximum() {
            var backoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(100), jitter: 0)
            let delays = (0..<6).map { _ in backoff.next() }
            #expect(delays == [10, 20, 40, 80, 100, 100].map { Duration.milliseconds($0) })
            #expect(backoff.attempts == 6)
        }

        @Test func resetStartsAgain() {
            var backoff = Backoff(initial: .milliseconds(5), maximum: .seconds(1), jitter: 0)
            _ = backoff.next()
            _ = backoff.next()
            backoff.reset()
            #expect(backoff.attempts == 0)
            #expect(backoff.next() == .milliseconds(5))
        }

        @Test func jitterStaysWithinBounds() {
            var backoff = Backoff(
                initial: .milliseconds(100), maximum: .seconds(2), multiplier: 3, jitter: 0.25)
            var base = 0.1
            var sawBelowBase = false
            for _ in 0..<12 {
                let seconds = Self.seconds(backoff.next())
                #expect(seconds <= base + 1e-9)
                #expect(seconds >= base * 0.75 - 1e-9)
                #expect(seconds <= 2 + 1e-9)
                if seconds < base - 1e-6 {
                    sawBelowBase = true
                }
                base = min(base * 3, 2)
            }
            #expect(sawBelowBase, "jitter 0.25 never lowered a delay in 12 draws")
        }

        @Test func fullJitterSpansZeroToBase() {
            var minimum = Double.infinity
            var maximum = 0.0
            for _ in 0..<2_000 {
                var backoff = Backoff(initial: .seconds(1), maximum: .seconds(1), jitter: 1)
                let seconds = Self.seconds(backoff.next())
                minimum = Swift.min(minimum, seconds)
                maximum = Swift.max(maximum, seconds)
            }
            #expect(minimum >= 0)
            #expect(minimum < 0.05)
            #expect(maximum <= 1)
            #expect(maximum > 0.95)
        }

        @Test func zeroInitialGivesZeroDelays() {
            var backoff = Backoff(initial: .zero, maximum: .seconds(1))
            for _ in 0..<5 {
                #expect(backoff.next() == .zero)
            }
        }

        @Test func outOfRangeSettingsAreClamped() {
            let backoff = Backoff(
                initial: .milliseconds(-5), maximum: .milliseconds(-10), multiplier: 0.5, jitter: 7)
            #expect(backoff.initial == .zero)
            #expect(backoff.maximum == .zero)
            #expect(backoff.multiplier == 1)
            #expect(backoff.jitter == 1)
            #expect(Backoff(initial: .seconds(2), maximum: .seconds(1)).maximum == .seconds(2))
            #expect(
                Backoff(initial: .seconds(1), maximum: .seconds(2), multiplier: .nan, jitter: .nan).jitter
                    == 0)
            #expect(
                Backoff(initial: .seconds(1), maximum: .seconds(2), multiplier: .infinity).multiplier == 1)
        }

        @Test func seededGeneratorIsDeterministic() {
            var first = Backoff(initial: .milliseconds(10), maximum: .seconds(1), jitter: 0.5)
            var second = first
            var generatorA = SplitMix64(seed: 42)
            var generatorB = SplitMix64(seed: 42)
            for _ in 0..<8 {
                #expect(first.next(using: &generatorA) == second.next(using: &generatorB))
            }
        }

        private static func seconds(_ duration: Duration) -> Double {
            let components = duration.components
            return Double(components.seconds) + Double(components.attoseconds) / 1e18
        }
    }
}
