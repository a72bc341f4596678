import Foundation
import Testing

@testable import KafkaWire

/// Recorded Kafka frames in Fixtures/kafka (see its README): `.bin` files hold whole frames, size
/// prefix included, and `.json` sidecars state what is known about them without our decoder.
enum KafkaFixtures {
    /// Fixtures/kafka under the package root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/kafka")

    static let recordedFolders = ["kafka-python", "librdkafka", "librdkafka-mock", "tansu"]

    /// Relative names ("tansu/produce-v3-request") of recorded frames with the given direction.
    static func names(direction: String) -> [String] {
        var names: [String] = []
        for folder in recordedFolders {
            let url = root.appendingPathComponent(folder)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            for file in files.sorted() where file.hasSuffix(".bin") {
                let name = "\(folder)/\(file.dropLast(4))"
                if string(sidecar(name)["direction"]) == direction { names.append(name) }
            }
        }
        return names
    }

    /// Every recorded frame plus the hand-written ApiVersions refusal.
    static var allFrames: [String] {
        names(direction: "request") + names(direction: "response")
            + ["vectors/apiversions-v0-unsupported-version-refusal"]
    }

    static func bytes(_ name: String) -> [UInt8] {
        let url = root.appendingPathComponent("\(name).bin")
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return [UInt8](data)
    }

    static func sidecar(_ name: String) -> [String: Any] {
        let url = root.appendingPathComponent("\(name).json")
        guard let data = FileManager.default.contents(atPath: url.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object
    }

    static func json(_ name: String) -> Any? {
        let url = root.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }
}

// MARK: JSON value helpers

func int(_ value: Any?) -> Int? {
    guard let number = value as? NSNumber, !(value is NSNull) else { return nil }
    return number.intValue
}

func string(_ value: Any?) -> String? {
    value as? String
}

func dictionary(_ value: Any?) -> [String: Any] {
    value as? [String: Any] ?? [:]
}

func array(_ value: Any?) -> [Any] {
    value as? [Any] ?? []
}

func isNull(_ value: Any?) -> Bool {
    value == nil || value is NSNull
}

/// Decodes a sidecar hex string; JSON null becomes nil.
func hexOrNil(_ value: Any?) -> [UInt8]? {
    guard let text = value as? String else { return nil }
    return hexBytes(text)
}
