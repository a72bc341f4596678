// Placeholder until the SocketTransport sources land.
