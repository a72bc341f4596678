extension FakeKafkaCluster {
    /// Returns every record appended to a partition, in offset order.
    public func records(topic: String, partition: Int32) throws(FakeKafkaError) -> [FakeKafkaRecord] {
        try batches(topic: topic, partition: partition).flatMap(\.records)
    }

    /// Returns every batch appended to a partition, in offset order, with the bytes the client sent.
    public func batches(topic: String, partition: Int32) throws(FakeKafkaError) -> [FakeKafkaBatch] {
        try core.state.withLock { state throws(FakeKafkaError) in
            try state.partitionState(topic: topic, partition: partition).batches
        }
    }

    /// Returns the offset that the next appended record gets.
    public func logEndOffset(topic: String, partition: Int32) throws(FakeKafkaError) -> Int64 {
        try core.state.withLock { state throws(FakeKafkaError) in
            try state.partitionState(topic: topic, partition: partition).logEndOffset
        }
    }

    /// Producer ids issued by InitProducerId so far, with their epochs.
    public var issuedProducerIDs: [Int64: Int16] {
        core.state.withLock { $0.producers.issuedEpochs }
    }
}
