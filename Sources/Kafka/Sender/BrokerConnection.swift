import KafkaWire
import SocketTransport

/// One connection to a broker, owned by the sender thread: non-blocking socket, write buffer,
/// frame buffer and the requests in flight in send order.
final class BrokerConnection {
    enum Phase: Equatable {
        case disconnected
        /// The host name is being resolved on a resolver thread; `resolveTicket` names the lookup.
        case resolving
        /// A non-blocking connect runs; the poller reports its descriptor's writability.
        case connecting
        /// ApiVersions sent at this version. Nothing else is sent until its response arrives.
        case negotiating(version: Int16)
        case ready
    }

    enum RequestKind {
        case apiVersions(version: Int16)
        case metadata(version: Int16)
        case initProducerID(version: Int16)
        case produce(version: Int16, batches: [ProducerBatch])
    }

    struct InFlightRequest {
        var correlationID: Int32
        var kind: RequestKind
        var deadline: ContinuousClock.Instant
    }

    /// Broker node id; bootstrap connections use -1, -2, ... until metadata names the brokers.
    var nodeID: Int32
    let endpoint: Endpoint
    let token: UInt64
    private(set) var socket: StreamSocket?
    /// The connect in progress while `phase` is `.connecting`.
    private(set) var pendingConnect: PendingConnect?
    /// The `ResolverPool` lookup in progress while `phase` is `.resolving`.
    private(set) var resolveTicket: UInt64?
    /// When the lookup, or the address being connected, times out. Each address gets its own
    /// deadline, as `StreamSocket.connect` gives it.
    var connectDeadline: ContinuousClock.Instant?
    /// When the current resolve or connect started, to decide when to try another broker too.
    private(set) var connectStartedAt: ContinuousClock.Instant?
    var phase: Phase = .disconnected
    var versions: [Int16: ClosedRange<Int16>] = [:]
    var produceVersion: Int16?
    var metadataVersion: Int16?
    var initProducerIDVersion: Int16?
    private(set) var inFlight = FIFOQueue<InFlightRequest>()
    /// Produce requests sent with acks=0, completed once their last byte is written.
    private(set) var unacknowledgedWrites = FIFOQueue<(endOffset: Int, batches: [ProducerBatch])>()
    /// Byte arrays waiting to be written, in order; large record batches are queued by reference.
    private var writeQueue = FIFOQueue<[UInt8]>()
    /// Bytes of the first queued array already written.
    private var writeOffset = 0
    private(set) var pendingWriteBytes = 0
    /// Bytes written since the connection opened; positions in `unacknowledgedWrites` use it.
    private var totalWritten = 0
    private var totalQueued = 0
    var frames = FrameBuffer()
    private var nextCorrelationID: Int32 = 1
    var reconnectBackoff: Backoff
    var reconnectAt: ContinuousClock.Instant?
    private(set) var wantsWritable = false

    init(nodeID: Int32, endpoint: Endpoint, token: UInt64, backoff: Backoff) {
        self.nodeID = nodeID
        self.endpoint = endpoint
        self.token = token
        self.reconnectBackoff = backoff
    }

    var isReady: Bool { phase == .ready }

    /// True while connected, connecting or resolving, so no new connect should start.
    var isOpenOrConnecting: Bool { socket != nil || pendingConnect != nil || resolveTicket != nil }

    /// Descriptor registered with the poller: the socket's, or the pending connect's.
    var registeredDescriptor: Int32? {
        if let socket { return socket.fileDescriptor }
        return pendingConnect?.fileDescriptor
    }

    func beginResolving(ticket: UInt64, now: ContinuousClock.Instant, deadline: ContinuousClock.Instant) {
        resolveTicket = ticket
        connectDeadline = deadline
        connectStartedAt = now
        phase = .resolving
    }

    /// Ends the lookup and keeps `connectStartedAt`; the caller starts the connect or fails it.
    func finishResolving() {
        resolveTicket = nil
        connectDeadline = nil
        phase = .disconnected
    }

    func beginConnecting(
        _ pending: PendingConnect, now: ContinuousClock.Instant, deadline: ContinuousClock.Instant
    ) {
        // A connect that follows a lookup keeps the lookup's start time.
        if connectStartedAt == nil { connectStartedAt = now }
        pendingConnect = pending
        connectDeadline = deadline
        phase = .connecting
    }

    func attach(_ socket: StreamSocket) {
        pendingConnect = nil
        connectDeadline = nil
        self.socket = socket
        writeQueue = FIFOQueue()
        writeOffset = 0
        pendingWriteBytes = 0
        totalWritten = 0
        totalQueued = 0
        frames = FrameBuffer()
        nextCorrelationID = 1
        wantsWritable = false
    }

    func makeCorrelationID() -> Int32 {
        let id = nextCorrelationID
        nextCorrelationID = nextCorrelationID == Int32.max ? 1 : nextCorrelationID + 1
        return id
    }

    /// Queues request bytes; `expectsResponse` false for Produce with acks=0.
    func enqueue(_ chunks: [[UInt8]], request: InFlightRequest, expectsResponse: Bool) {
        for chunk in chunks where !chunk.isEmpty {
            writeQueue.append(chunk)
            totalQueued += chunk.count
            pendingWriteBytes += chunk.count
        }
        if expectsResponse {
            inFlight.append(request)
        } else if case .produce(_, let batches) = request.kind {
            unacknowledgedWrites.append((totalQueued, batches))
        }
    }

