extension FakeKafkaCluster {
    /// Returns every request received so far, in order of arrival.
    public func requests() -> [FakeKafkaRequest] {
        core.state.withLock { $0.requestLog }
    }

    /// Empties the request log and the list of problems, for example between phases of a test.
    public func clearRequestLog() {
        core.state.withLock { state in
            state.requestLog.removeAll()
            state.problems.removeAll()
        }
    }

    /// Requests received so far that match an API key and broker (nil matches any).
    public func requests(apiKey: FakeKafkaAPIKey? = nil, broker: Int32? = nil) -> [FakeKafkaRequest] {
        core.state.withLock { state in
            state.requestLog.filter { request in
                (apiKey == nil || request.apiKey == apiKey) && (broker == nil || request.broker == broker)
            }
        }
    }

    public func requestCount(apiKey: FakeKafkaAPIKey? = nil, broker: Int32? = nil) -> Int {
        requests(apiKey: apiKey, broker: broker).count
    }

    /// Returns every Produce batch received so far, appended or not, in order of arrival.
    public func producedBatches() -> [FakeKafkaProducedBatch] {
        requests(apiKey: .produce).flatMap { $0.produce?.batches ?? [] }
    }

    /// Malformed input and connection failures seen so far, each saying what was wrong.
    public func problems() -> [String] {
        core.state.withLock { state in
            state.problems
        }
    }

    /// Connections accepted by a broker since the cluster started.
    public func acceptedConnectionCount(broker: Int32) -> Int {
        core.state.withLock { $0.acceptedConnections[broker] ?? 0 }
    }

    /// Waits until at least `count` matching requests have arrived. Returns false on timeout.
    public func waitForRequests(
        count: Int, apiKey: FakeKafkaAPIKey? = nil, broker: Int32? = nil, timeout: Duration
    ) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while requestCount(apiKey: apiKey, broker: broker) < count {
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Blocking form of `waitForRequests` for synchronous tests; sleeps the calling thread.
    public func waitForRequestsBlocking(
        count: Int, apiKey: FakeKafkaAPIKey? = nil, broker: Int32? = nil, timeout: Duration
    ) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while requestCount(apiKey: apiKey, broker: broker) < count {
            if clock.now >= deadline { return false }
            sleep(for: .milliseconds(5)) { false }
        }
        return true
    }
}
