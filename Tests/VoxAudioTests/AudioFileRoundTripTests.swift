import Foundation
import XCTest
@testable import VoxAudio

final class AudioFileRoundTripTests: XCTestCase {
    func testPCMAndFloatRoundTripsAreBitExact() throws {
        let dir = try makeTemporaryDirectory()
        let cases: [(AudioContainer, SampleEncoding)] = [(.wav, .pcm16), (.wav, .pcm24), (.wav, .float32), (.flac, .pcm16), (.flac, .pcm24)]
        for (container, encoding) in cases {
            let bits = encoding.integerBits ?? 24
            let channels = [gridSamples(5000, bits: bits, seed: 1), gridSamples(5000, bits: bits, seed: 2),
                            gridSamples(5000, bits: bits, seed: 3)]
            var buffer = AudioBuffer(channels: channels, sampleRate: 22050)
            if encoding == .float32 { buffer.channels[0][2] = 1.75 }  // float keeps values beyond full scale
            let path = "\(dir)/rt-\(encoding.rawValue).\(container.rawValue)"
            try AudioFileWriter.write(buffer, to: path, format: AudioFileFormat(container: container, encoding: encoding))
            let reader = try AudioFileReader(path: path)
            XCTAssertEqual(reader.info.sampleRate, 22050)
            XCTAssertEqual(reader.info.channelCount, 3)
            XCTAssertEqual(reader.info.integerBits, encoding.integerBits)
            let back = try reader.readAll(blockFrames: 777)
            XCTAssertEqual(back, buffer, "\(container) \(encoding) is not bit-exact")
        }
    }

    func testStreamingReadEqualsWholeRead() throws {
        let dir = try makeTemporaryDirectory()
        let path = "\(dir)/s.flac"
        let buffer = AudioBuffer(channels: [gridSamples(30000, bits: 16, seed: 5), gridSamples(30000, bits: 16, seed: 6)], sampleRate: 44100)
        try AudioFileWriter.write(buffer, to: path, format: AudioFileFormat(container: .flac, encoding: .pcm16))
        let whole = try AudioFileReader.read(path: path)
        let reader = try AudioFileReader(path: path)
        var pieces = AudioBuffer(frameCount: 0, channelCount: 2, sampleRate: 44100)
        var sizes = [1, 4096, 333, 10000]
        var i = 0
        while let b = try reader.read(maxFrames: sizes[i % sizes.count]) {
            XCTAssertLessThanOrEqual(b.frameCount, sizes[i % sizes.count])
            pieces.append(b)
            i += 1
        }
        sizes.removeAll()
        XCTAssertEqual(pieces, whole)
        XCTAssertEqual(whole, buffer)
    }

    func testStreamingWriterAndClippingCount() throws {
        let dir = try makeTemporaryDirectory()
        let path = "\(dir)/w.wav"
        let writer = try AudioFileWriter(path: path, format: AudioFileFormat(container: .wav, encoding: .pcm16), sampleRate: 8000, channelCount: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing may appear before finish()")
        try writer.write(AudioBuffer(channels: [[0.5, 1.5, -2, 0]], sampleRate: 8000))
        try writer.write(AudioBuffer(channels: [[0.25]], sampleRate: 8000))
        try writer.finish()
        XCTAssertEqual(writer.clippedSamples, 2)
        let back = try AudioFileReader.read(path: path)
        XCTAssertEqual(back.channels[0], [0.5, 32767.0 / 32768.0, -1, 0, 0.25])
        XCTAssertEqual(listing(dir), ["w.wav"])
    }

    func testCancelledWriterLeavesNothingAndKeepsExistingFile() throws {
        let dir = try makeTemporaryDirectory()
        let path = "\(dir)/keep.wav"
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        do {
            let writer = try AudioFileWriter(path: path, format: AudioFileFormat(container: .wav, encoding: .pcm16), sampleRate: 8000, channelCount: 1)
            try writer.write(AudioBuffer(channels: [[0.1, 0.2]], sampleRate: 8000))
            writer.cancel()
        }
        do {  // dropped without finish(): deinit cleans up too
            let writer = try AudioFileWriter(path: path, format: AudioFileFormat(container: .wav, encoding: .pcm16), sampleRate: 8000, channelCount: 1)
            try writer.write(AudioBuffer(channels: [[0.1, 0.2]], sampleRate: 8000))
        }
        XCTAssertEqual(listing(dir), ["keep.wav"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "previous")
    }

    func testFormatChecks() {
        assertThrowsAudioError(.unsupportedFormat) { _ = try AudioFileFormat(container: .flac, encoding: .float32) }
        XCTAssertEqual(AudioContainer(pathExtensionOf: "/a/b.FLAC"), .flac)
        XCTAssertEqual(AudioContainer(pathExtensionOf: "x.wav"), .wav)
        XCTAssertNil(AudioContainer(pathExtensionOf: "x.mp3"))
        XCTAssertNil(AudioContainer(pathExtensionOf: ".wav"))
    }

    func testLevelMeter() {
        var m = LevelMeter()
        m.add(AudioBuffer(channels: [sine(48000, frequency: 1000, sampleRate: 48000, amplitude: 1)], sampleRate: 48000))
        XCTAssertEqual(m.rmsDBFS, -3.0103, accuracy: 0.01)
        XCTAssertEqual(m.peakDBFS, 0, accuracy: 0.01)
        var silent = LevelMeter()
        silent.add(AudioBuffer(frameCount: 10, channelCount: 2, sampleRate: 8000))
        XCTAssertEqual(silent.rmsDBFS, -.infinity)
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        XCTAssertEqual(SHA256.hex(long), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Streaming in odd pieces gives the same digest.
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        var s = SHA256()
        var i = 0
        while i < million.count { let j = min(million.count, i + 777); s.update(million[i..<j]); i = j }
        XCTAssertEqual(s.finalizeHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
