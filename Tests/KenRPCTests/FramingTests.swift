import KenRPC
import NIOCore
import XCTest

final class FramingTests: XCTestCase {
    func testVarintRoundTripAtEveryWidth() throws {
        let values: [UInt64] = [0, 1, 127, 128, 300, 16_383, 16_384, 4 << 20, UInt64(UInt32.max), UInt64.max]
        for value in values {
            var buffer = ByteBuffer()
            WireFormat.writeVarint(value, to: &buffer)
            XCTAssertEqual(buffer.readableBytes, WireFormat.varintSize(value))
            XCTAssertEqual(Array(buffer.readableBytesView), varint(value), "encoding of \(value)")
            XCTAssertEqual(WireFormat.peekVarint(in: buffer), .value(value, byteCount: buffer.readableBytes))
        }
        XCTAssertEqual(WireFormat.varintSize(UInt64.max), 10)
    }

    func testMalformedVarintsAreRejected() {
        // 11 continuation bytes: longer than any 64-bit varint.
        XCTAssertEqual(WireFormat.peekVarint(in: ByteBuffer(bytes: [UInt8](repeating: 0xff, count: 11))), .malformed)
        // 10 bytes whose last carries more than the 64th bit: overflow.
        XCTAssertEqual(WireFormat.peekVarint(in: ByteBuffer(bytes: [UInt8](repeating: 0xff, count: 9) + [0x02])), .malformed)
        XCTAssertEqual(WireFormat.peekVarint(in: ByteBuffer(bytes: [0x80, 0x80])), .incomplete)

        var reader = FrameReader()
        reader.append(ByteBuffer(bytes: [UInt8](repeating: 0x80, count: 10)))
        XCTAssertThrowsError(try reader.nextFrame()) { XCTAssertEqual($0 as? FrameError, .malformedLength) }
    }

    func testFramesSplitAtEveryByteBoundary() throws {
        let bodies: [[UInt8]] = [[], [1], Array(repeating: 7, count: 200), Array(0..<128)]
        let stream = bodies.flatMap { Array(FrameEncoder.frame($0).readableBytesView) }
        for chunkSize in [1, 2, 3, 7, stream.count] {
            var reader = FrameReader()
            var received: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let end = min(offset + chunkSize, stream.count)
                reader.append(ByteBuffer(bytes: stream[offset..<end]))
                offset = end
                while let body = try reader.nextFrame() { received.append(Array(body.readableBytesView)) }
            }
            XCTAssertEqual(received, bodies, "chunk size \(chunkSize)")
            XCTAssertFalse(reader.hasPartialFrame)
            XCTAssertNoThrow(try reader.finish())
        }
    }

    func testOversizedLengthIsRefusedFromTheHeaderAlone() {
        var reader = FrameReader(maxFrameSize: 1024)
        reader.append(ByteBuffer(bytes: varint(1025)))
        XCTAssertThrowsError(try reader.nextFrame()) {
            XCTAssertEqual($0 as? FrameError, .tooLarge(length: 1025, limit: 1024))
        }
        var exact = FrameReader(maxFrameSize: 3)
        exact.append(ByteBuffer(bytes: varint(3) + [1, 2, 3]))
        XCTAssertEqual(try exact.nextFrame().map { Array($0.readableBytesView) }, [1, 2, 3])
    }

    func testTruncatedStreamIsReported() throws {
        var reader = FrameReader()
        reader.append(ByteBuffer(bytes: varint(10) + [1, 2, 3]))
        XCTAssertNil(try reader.nextFrame())
        XCTAssertTrue(reader.hasPartialFrame)
        XCTAssertThrowsError(try reader.finish()) {
            XCTAssertEqual($0 as? FrameError, .truncated(bufferedBytes: 3))
        }
    }
}
