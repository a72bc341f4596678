// Placeholder until the TestSupport sources land.
