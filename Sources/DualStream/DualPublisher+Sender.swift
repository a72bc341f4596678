import DualStreamLogging
import Redis

extension DualPublisher {
    /// Sends queued notifications in PUBLISH batches of up to `maxPipelineLength`, one batch at a
    /// time, so they reach Redis in queue order. Returns once the publisher closes and the queue
    /// is empty.
    func runSender(redis: RedisClient) async {
        let limit = configuration.maxPipelineLength
        while let batch = await nextBatch(limit: limit) {
            let publications = batch.map { item in
                (channel: Array(item.channel.utf8), message: item.message)
            }
            let replies = await redis.publish(publications)
            let now = ContinuousClock.now
            var failures: [(channel: String, error: String)] = []
            for (item, reply) in zip(batch, replies) {
                if case .failure(let error) = reply {
                    failures.append((item.channel, "\(error)"))
                }
            }
            let missing = batch.count - replies.count
            state.withLock { state in
                state.statistics.redisInFlight -= batch.count
                state.statistics.redisSent += batch.count - failures.count - max(0, missing)
                state.statistics.redisFailed += failures.count + max(0, missing)
                for (item, reply) in zip(batch, replies) {
                    if case .success = reply {
                        state.notificationLatency.record(now - item.acknowledgedAt)
                    }
                }
            }
            for failure in failures {
                warnRedisFailure(channel: failure.channel, error: failure.error)
            }
        }
        state.withLock { $0.senderFinished = true }
    }

    /// Waits for queued notifications and takes up to `limit`; `nil` once the publisher closes
    /// and the queue is empty.
    private func nextBatch(limit: Int) async -> [NotificationQueue.Item]? {
        while true {
            let batch = state.withLock { state -> [NotificationQueue.Item]?? in
                if state.queue.count > 0 {
                    // Counted under the same lock as the take, so no snapshot misses the batch.
                    let batch = state.queue.take(limit: limit)
                    state.statistics.redisInFlight += batch.count
                    return .some(batch)
                }
                if state.senderStopping { return .some(nil) }
                return nil
            }
            if let batch { return batch }
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.queue.count > 0 || state.senderStopping { return true }
                    state.waitingSender = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    private func warnRedisFailure(channel: String, error: String) {
        guard let suppressed = redisWarnings.admit() else { return }
        logger.warning(
            "Redis notification failed; the event is in Kafka",
            metadata: ["error": "\(error)", "redis.channel": "\(channel)", "log.suppressed": "\(suppressed)"])
    }
}
