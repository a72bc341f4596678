import KafkaWire

/// Brokers, partition counts and leaders last returned by Metadata, and when to ask again.
///
/// Refreshed at least every `maxAge`. After an error that means a leader moved, the refresh is due
/// within the retry backoff (``requestRefresh()``), but never sooner than `retryBackoff` after the
/// previous request.
struct MetadataCache {
    struct Broker: Hashable {
        var host: String
        var port: Int
    }

    struct Topic {
        var errorCode: Int16
        /// Leader node id per partition index; -1 while the partition has no leader.
        var leaders: [Int32]
        var leaderEpochs: [Int32]
        var partitionCount: Int32 { Int32(leaders.count) }
    }

    let maxAge: Duration
    let retryBackoff: Duration
    private(set) var brokers: [Int32: Broker] = [:]
    private(set) var topics: [String: Topic] = [:]
    /// Topics the producer has records or waiters for; each Metadata request names them all.
    private(set) var topicsInUse: Set<String> = []
    private(set) var lastUpdate: ContinuousClock.Instant?
    private(set) var lastRequest: ContinuousClock.Instant?
    private(set) var refreshRequested = true
    var requestInFlight = false
    /// When each topic in use was added, so a topic that never received a record can go idle too.
    private var firstUses: [String: ContinuousClock.Instant] = [:]
    /// When the sender next looks for idle topics; `nil` while no topic is in use.
    var nextIdleCheck: ContinuousClock.Instant?
    /// Topics whose latest Metadata entry was unusable, with the reason; cleared by a usable one.
    private(set) var invalidTopics: [String: String] = [:]

    init(maxAge: Duration, retryBackoff: Duration) {
        self.maxAge = maxAge
        self.retryBackoff = retryBackoff
    }

    /// Adds a topic; returns true when it was not in use before, so metadata must be fetched.
    mutating func use(topic: String, now: ContinuousClock.Instant = .now) -> Bool {
        guard topicsInUse.insert(topic).inserted else { return false }
        firstUses[topic] = now
        if nextIdleCheck == nil { nextIdleCheck = now }
        if topics[topic] == nil { refreshRequested = true }
        return true
    }

    func firstUse(of topic: String) -> ContinuousClock.Instant? {
        firstUses[topic]
    }

    /// Forgets an idle topic: later Metadata requests leave it out, and a record for it waits for
    /// its metadata again, as after the Java producer's `metadata.max.idle.ms`.
    mutating func drop(topic: String) {
        topicsInUse.remove(topic)
        topics.removeValue(forKey: topic)
        firstUses.removeValue(forKey: topic)
        invalidTopics.removeValue(forKey: topic)
        if topicsInUse.isEmpty { nextIdleCheck = nil }
    }

    mutating func requestRefresh() {
        refreshRequested = true
    }

    /// Returns when the next Metadata request is due, or `nil` while one is in flight.
    func nextRefresh(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard !requestInFlight else { return nil }
        let earliest = lastRequest.map { $0 + retryBackoff } ?? now
        if refreshRequested { return earliest }
        guard let lastUpdate else { return earliest }
        return max(earliest, lastUpdate + maxAge)
    }

    func isRefreshDue(now: ContinuousClock.Instant) -> Bool {
        guard let due = nextRefresh(now: now) else { return false }
        return due <= now
    }

    mutating func markRequestSent(now: ContinuousClock.Instant) {
        requestInFlight = true
        lastRequest = now
        refreshRequested = false
    }

    mutating func markRequestFailed() {
        requestInFlight = false
        refreshRequested = true
    }

    /// Stores a Metadata response. Topics with an error keep their previous partitions, and a
    /// refresh is requested again when any topic or partition lacks a leader.
    mutating func update(
        brokers newBrokers: [Int32: Broker], topics newTopics: [String: Topic], invalid: [String: String] = [:],
        now: ContinuousClock.Instant
    ) {
        requestInFlight = false
        lastUpdate = now
        if !newBrokers.isEmpty { brokers = newBrokers }
        for (name, reason) in invalid {
            invalidTopics[name] = reason
            refreshRequested = true
        }
        for (name, topic) in newTopics {
            invalidTopics.removeValue(forKey: name)
            if topic.errorCode != 0 && topic.leaders.isEmpty {
                if topics[name] == nil || topic.errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue {
                    topics[name] = topic
                }
                refreshRequested = true
                continue
            }
            topics[name] = topic
            if topic.leaders.contains(-1) { refreshRequested = true }
        }
    }

    func partitionCount(of topic: String) -> Int32? {
        guard let entry = topics[topic], !entry.leaders.isEmpty else { return nil }
        return entry.partitionCount
    }

    func leader(topic: String, partition: Int32) -> Int32? {
        guard let entry = topics[topic], partition >= 0, Int(partition) < entry.leaders.count else { return nil }
        let leader = entry.leaders[Int(partition)]
        return leader >= 0 ? leader : nil
    }

    /// Applies a CurrentLeader hint from a Produce response (KIP-951) when it is newer.
    mutating func applyLeaderHint(
        topic: String, partition: Int32, leaderID: Int32, leaderEpoch: Int32, endpoint: Broker?
    ) -> Bool {
        guard leaderID >= 0, var entry = topics[topic], partition >= 0, Int(partition) < entry.leaders.count
        else { return false }
        let index = Int(partition)
        guard leaderEpoch > entry.leaderEpochs[index] || entry.leaderEpochs[index] < 0 else { return false }
        if let endpoint { brokers[leaderID] = endpoint }
        guard brokers[leaderID] != nil else { return false }
        entry.leaders[index] = leaderID
        entry.leaderEpochs[index] = leaderEpoch
        topics[topic] = entry
        return true
    }

    /// Marks the partition's leader unknown after NOT_LEADER_OR_FOLLOWER and similar errors.
    mutating func invalidateLeader(topic: String, partition: Int32) {
        guard var entry = topics[topic], partition >= 0, Int(partition) < entry.leaders.count else { return }
        entry.leaders[Int(partition)] = -1
        topics[topic] = entry
        refreshRequested = true
    }
}
