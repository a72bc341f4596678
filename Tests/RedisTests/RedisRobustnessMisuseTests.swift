import Redis
import RedisWire
import TestSupport
import Testing

extension RedisServerSuite {
    @Suite("Redis client misuse")
    struct RedisRobustnessMisuseTests {
        @Test("CLIENT REPLY SKIP cannot shift replies")
        func clientReplySkip() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.commandTimeout = .milliseconds(500)
            let client = RedisClient(configuration: configuration)
            // SKIP and OFF make the server send no reply for themselves, so every later reply
            // would be matched with the command before it.
            let results = await client.pipeline([
                [bytes("CLIENT"), bytes("REPLY"), bytes("SKIP")],
                [bytes("SET"), bytes("k"), bytes("v")],
                [bytes("ECHO"), bytes("mine")],
            ])
            #expect(results.count == 3)
            if case .success(let reply) = results[0] {
                Issue.record("CLIENT REPLY SKIP got the reply \(reply), which belongs to a later command")
            }
            for command in ["OFF", "SKIP", "off", "Skip"] {
                let result = await capture { () async throws(RedisError) in
                    try await client.send("client", "reply", command)
                }
                guard case .failure(let error) = result else {
                    Issue.record("CLIENT REPLY \(command) returned a reply")
                    continue
                }
                #expect(error.code == .invalidArgument, "\(command): \(error)")
            }
            #expect(try await client.send("CLIENT", "REPLY", "ON") == .simpleString(bytes("OK")))
            #expect(try await client.send("ECHO", "after") == .bulkString(bytes("after")))
            await client.close()
        }

        @Test("UNSUBSCRIBE cannot shift replies")
        func unsubscribeSeveralNames() async throws {
            let server = try startRedis()
            defer { server.stop() }
            var configuration = testConfiguration(server)
            configuration.commandTimeout = .milliseconds(500)
            let client = RedisClient(configuration: configuration)
            // Outside subscribe mode the server still sends one reply per name.
            for command in ["UNSUBSCRIBE", "punsubscribe", "SUNSUBSCRIBE"] {
                let results = await client.pipeline([
                    [bytes(command), bytes("a"), bytes("b")],
                    [bytes("ECHO"), bytes("mine")],
                ])
                #expect(results.count == 2)
                if case .failure(let error) = results[0] {
                    #expect(error.code == .invalidArgument, "\(command): \(error)")
                }
                if case .success(let reply) = results[1] {
                    #expect(reply == .bulkString(bytes("mine")), "\(command): ECHO got \(reply)")
                }
            }
            #expect(try await client.send("ECHO", "after") == .bulkString(bytes("after")))
            await client.close()
        }
    }
}
