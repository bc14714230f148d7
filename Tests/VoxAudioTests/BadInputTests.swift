import Foundation
import XCTest
@testable import VoxAudio

/// Every kind of bad input gets a clear error naming the file, and nothing is written.
final class BadInputTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }

    private func writeFLAC(_ name: String, frames: Int = 44100) throws -> String {
        let path = "\(dir)/\(name)"
        let b = AudioBuffer(channels: [gridSamples(frames, bits: 16, seed: 9), gridSamples(frames, bits: 16, seed: 10)], sampleRate: 44100)
        try AudioFileWriter.write(b, to: path, format: AudioFileFormat(container: .flac, encoding: .pcm16))
        return path
    }

    private func readAll(_ path: String) throws { _ = try AudioFileReader.read(path: path) }

    func testMissingFile() {
        assertThrowsAudioError(.fileNotFound) { try self.readAll("\(self.dir)/nope.wav") }
    }

    func testDirectoryIsNotAudio() {
        assertThrowsAudioError(.notAudio) { try self.readAll(self.dir) }
    }

    func testTextFileIsNotAudio() throws {
        let path = "\(dir)/notes.wav"
        try Data(String(repeating: "this is not audio\n", count: 50).utf8).write(to: URL(fileURLWithPath: path))
        assertThrowsAudioError(.notAudio) { try self.readAll(path) }
        do { try readAll(path) } catch { XCTAssertTrue("\(error)".hasPrefix(path), "error must name the file: \(error)") }
    }

    func testEmptyFile() throws {
        let path = "\(dir)/empty.flac"
        FileManager.default.createFile(atPath: path, contents: Data())
        assertThrowsAudioError(.empty) { try self.readAll(path) }
    }

    func testZeroFrames() throws {
        let path = "\(dir)/zero.wav"
        try floatWAVBytes([], channels: 2, sampleRate: 44100).write(to: URL(fileURLWithPath: path))
        assertThrowsAudioError(.empty) { try self.readAll(path) }
    }

    func testTruncatedWAV() throws {
        let path = "\(dir)/cut.wav"
        let b = AudioBuffer(channels: [gridSamples(20000, bits: 16, seed: 3)], sampleRate: 16000)
        try AudioFileWriter.write(b, to: path, format: AudioFileFormat(container: .wav, encoding: .pcm16))
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        assertThrowsAudioError(.truncated) { try self.readAll(path) }
    }

    func testTruncatedFLAC() throws {
        let path = try writeFLAC("cut.flac")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count * 2 / 3).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try readAll(path)) { error in
            let kind = (error as? AudioError)?.kind
            XCTAssertTrue(kind == .truncated || kind == .corrupt, "\(error)")
        }
    }

    func testCorruptFLAC() throws {
        let path = try writeFLAC("bad.flac")
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let garbage = noise(4000, seed: 77).map { UInt8(truncatingIfNeeded: Int($0 * 1000)) }
        data.replaceSubrange(data.count / 3..<(data.count / 3 + garbage.count), with: garbage)
        try data.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try readAll(path)) { error in
            let kind = (error as? AudioError)?.kind
            XCTAssertTrue(kind == .corrupt || kind == .truncated, "\(error)")
        }
    }

    func testCorruptHeader() throws {
        let path = "\(dir)/header.wav"
        var bytes = floatWAVBytes(noise(1000), channels: 1, sampleRate: 8000)
        bytes.replaceSubrange(20..<24, with: [0xFF, 0xFF, 0xFF, 0xFF])  // format tag and channel count
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try readAll(path)) { error in
            let kind = (error as? AudioError)?.kind
            XCTAssertTrue([.corrupt, .notAudio, .unsupportedFormat].contains(kind), "\(error)")
        }
    }

    func testNaNAndInfinity() throws {
        for bad in [Float.nan, Float.infinity, -Float.infinity] {
            let path = "\(dir)/bad.wav"
            var samples = noise(2000)
            samples[1234] = bad
            try floatWAVBytes(samples, channels: 2, sampleRate: 8000).write(to: URL(fileURLWithPath: path))
            assertThrowsAudioError(.nonFinite) { try self.readAll(path) }
        }
    }

    func testUnwritableOutputs() throws {
        let format = try AudioFileFormat(container: .wav, encoding: .pcm16)
        let b = AudioBuffer(channels: [[0.1]], sampleRate: 8000)
        assertThrowsAudioError(.unwritable) { try AudioFileWriter.write(b, to: "\(self.dir)/missing/out.wav", format: format) }
        assertThrowsAudioError(.unwritable) { try AudioFileWriter.write(b, to: self.dir, format: format) }
        let file = "\(dir)/afile"
        FileManager.default.createFile(atPath: file, contents: Data())
        assertThrowsAudioError(.unwritable) { try AudioFileWriter.write(b, to: "\(file)/out.wav", format: format) }
        XCTAssertEqual(listing(dir), ["afile"])
    }

    func testOutputSameAsInputIsRefused() throws {
        let path = try writeFLAC("in.flac")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let format = try AudioFileFormat(container: .flac, encoding: .pcm16)
        let b = AudioBuffer(channels: [[0.1]], sampleRate: 8000)
        assertThrowsAudioError(.sameAsInput) { try AudioFileWriter.write(b, to: path, format: format, inputs: [path]) }
        let link = "\(dir)/link.flac"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        assertThrowsAudioError(.sameAsInput) { try AudioFileWriter.write(b, to: link, format: format, inputs: [path]) }
        assertThrowsAudioError(.sameAsInput) { try AudioFileWriter.write(b, to: "\(self.dir)/./in.flac", format: format, inputs: [path]) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
    }

    func testFailedConversionLeavesNoOutput() throws {
        let path = try writeFLAC("src.flac")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        var conversion = FileConversion(container: .wav)
        conversion.blockFrames = 1000  // the failure comes after some output was written
        XCTAssertThrowsError(try conversion.run(inputPath: path, outputPath: "\(dir)/out.wav"))
        XCTAssertEqual(listing(dir), ["src.flac"])
    }
}
