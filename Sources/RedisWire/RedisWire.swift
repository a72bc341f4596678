// Placeholder until the RedisWire sources land.
