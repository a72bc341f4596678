@testable import Redis
import Synchronization
import Testing

@Suite("Subscription registry")
struct SubscriptionRegistryTests {
    @Test("first listener subscribes, last unsubscribes")
    func firstAndLast() {
        var registry = SubscriptionRegistry()
        #expect(
            registry.add(listener: 1, kind: .channel, names: [bytes("a"), bytes("b")]) == [
                bytes("a"), bytes("b"),
            ])
        #expect(registry.add(listener: 2, kind: .channel, names: [bytes("b"), bytes("c")]) == [bytes("c")])
        #expect(registry.listeners(for: SubscriptionKey(kind: .channel, name: bytes("b"))) == [1, 2])
        #expect(registry.remove(listener: 1) == [.channel: [bytes("a")]])
        #expect(registry.remove(listener: 2) == [.channel: [bytes("b"), bytes("c")]])
        #expect(registry.isEmpty)
        #expect(registry.remove(listener: 2) == [:])
    }

    @Test("kinds are separate namespaces")
    func kindsSeparate() {
        var registry = SubscriptionRegistry()
        #expect(registry.add(listener: 1, kind: .channel, names: [bytes("x")]) == [bytes("x")])
        #expect(registry.add(listener: 2, kind: .pattern, names: [bytes("x")]) == [bytes("x")])
        #expect(registry.add(listener: 3, kind: .shardChannel, names: [bytes("x")]) == [bytes("x")])
        #expect(registry.listeners(for: SubscriptionKey(kind: .pattern, name: bytes("x"))) == [2])
    }

    @Test("duplicate names in one call counted once")
    func duplicates() {
        var registry = SubscriptionRegistry()
        #expect(registry.add(listener: 1, kind: .channel, names: [bytes("a"), bytes("a")]) == [bytes("a")])
        #expect(registry.remove(listener: 1) == [.channel: [bytes("a")]])
    }

    @Test("resubscribe commands in batches per kind")
    func resubscribeBatches() {
        var registry = SubscriptionRegistry()
        let channels = (0..<250).map { bytes("channel-\($0)") }
        _ = registry.add(listener: 1, kind: .channel, names: channels)
        _ = registry.add(listener: 2, kind: .pattern, names: [bytes("p*")])
        _ = registry.add(listener: 3, kind: .shardChannel, names: [bytes("s")])
        let commands = registry.resubscribeCommands(batchSize: 100)
        #expect(commands.map(\.kind) == [.channel, .channel, .channel, .pattern, .shardChannel])
        #expect(commands.map(\.names.count) == [100, 100, 50, 1, 1])
        #expect(Set(commands.prefix(3).flatMap(\.names)) == Set(channels))
    }
}

