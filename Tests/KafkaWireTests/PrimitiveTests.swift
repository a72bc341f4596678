import Testing

@testable import KafkaWire

@Suite struct PrimitiveTests {
    @Test func integersAreBigEndian() throws {
        var writer = WireWriter()
        writer.writeInt16(0x0102)
        writer.writeInt32(-2)
        writer.writeInt64(0x0102_0304_0506_0708)
        #expect(writer.bytes == hexBytes("01 02 FF FF FF FE 01 02 03 04 05 06 07 08"))
        var reader = WireReader(writer.bytes)
        #expect(try reader.peekInt16() == 0x0102)
        #expect(reader.readerIndex == 0)
        #expect(try reader.getInteger(at: 2, as: Int32.self) == -2)
        #expect(try reader.readInt16("a") == 0x0102)
        #expect(try reader.readInt32("b") == -2)
        #expect(try reader.readInt64("c") == 0x0102_0304_0506_0708)
        #expect(reader.isAtEnd)
    }

    @Test func stringsNullAndCompactForms() throws {
        var writer = WireWriter()
        try writer.writeString("ab", field: "s")
        try writer.writeNullableString(nil, field: "n")
        try writer.writeCompactNullableString("ab", field: "cs")
        try writer.writeCompactNullableString(nil, field: "cn")
        try writer.writeNullableByteArray([1, 2], field: "b")
        try writer.writeNullableByteArray(nil, field: "bn")
        try writer.writeCompactNullableByteArray([], field: "cb")
        #expect(writer.bytes == hexBytes("00 02 61 62 FF FF 03 61 62 00 00 00 00 02 01 02 FF FF FF FF 01"))
        var reader = WireReader(writer.bytes)
        #expect(try reader.readString("s") == "ab")
        #expect(try reader.readNullableString("n") == nil)
        #expect(try reader.readCompactString("cs") == "ab")
        #expect(try reader.readCompactNullableString("cn") == nil)
        #expect(try reader.readNullableByteArray("b") == [1, 2])
        #expect(try reader.readNullableByteArray("bn") == nil)
        #expect(try reader.readCompactByteArray("cb") == [])
        try reader.requireAtEnd()
    }

    @Test func negativeLengthOtherThanMinusOneIsInvalid() {
        var reader = WireReader(hexBytes("FF FE 61"))
        let error = decodingError { try reader.readNullableString("ClientId") }
        #expect(error?.kind == .invalidLength)
        #expect(error?.field == "ClientId")
        #expect(error?.offset == 0)
        #expect(reader.readerIndex == 0)
        var bytesReader = WireReader(hexBytes("80 00 00 00"))
        #expect(decodingError { try bytesReader.readNullableByteArray("Records") }?.kind == .invalidLength)
        var arrayReader = WireReader(hexBytes("FF FF FF F0"))
        #expect(decodingError { try arrayReader.readNullableArrayCount("Topics") }?.kind == .invalidLength)
    }

    @Test func nullWhereNotNullableIsInvalid() {
        var reader = WireReader(hexBytes("FF FF"))
        #expect(decodingError { try reader.readString("Name") }?.kind == .invalidLength)
        var compact = WireReader(hexBytes("00"))
        #expect(decodingError { try compact.readCompactString("Name") }?.kind == .invalidLength)
    }

    @Test func lengthBeyondRemainingBytesIsTruncated() {
        var reader = WireReader(hexBytes("00 05 61 62"))
        let error = decodingError { try reader.readString("Host") }
        #expect(error?.kind == .truncated)
        #expect(reader.readerIndex == 0)
        var bytesReader = WireReader(hexBytes("7F FF FF FF 00"))
        #expect(decodingError { try bytesReader.readNullableByteArray("Records") }?.kind == .truncated)
    }

    @Test func arrayCountOfInt32MaxIsRejectedBeforeAllocating() {
        var reader = WireReader(hexBytes("7F FF FF FF 00 00 00 01"))
        let error = decodingError { try reader.readArrayCount("Topics", minimumElementSize: 2) }
        #expect(error?.kind == .countTooLarge)
        #expect(error?.description.contains("2147483647") == true)
        #expect(reader.readerIndex == 0)
        // Compact: Int32.max + 1 as an unsigned varint.
        var compact = WireReader(hexBytes("80 80 80 80 08 00"))
        #expect(decodingError { try compact.readCompactArrayCount("Topics") }?.kind == .countTooLarge)
    }

