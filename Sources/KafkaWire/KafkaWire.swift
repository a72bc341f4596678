// Placeholder until the KafkaWire sources land.
