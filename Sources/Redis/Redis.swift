// Placeholder until the Redis sources land.
