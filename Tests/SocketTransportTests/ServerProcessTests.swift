import Glibc
import SocketTransport
import TestSupport
import Testing

extension TransportSuite {
    /// Starts real redis-server and Tansu processes through TestSupport.
    @Suite struct ServerProcessTests {
        @Test func redisStartsAnswersAndStops() throws {
            let redis = RedisServerProcess()
            try redis.start()
            let pid = try #require(redis.pid)
            #expect(redis.port > 0)
            #expect(try Self.ping(port: redis.port) == "+PONG\r\n")

            redis.stop()
            #expect(!redis.isRunning)
            #expect(!ProcessTable.exists(pid), "redis-server pid \(pid) left behind")
            let error = #expect(throws: TransportError.self) {
                try StreamSocket.connect(to: .tcp(host: "127.0.0.1", port: redis.port), timeout: .seconds(1))
            }
            #expect(error?.errno == ECONNREFUSED)
        }

        @Test func redisPauseResumeAndRestart() throws {
            let redis = RedisServerProcess()
            try redis.start(arguments: ["--maxclients", "64"])
            let port = redis.port

            redis.pause()
            let paused = try StreamSocket.connect(
                to: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(2))
            try paused.writeAll(Array("*1\r\n$4\r\nPING\r\n".utf8), timeout: .seconds(1))
            #expect(try paused.readAvailable(maximum: 16, timeout: .milliseconds(200)) == [])
            redis.resume()
            #expect(try paused.readExactly(7, timeout: .seconds(5)) == Array("+PONG\r\n".utf8))

            let firstPid = try #require(redis.pid)
            try redis.restart()
            #expect(redis.port == port)
            #expect(redis.pid != firstPid)
            #expect(!ProcessTable.exists(firstPid))
            #expect(try Self.ping(port: port) == "+PONG\r\n")
            let configGet = "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nmaxclients\r\n"
            let reply = try Self.send(configGet, port: port, expecting: 29)
            #expect(reply == "*2\r\n$10\r\nmaxclients\r\n$2\r\n64\r\n", "restart dropped the extra arguments")

            let secondPid = try #require(redis.pid)
            redis.kill()
            #expect(!ProcessTable.exists(secondPid))
        }

        @Test func redisDeinitLeavesNoProcess() throws {
            var redis: RedisServerProcess? = RedisServerProcess()
            try redis?.start()
            let pid = try #require(redis?.pid)
            redis = nil
            #expect(!ProcessTable.exists(pid))
        }

        @Test func redisBadArgumentShowsLogTail() {
            let redis = RedisServerProcess()
            let error = #expect(throws: TestSupportError.self) {
                try redis.start(arguments: ["--no-such-option", "1"])
            }
            #expect(error?.code == .exitedEarly)
            #expect(error?.description.contains("no-such-option") == true, "\(error?.description ?? "")")
        }

        @Test func redisPortInUseShowsBindError() throws {
            let occupant = try ListeningSocket.listen(on: .tcp(host: "127.0.0.1", port: 0))
            let redis = RedisServerProcess()
            let error = #expect(throws: TestSupportError.self) {
                try redis.start(port: occupant.port)
            }
            #expect(error?.code == .exitedEarly)
            #expect(
                error?.description.contains("Address already in use") == true, "\(error?.description ?? "")")
            #expect(!redis.isRunning)
        }

        @Test func tansuStartsCreatesTopicAndStops() throws {
            let tansu = TansuProcess()
            try tansu.start()
            let pid = try #require(tansu.pid)
            #expect(tansu.bootstrap == "127.0.0.1:\(tansu.port)")
            let endpoint = try Endpoint.parse(tansu.bootstrap)
            let socket = try StreamSocket.connect(to: endpoint, timeout: .seconds(2))
            socket.close()

            try tansu.createTopic("transport-test", partitions: 2)

            tansu.stop()
            #expect(!tansu.isRunning)
            #expect(!ProcessTable.exists(pid), "tansu pid \(pid) left behind")
        }

        @Test func tansuCreateTopicBeforeStartThrows() {
            let tansu = TansuProcess()
            let error = #expect(throws: TestSupportError.self) { try tansu.createTopic("early") }
            #expect(error?.code == .commandFailed)
        }

        /// Sends a RESP PING and returns the reply line.
        private static func ping(port: Int) throws -> String {
            try send("*1\r\n$4\r\nPING\r\n", port: port, expecting: 7)
        }

        /// Sends `request` and reads `count` bytes of the reply.
        private static func send(_ request: String, port: Int, expecting count: Int) throws -> String {
            let socket = try StreamSocket.connect(
                to: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(2))
            defer { socket.close() }
            try socket.writeAll(Array(request.utf8), timeout: .seconds(2))
            return String(decoding: try socket.readExactly(count, timeout: .seconds(5)), as: UTF8.self)
        }
    }
}