    @Test func invalidUTF8IsRejected() {
        var reader = WireReader(hexBytes("00 02 C3 28"))
        #expect(decodingError { try reader.readString("Name") }?.kind == .invalidString)
    }

    @Test func taggedFieldsKeepUnknownTags() throws {
        // Two fields: tag 0 (known, int32 7) and tag 5 (unknown, 3 bytes).
        let bytes = hexBytes("02 00 04 00 00 00 07 05 03 AA BB CC 09")
        var reader = WireReader(bytes)
        var known: Int32? = nil
        let unknown = try reader.readTaggedFields("body") { (tag, fieldReader) throws(WireDecodingError) in
            guard tag == 0 else { return false }
            known = try fieldReader.readInt32("tag 0")
            return true
        }
        #expect(known == 7)
        #expect(unknown == [TaggedField(tag: 5, data: [0xAA, 0xBB, 0xCC])])
        #expect(try reader.readInt8("after") == 9)

        var writer = WireWriter()
        writer.writeTaggedFields(unknown + [TaggedField(tag: 0, data: [0, 0, 0, 7])])
        #expect(writer.bytes == Array(bytes.dropLast()))
    }

    @Test func emptyTaggedSectionIsOneZeroByte() throws {
        var writer = WireWriter()
        writer.writeTaggedFields([])
        #expect(writer.bytes == [0])
        var reader = WireReader([0])
        #expect(try reader.readTaggedFields("body").isEmpty)
    }

    @Test func taggedFieldSizeBeyondInputIsTruncated() {
        var reader = WireReader(hexBytes("01 03 10 AA"))
        #expect(decodingError { try reader.readTaggedFields("body") }?.kind == .truncated)
    }

    @Test func decodingErrorNamesApiVersionFieldAndOffset() {
        var reader = WireReader(hexBytes("00 00"), context: WireContext(api: "Produce response", version: 9))
        try? reader.skip(1, field: "x")
        let error = decodingError { try reader.readInt32("ThrottleTimeMs") }
        #expect(error?.api == "Produce response")
        #expect(error?.version == 9)
        #expect(error?.field == "ThrottleTimeMs")
        #expect(error?.offset == 1)
        #expect(
            error?.description.contains("Produce response v9, field ThrottleTimeMs at byte offset 1") == true)
    }

    @Test func errorCodeFlags() {
        #expect(KafkaErrorCode(6).name == "NOT_LEADER_OR_FOLLOWER")
        #expect(KafkaErrorCode.notLeaderOrFollower.isRetriable)
        #expect(KafkaErrorCode.notLeaderOrFollower.needsMetadataRefresh)
        #expect(!KafkaErrorCode.notLeaderOrFollower.mayHavePersisted)
        #expect(KafkaErrorCode.requestTimedOut.isRetriable)
        #expect(KafkaErrorCode.requestTimedOut.mayHavePersisted)
        #expect(!KafkaErrorCode.requestTimedOut.needsMetadataRefresh)
        #expect(KafkaErrorCode.notEnoughReplicasAfterAppend.mayHavePersisted)
        #expect(!KafkaErrorCode.notEnoughReplicas.mayHavePersisted)
        #expect(!KafkaErrorCode.messageTooLarge.isRetriable)
        #expect(KafkaErrorCode.duplicateSequenceNumber.mayHavePersisted)
        #expect(!KafkaErrorCode.duplicateSequenceNumber.isRetriable)
        #expect(!KafkaErrorCode.unsupportedVersion.isRetriable)
        #expect(KafkaErrorCode.inconsistentTopicId.needsMetadataRefresh)
        #expect(!KafkaErrorCode.none.isError)
        #expect(!KafkaErrorCode.none.mayHavePersisted)
        #expect(KafkaErrorCode(9999).name == "UNKNOWN_ERROR_CODE_9999")
        #expect(KafkaErrorCode(9999).mayHavePersisted)
    }
}
