// Placeholder until the FakeKafka sources land.
