// Placeholder until the DualStream sources land.
