import Testing

@testable import DualStream

@Suite struct NotificationQueueTests {
    private func item(_ channel: String, _ label: String) -> NotificationQueue.Item {
        NotificationQueue.Item(channel: channel, message: Array(label.utf8), acknowledgedAt: .now)
    }

    private func labels(_ items: [NotificationQueue.Item]) -> [String] {
        items.map { String(decoding: $0.message, as: UTF8.self) }
    }

    @Test func laterTicketWaitsForEarlierOne() {
        var queue = NotificationQueue(capacity: 10)
        let first = queue.reserve(source: "events:repo:a")
        let second = queue.reserve(source: "events:repo:a")
        queue.resolve(second, with: item("events:repo:a", "second"))
        #expect(queue.count == 0)
        queue.resolve(first, with: item("events:repo:a", "first"))
        #expect(labels(queue.take(limit: 10)) == ["first", "second"])
    }

    @Test func failedTicketReleasesTheNext() {
        var queue = NotificationQueue(capacity: 10)
        let first = queue.reserve(source: "s")
        let second = queue.reserve(source: "s")
        queue.resolve(second, with: item("s", "second"))
        queue.resolve(first, with: nil)
        #expect(labels(queue.take(limit: 10)) == ["second"])
        #expect(queue.sourcesWaiting == 0)
    }

    @Test func sourcesDoNotBlockEachOther() {
        var queue = NotificationQueue(capacity: 10)
        let slow = queue.reserve(source: "a")
        let fast = queue.reserve(source: "b")
        queue.resolve(fast, with: item("b", "b1"))
        #expect(labels(queue.take(limit: 10)) == ["b1"])
        queue.resolve(slow, with: item("a", "a1"))
        #expect(labels(queue.take(limit: 10)) == ["a1"])
    }

    @Test func fullQueueDropsAndCounts() {
        var queue = NotificationQueue(capacity: 2)
        for index in 0..<5 {
            let ticket = queue.reserve(source: "s")
            queue.resolve(ticket, with: item("s", "\(index)"))
        }
        #expect(queue.count == 2)
        #expect(queue.dropped == 3)
        #expect(labels(queue.take(limit: 10)) == ["0", "1"])
    }

    @Test func takeHonoursLimitAndOrder() {
        var queue = NotificationQueue(capacity: 100)
        for index in 0..<10 {
            queue.resolve(queue.reserve(source: "s\(index % 3)"), with: item("s", "\(index)"))
        }
        #expect(labels(queue.take(limit: 4)) == ["0", "1", "2", "3"])
        #expect(labels(queue.take(limit: 100)) == ["4", "5", "6", "7", "8", "9"])
        #expect(queue.take(limit: 1).isEmpty)
    }

    @Test func dropAllCountsWhatWasQueued() {
        var queue = NotificationQueue(capacity: 100)
        for index in 0..<7 {
            queue.resolve(queue.reserve(source: "s"), with: item("s", "\(index)"))
        }
        #expect(queue.dropAll() == 7)
        #expect(queue.dropped == 7)
        #expect(queue.count == 0)
    }

    @Test func reverseResolutionStillReleasesInTicketOrder() {
        var queue = NotificationQueue(capacity: 1_000)
        let tickets = (0..<100).map { _ in queue.reserve(source: "s") }
        for (index, ticket) in tickets.enumerated().reversed() {
            queue.resolve(ticket, with: item("s", "\(index)"))
        }
        #expect(labels(queue.take(limit: 1_000)) == (0..<100).map { "\($0)" })
    }
}

@Suite struct LatencyHistogramTests {
    @Test func emptyHistogramHasNoPercentile() {
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }

    @Test func percentilesAreWithinBucketPrecision() {
        var histogram = LatencyHistogram()
        for micros in 1...1_000 {
            histogram.record(.microseconds(micros))
        }
        let p50 = try! #require(histogram.percentile(0.50))
        let p99 = try! #require(histogram.percentile(0.99))
        #expect(p50 <= .microseconds(500))
        #expect(p50 >= .microseconds(468))
        #expect(p99 <= .microseconds(990))
        #expect(p99 >= .microseconds(928))
    }

    @Test func bucketLowerBoundsAreMonotonic() {
        var previous: UInt64 = 0
        for micros: UInt64 in [0, 1, 15, 16, 17, 31, 32, 100, 1_000, 123_456, 10_000_000, 1 << 39] {
            let bucket = LatencyHistogram.bucket(for: micros)
            let lower = LatencyHistogram.lowerBound(of: bucket)
            #expect(lower <= micros)
            #expect(lower >= previous)
            #expect(Double(micros - lower) <= Double(micros) / 16 + 1)
            previous = lower
        }
    }
}
