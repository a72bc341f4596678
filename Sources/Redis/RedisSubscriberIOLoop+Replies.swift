import DualStreamLogging
import RedisWire

extension RedisSubscriberIOLoop {
    func readAvailable() {
        guard let io else { return }
        do {
            // Bounded, so a flood of messages cannot starve writes and health checks.
            for _ in 0..<16 {
                guard case .readBytes(let filledChunk) = try io.readOnce() else { break }
                lastReceived = .now
                try parseReplies()
                if stalled != nil || self.io == nil || !filledChunk { break }
            }
        } catch {
            connectionFailed(error)
        }
    }

    /// Handles replies already read, as after a stalled delivery went through.
    func processBufferedReplies() {
        do {
            try parseReplies()
        } catch {
            connectionFailed(error)
        }
    }

    private func parseReplies() throws(RedisError) {
        while stalled == nil, let io, let reply = try io.nextReply() {
            try process(reply)
        }
    }

    private func process(_ reply: RESPValue) throws(RedisError) {
        if case .handshaking = lifecycle.state {
            let name = handshakeNames.isEmpty ? "handshake" : handshakeNames.removeFirst()
            switch lifecycle.handshakeReplied(reply, command: name, now: .now) {
            case .wait:
                break
            case .becameReady:
                becameReady()
            case .failed(let error, _):
                throw error
            }
            return
        }
        let outcomes: [PendingConfirmations.Outcome]
        var serverError: RedisError?
        switch reply {
        case .array(let items):
            guard let word = items.first?.bytes else { throw unexpected(reply) }
            switch word {
            case Self.messageWord:
                guard items.count == 3, let channel = items[1].bytes, let payload = items[2].bytes else {
                    throw unexpected(reply)
                }
                let message = RedisPubSubMessage(kind: .message, channel: channel, payload: payload)
                deliver(message, to: SubscriptionKey(kind: .channel, name: channel))
                return
            case Self.patternMessageWord:
                guard items.count == 4, let pattern = items[1].bytes, let channel = items[2].bytes,
                    let payload = items[3].bytes
                else { throw unexpected(reply) }
                let message = RedisPubSubMessage(
                    kind: .pmessage, channel: channel, pattern: pattern, payload: payload)
                deliver(message, to: SubscriptionKey(kind: .pattern, name: pattern))
                return
            case Self.shardMessageWord:
                guard items.count == 3, let channel = items[1].bytes, let payload = items[2].bytes else {
                    throw unexpected(reply)
                }
                let message = RedisPubSubMessage(kind: .smessage, channel: channel, payload: payload)
                deliver(message, to: SubscriptionKey(kind: .shardChannel, name: channel))
                return
            case Self.pongWord:
                outcomes = confirmations.receivePong()
            default:
                guard let (kind, isSubscribe) = SubscriptionKind.confirmation(word), items.count == 3 else {
                    throw unexpected(reply)
                }
                // An unsubscribe confirmation may carry a null name, which no command of ours expects.
                let name = items[1].bytes
                outcomes = confirmations.receiveConfirmation(kind: kind, isSubscribe: isSubscribe, name: name)
            }
        case .simpleString(let text) where text == Array("PONG".utf8):
            // PING before the first subscription gets +PONG rather than the array.
            outcomes = confirmations.receivePong()
        case .simpleString(let text) where text == Array("OK".utf8):
            outcomes = confirmations.receiveOK()
        case .error(let text):
            serverError = RedisError.server(text, command: describeOldestCommand())
            outcomes = confirmations.receiveError()
        default:
            throw unexpected(reply)
        }
        try apply(outcomes, serverError: serverError)
    }

    private func apply(
        _ outcomes: [PendingConfirmations.Outcome], serverError: RedisError?
    ) throws(RedisError) {
        for outcome in outcomes {
            switch outcome {
            case .completed(let id):
                commandDeadlines[id] = nil
                resubscribeNames[id] = nil
                if id == pingID {
                    pingID = nil
                    pingDeadline = nil
                }
                completions.removeValue(forKey: id)?.resume(returning: .success(()))
            case .failed(let id):
                let error = serverError ?? RedisError(.serverError, "command failed")
                commandDeadlines[id] = nil
                if id == pingID {
                    pingID = nil
                    pingDeadline = nil
                }
                completions.removeValue(forKey: id)?.resume(returning: .failure(error))
                if let batch = resubscribeNames.removeValue(forKey: id) {
                    if let suppressed = warningLimiter.admit() {
                        logger.warning(
                            "redis resubscribe rejected; those subscriptions end",
                            metadata: [
                                "error": "\(error.message)", "log.suppressed": "\(suppressed)",
                            ])
                    }
                    endSubscriptions(
                        batch.names.map { SubscriptionKey(kind: batch.kind, name: $0) }, error: error)
                }
            case .resubscribeFinished:
                let buffers = core.shared.withLock { Array($0.buffers.values) }
                for buffer in buffers {
                    buffer.pushControl(.resubscribed)
                }
                logger.debug(
                    "redis subscriber resubscribed", metadata: ["redis.endpoint": "\(configuration.endpoint)"]
                )
            case .serverUnsubscribed(let kind, let name):
                let error = RedisError.closed(
                    "the server ended the subscription", endpoint: configuration.endpoint)
                endSubscriptions([SubscriptionKey(kind: kind, name: name)], error: error)
            case .unexpected(let text):
                throw RedisError(
                    .protocolError,
                    "\(text) from \(configuration.endpoint); the subscriber closes the connection and "
                        + "resubscribes on a new one")
            }
        }
    }

    /// Ends every subscription listening to one of `keys`, telling it why.
    private func endSubscriptions(_ keys: [SubscriptionKey], error: RedisError) {
        let listeners = core.shared.withLock { state in
            Set(keys.flatMap { state.registry.listeners(for: $0) })
        }
        for listener in listeners {
            let buffer = core.shared.withLock { $0.buffers[listener] }
            buffer?.pushControl(.disconnected(error))
            core.removeListener(listener)
        }
    }

    /// Hands a message to every subscription of `key`; stalls when one of them is full.
    private func deliver(_ message: RedisPubSubMessage, to key: SubscriptionKey) {
        let buffers = core.shared.withLock { state in
            state.registry.listeners(for: key).compactMap { state.buffers[$0] }
        }
        let event = RedisSubscriptionEvent.message(message)
        let pending = buffers.filter { !$0.offerMessage(event) }
        if !pending.isEmpty {
            // While stalled nothing is read; checkStalled notices a close and bounds the pause.
            stalled = (event, pending)
            stalledSince = .now
            logger.debug("redis subscriber stopped reading: a subscription buffer is full")
        }
    }

    private func describeOldestCommand() -> String {
        switch confirmations.entries.first?.expectation {
        case .confirmations(let kind, let isSubscribe, _):
            String(decoding: isSubscribe ? kind.subscribeCommand : kind.unsubscribeCommand, as: UTF8.self)
        case .pong: "PING"
        case .ok, nil: "command"
        }
    }

    private func unexpected(_ reply: RESPValue) -> RedisError {
        RedisError(
            .protocolError, "\(configuration.endpoint) sent an unexpected reply in subscribe mode: \(reply)")
    }

    static let messageWord = Array("message".utf8)
    static let patternMessageWord = Array("pmessage".utf8)
    static let shardMessageWord = Array("smessage".utf8)
    static let pongWord = Array("pong".utf8)
}
