import Foundation
import XCTest
@testable import VoxAudio

final class AudioMetadataTests: XCTestCase {
    private let fields = ["provenance.tool": "Vox 0.1.0", "provenance.synthetic-voice": "yes",
                          "provenance.consent-sha256": String(repeating: "ab", count: 32), "x_1": "a = b; c"]

    func testRoundTripWAVAndFLAC() throws {
        let dir = try makeTemporaryDirectory()
        let buffer = AudioBuffer(channels: [gridSamples(4410, bits: 16, seed: 1), gridSamples(4410, bits: 16, seed: 2)], sampleRate: 44100)
        let m = AudioMetadata(title: "Take 3", artist: "Alice", software: "Vox 0.1.0", comment: "first line\nsecond line",
                              date: "2026-12-02", copyright: "CC BY 4.0", fields: fields)
        for (name, container) in [("a.wav", AudioContainer.wav), ("a.flac", .flac)] {
            let path = dir + "/" + name
            try AudioFileWriter.write(buffer, to: path, format: try AudioFileFormat(container: container, encoding: .pcm16), metadata: m)
            let reader = try AudioFileReader(path: path)
            let back = reader.metadata
            XCTAssertEqual(back.fields, fields, name)
            XCTAssertEqual(back.title, "Take 3", name)
            XCTAssertEqual(back.artist, "Alice", name)
            XCTAssertEqual(back.comment, "first line\nsecond line", name)
            XCTAssertEqual(back.date, "2026-12-02", name)
            XCTAssertEqual(back.copyright, "CC BY 4.0", name)
            XCTAssertTrue(back.software?.hasPrefix("Vox 0.1.0") == true, "\(back.software ?? "nil")")
            XCTAssertTrue(try reader.readAll() == buffer, "metadata must not disturb the audio (\(name))")
            XCTAssertEqual(back.sources, container == .wav ? ["INFO", "bext", "iXML"] : ["Vorbis comment"], name)
        }
        // The iXML chunk is well-formed text with the fields.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.wav"))
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("<PROVENANCE.SYNTHETIC-VOICE>yes</PROVENANCE.SYNTHETIC-VOICE>"))
        XCTAssertTrue(text.contains("<F_1>") == false && text.contains("<X_1>a = b; c</X_1>"))
        XCTAssertTrue(text.contains("bext"))
    }

    func testNoMetadataReadsEmpty() throws {
        let dir = try makeTemporaryDirectory()
        let path = dir + "/plain.wav"
        try AudioFileWriter.write(AudioBuffer(channels: [noise(1000)], sampleRate: 8000), to: path,
                                  format: try AudioFileFormat(container: .wav, encoding: .pcm16))
        let m = try AudioFileReader(path: path).metadata
        XCTAssertTrue(m.fields.isEmpty)
        XCTAssertTrue(m.sources.isEmpty)
        XCTAssertNil(m.comment)
    }

    func testInvalidFieldLeavesNoFile() throws {
        let dir = try makeTemporaryDirectory()
        let buffer = AudioBuffer(channels: [noise(1000)], sampleRate: 8000)
        for bad in [["bad key": "v"], ["k": "two\nlines"], ["": "v"]] {
            assertThrowsAudioError(.invalidArgument) {
                try AudioFileWriter.write(buffer, to: dir + "/x.wav", format: try AudioFileFormat(container: .wav, encoding: .pcm16),
                                          metadata: AudioMetadata(fields: bad))
            }
        }
        XCTAssertEqual(listing(dir), [])
    }
}
