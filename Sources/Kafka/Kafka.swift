// Placeholder until the Kafka sources land.