    /// Writes as much as the socket takes; returns acks=0 batches whose bytes are now all written.
    func flushWrites() throws(TransportError) -> [ProducerBatch] {
        guard let socket else { return [] }
        while !writeQueue.isEmpty {
            let written = try writeGathered(to: socket)
            if written == 0 { break }
            totalWritten += written
            pendingWriteBytes -= written
            var remaining = written
            while remaining > 0, let chunk = writeQueue.first {
                let sentOfChunk = min(remaining, chunk.count - writeOffset)
                writeOffset += sentOfChunk
                remaining -= sentOfChunk
                if writeOffset == chunk.count {
                    _ = writeQueue.popFirst()
                    writeOffset = 0
                }
            }
        }
        var done = [ProducerBatch]()
        while let first = unacknowledgedWrites.first, first.endOffset <= totalWritten {
            _ = unacknowledgedWrites.popFirst()
            done.append(contentsOf: first.batches)
        }
        return done
    }

    /// Writes up to ``maxGatheredChunks`` queued chunks, the first from ``writeOffset``, with
    /// one `sendmsg`, so a request's header and batches leave together. Returns the bytes
    /// written, 0 when the socket would block.
    private func writeGathered(to socket: StreamSocket) throws(TransportError) -> Int {
        var chunks: [[UInt8]] = []
        chunks.reserveCapacity(min(writeQueue.count, Self.maxGatheredChunks))
        for chunk in writeQueue.elements {
            if chunks.count == Self.maxGatheredChunks { break }
            chunks.append(chunk)
        }
        let offset = writeOffset
        return try Self.withBuffers(of: chunks, firstOffset: offset) { buffers throws(TransportError) in
            try socket.write(gathering: buffers)
        }
    }

    /// Chunks handed to one `sendmsg`, well below Linux's IOV_MAX of 1,024.
    static let maxGatheredChunks = 64

    /// Calls `body` with pointers to the bytes of `chunks`, the first starting at `firstOffset`.
    private static func withBuffers(
        of chunks: [[UInt8]], firstOffset: Int,
        _ body: ([UnsafeRawBufferPointer]) throws(TransportError) -> Int
    ) throws(TransportError) -> Int {
        var buffers: [UnsafeRawBufferPointer] = []
        buffers.reserveCapacity(chunks.count)
        return try collect(chunks[...], firstOffset: firstOffset, into: &buffers, body)
    }

    /// Pins each chunk's storage with `withUnsafeBytes`, one nested call per chunk, so every
    /// pointer stays valid while `body` runs.
    private static func collect(
        _ chunks: ArraySlice<[UInt8]>, firstOffset: Int, into buffers: inout [UnsafeRawBufferPointer],
        _ body: ([UnsafeRawBufferPointer]) throws(TransportError) -> Int
    ) throws(TransportError) -> Int {
        guard let chunk = chunks.first else { return try body(buffers) }
        let result: Result<Int, TransportError> = chunk.withUnsafeBytes { bytes in
            let start = buffers.isEmpty ? firstOffset : 0
            buffers.append(UnsafeRawBufferPointer(rebasing: bytes[start...]))
            do throws(TransportError) {
                return .success(try collect(chunks.dropFirst(), firstOffset: firstOffset, into: &buffers, body))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Interest to register: readable always, writable while bytes wait.
    var interest: Poller.Interest {
        pendingWriteBytes > 0 ? [.readable, .writable] : [.readable]
    }

    func setWantsWritable(_ value: Bool) { wantsWritable = value }

    func popInFlight() -> InFlightRequest? { inFlight.popFirst() }

    /// Puts back a request taken by ``popInFlight()`` whose response could not be used.
    func requeueFront(_ request: InFlightRequest) { inFlight.prepend(request) }

    /// Closes the socket and returns the requests that will never get a response.
    func disconnect() -> (inFlight: [InFlightRequest], unwritten: [ProducerBatch]) {
        socket?.close()
        socket = nil
        pendingConnect?.cancel()
        pendingConnect = nil
        resolveTicket = nil
        connectDeadline = nil
        connectStartedAt = nil
        phase = .disconnected
        var requests = [InFlightRequest]()
        while let request = inFlight.popFirst() { requests.append(request) }
        var unwritten = [ProducerBatch]()
        while let entry = unacknowledgedWrites.popFirst() { unwritten.append(contentsOf: entry.batches) }
        writeQueue = FIFOQueue()
        writeOffset = 0
        pendingWriteBytes = 0
        produceVersion = nil
        metadataVersion = nil
        initProducerIDVersion = nil
        versions = [:]
        return (requests, unwritten)
    }

    /// Returns whether another request may be sent now.
    func canSend(maxInFlight: Int, maxPendingBytes: Int) -> Bool {
        isReady && inFlight.count < maxInFlight && pendingWriteBytes < maxPendingBytes
    }

    var oldestDeadline: ContinuousClock.Instant? { inFlight.first?.deadline }
    var hasInFlight: Bool { !inFlight.isEmpty }
    var inFlightCount: Int { inFlight.count }
    var inFlightRequests: some Sequence<InFlightRequest> { inFlight.elements }
}