@Suite("Pending confirmations")
struct PendingConfirmationsTests {
    @Test("one confirmation per name completes the command")
    func confirmationsPerName() {
        var pending = PendingConfirmations()
        pending.expect(7, .confirmations(.channel, isSubscribe: true, names: [bytes("a"), bytes("b")]))
        #expect(pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("a")) == [])
        #expect(
            pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("b")) == [
                .completed(id: 7)
            ])
        #expect(pending.isEmpty)
    }

    @Test("error ends the oldest command")
    func errorEndsOldest() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.channel, isSubscribe: true, names: [bytes("a"), bytes("b"), bytes("c")]))
        pending.expect(2, .pong)
        #expect(pending.receiveError() == [.failed(id: 1)])
        #expect(pending.receivePong() == [.completed(id: 2)])
    }

    @Test("resubscribe finished after last batch")
    func resubscribeFinished() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.channel, isSubscribe: true, names: [bytes("a")]), isResubscribe: true)
        pending.expect(2, .confirmations(.pattern, isSubscribe: true, names: [bytes("p*")]), isResubscribe: true)
        pending.expect(3, .confirmations(.channel, isSubscribe: true, names: [bytes("b")]))
        #expect(
            pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("a")) == [
                .completed(id: 1)
            ])
        #expect(pending.receiveError() == [.failed(id: 2), .resubscribeFinished])
        #expect(
            pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("b")) == [
                .completed(id: 3)
            ])
    }

    @Test("reply of the wrong kind is unexpected")
    func wrongKind() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.channel, isSubscribe: true, names: [bytes("p")]))
        let outcome = pending.receiveConfirmation(kind: .pattern, isSubscribe: true, name: bytes("p"))
        guard case .unexpected(let text)? = outcome.first else {
            Issue.record("expected unexpected, got \(outcome)")
            return
        }
        #expect(text.contains("SUBSCRIBE"))
        guard case .unexpected? = pending.receivePong().first else {
            Issue.record("a pong was accepted for a subscribe")
            return
        }
    }

    @Test("confirmation for another name unexpected")
    func wrongName() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.channel, isSubscribe: true, names: [bytes("a"), bytes("b")]))
        #expect(pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("a")) == [])
        let outcome = pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("zzz"))
        guard case .unexpected(let text)? = outcome.first else {
            Issue.record("expected unexpected, got \(outcome)")
            return
        }
        #expect(text.contains("\"zzz\""), "\(text)")
        #expect(text.contains("\"b\""), "\(text)")
        // A repeated confirmation of a name already confirmed is unexpected too.
        let repeated = pending.receiveConfirmation(kind: .channel, isSubscribe: true, name: bytes("a"))
        guard case .unexpected? = repeated.first else {
            Issue.record("a second confirmation of \"a\" was counted: \(repeated)")
            return
        }
    }

    @Test("confirmations match names in any order")
    func anyOrder() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.pattern, isSubscribe: false, names: [bytes("a"), bytes("b"), bytes("a")]))
        #expect(pending.receiveConfirmation(kind: .pattern, isSubscribe: false, name: bytes("b")) == [])
        #expect(pending.receiveConfirmation(kind: .pattern, isSubscribe: false, name: bytes("a")) == [])
        #expect(
            pending.receiveConfirmation(kind: .pattern, isSubscribe: false, name: bytes("a")) == [
                .completed(id: 1)
            ])
    }

    @Test("null unsubscribe name unexpected")
    func nullName() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.channel, isSubscribe: false, names: [bytes("")]))
        let outcome = pending.receiveConfirmation(kind: .channel, isSubscribe: false, name: nil)
        guard case .unexpected(let text)? = outcome.first else {
            Issue.record("expected unexpected, got \(outcome)")
            return
        }
        #expect(text.contains("null"), "\(text)")
    }

    @Test("sunsubscribe of other name while unsubscribing")
    func shardUnsubscribeOfOtherName() {
        var pending = PendingConfirmations()
        pending.expect(1, .confirmations(.shardChannel, isSubscribe: false, names: [bytes("mine")]))
        #expect(
            pending.receiveConfirmation(kind: .shardChannel, isSubscribe: false, name: bytes("moved"))
                == [.serverUnsubscribed(.shardChannel, name: bytes("moved"))])
        #expect(
            pending.receiveConfirmation(kind: .shardChannel, isSubscribe: false, name: bytes("mine"))
                == [.completed(id: 1)])
    }

    @Test("unsolicited sunsubscribe reported")
    func unsolicitedShardUnsubscribe() {
        var pending = PendingConfirmations()
        #expect(
            pending.receiveConfirmation(kind: .shardChannel, isSubscribe: false, name: bytes("s"))
                == [.serverUnsubscribed(.shardChannel, name: bytes("s"))])
    }

    @Test("reset returns outstanding ids")
    func reset() {
        var pending = PendingConfirmations()
        pending.expect(4, .pong)
        pending.expect(5, .confirmations(.channel, isSubscribe: false, names: [bytes("a")]), isResubscribe: true)
        #expect(pending.reset() == [4, 5])
        #expect(pending.resubscribesOutstanding == 0)
        #expect(pending.isEmpty)
    }
}

@Suite("Subscription buffer")
struct SubscriptionBufferTests {
    private func message(_ text: String) -> RedisSubscriptionEvent {
        .message(RedisPubSubMessage(kind: .message, channel: bytes("c"), payload: bytes(text)))
    }

    @Test("full buffer rejects messages, wakes producer after take")
    func capacity() async {
        let woken = WakeCounter()
        let buffer = SubscriptionBuffer(capacity: 2) { woken.increment() }
        #expect(buffer.offerMessage(message("1")))
        #expect(buffer.offerMessage(message("2")))
        #expect(!buffer.offerMessage(message("3")))
        #expect(buffer.count == 2)
        buffer.pushControl(.resubscribed)
        #expect(buffer.count == 3)
        guard case .message(let first)? = await buffer.next() else {
            Issue.record("expected a message")
            return
        }
        #expect(first.payload == bytes("1"))
        // Still at capacity (one message and the control event), so no wake yet.
        #expect(woken.value == 0)
        _ = await buffer.next()
        #expect(woken.value == 1)
        #expect(buffer.offerMessage(message("3")))
    }

    @Test("consecutive disconnects merged")
    func disconnectsMerged() async {
        let buffer = SubscriptionBuffer(capacity: 4) {}
        buffer.pushControl(.disconnected(RedisError(.notConnected, "first")))
        buffer.pushControl(.disconnected(RedisError(.notConnected, "second")))
        #expect(buffer.count == 1)
        guard case .disconnected(let error)? = await buffer.next() else {
            Issue.record("expected disconnected")
            return
        }
        #expect(error.message == "second")
    }

    @Test("finish drains then ends")
    func finish() async {
        let buffer = SubscriptionBuffer(capacity: 4) {}
        #expect(buffer.offerMessage(message("last")))
        buffer.finish()
        #expect(await buffer.next() != nil)
        #expect(await buffer.next() == nil)
    }

    @Test("cancelled waiter returns nil")
    func cancellation() async {
        let buffer = SubscriptionBuffer(capacity: 4) {}
        let waiter = Task { await buffer.next() }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        #expect(await waiter.value == nil)
    }
}

final class WakeCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
