import RedisWire
import SocketTransport

/// One open socket with its write buffer, read cursor and parser. Used only by the I/O thread
/// that owns the connection, so its mutable properties opt out of runtime exclusivity checks.
final class RedisSocketIO {
    enum ReadStatus {
        /// Bytes were read; call ``nextReply()`` until it returns nil. `filledChunk` is true
        /// when the read filled the whole chunk, so more bytes may be waiting.
        case readBytes(filledChunk: Bool)
        /// Nothing more to read now.
        case wouldBlock
    }

    let socket: StreamSocket
    let endpoint: Endpoint
    /// Bytes encoded but not yet written, from ``writeOffset`` on.
    @exclusivity(unchecked) var writeBuffer: [UInt8] = []
    @exclusivity(unchecked) private var writeOffset = 0
    @exclusivity(unchecked) private var cursor = ByteCursor()
    @exclusivity(unchecked) private var parser: RESPParser
    private let readChunk: UnsafeMutableRawBufferPointer

    init(socket: StreamSocket, limits: RESPLimits = .init(), readChunkSize: Int = 64 * 1024) {
        self.socket = socket
        self.endpoint = socket.endpoint
        self.parser = RESPParser(limits: limits)
        self.readChunk = .allocate(byteCount: readChunkSize, alignment: 16)
    }

    deinit {
        readChunk.deallocate()
        socket.close()
    }

    var hasPendingWrites: Bool { writeOffset < writeBuffer.count }

    /// Bytes read but not yet parsed into replies.
    var unparsedBytes: Int { cursor.readableBytes }

    /// Writes as much of the write buffer as the socket takes. Returns true when all was written.
    func flush() throws(RedisError) -> Bool {
        while writeOffset < writeBuffer.count {
            let written: Int
            do {
                written = try writeBuffer.withUnsafeBytes { (bytes) throws(TransportError) -> Int in
                    try socket.write(UnsafeRawBufferPointer(rebasing: bytes[writeOffset...]))
                }
            } catch {
                throw RedisError.closed("write failed: \(error)", endpoint: endpoint, underlying: error)
            }
            if written == 0 { return false }
            writeOffset += written
        }
        writeBuffer.removeAll(keepingCapacity: writeBuffer.capacity <= 1 << 20)
        writeOffset = 0
        return true
    }

    /// Reads one chunk from the socket into the cursor.
    /// Throws ``RedisError/Code/connectionClosed`` when the server closed the connection.
    func readOnce() throws(RedisError) -> ReadStatus {
        let result: StreamSocket.ReadResult
        do {
            result = try socket.read(into: readChunk)
        } catch {
            throw RedisError.closed("read failed: \(error)", endpoint: endpoint, underlying: error)
        }
        switch result {
        case .bytes(let count):
            cursor.append(contentsOf: UnsafeRawBufferPointer(rebasing: readChunk[0..<count]))
            return .readBytes(filledChunk: count == readChunk.count)
        case .wouldBlock:
            return .wouldBlock
        case .closed:
            let partial = cursor.readableBytes
            let detail = partial > 0 ? " in the middle of a reply (\(partial) bytes of it received)" : ""
            throw RedisError.closed("the server closed the connection\(detail)", endpoint: endpoint)
        }
    }

    /// Parses the next complete reply, or returns nil when more bytes are needed.
    func nextReply() throws(RedisError) -> RESPValue? {
        do {
            if let value = try parser.parse(&cursor) {
                return value
            }
            cursor.discardReadBytes()
            return nil
        } catch {
            throw RedisError.protocolError(error, endpoint: endpoint)
        }
    }

    /// Calls `body` with every complete reply read so far, in order.
    ///
    /// The cursor and parser are moved into locals for the loop, so the loop pays for one
    /// exclusive access to them per call instead of one per reply.
    func forEachReply(_ body: (RESPValue) throws(RedisError) -> Void) throws(RedisError) {
        var localCursor = ByteCursor()
        swap(&localCursor, &cursor)
        var localParser = parser
        defer {
            localCursor.discardReadBytes()
            swap(&localCursor, &cursor)
            parser = localParser
        }
        while true {
            let reply: RESPValue?
            do {
                reply = try localParser.parse(&localCursor)
            } catch {
                throw RedisError.protocolError(error, endpoint: endpoint)
            }
            guard let reply else { return }
            try body(reply)
        }
    }
}
