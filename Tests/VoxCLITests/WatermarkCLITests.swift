import Foundation
import XCTest
import VoxAudio

/// `vox watermark embed|detect` and the provenance shown by `vox info`.
extension CLITests {
    /// A 12 s voice-like test signal: a 150–300 Hz harmonic tone with vibrato and syllable-rate loudness, plus a
    /// little noise.
    private func voiceFixture(_ name: String, rate: Double = 44100, channels: Int = 1) throws -> String {
        let n = Int(12 * rate)
        var phase = 0.0
        var state: UInt64 = 12345
        let mono: [Float] = (0..<n).map { i in
            let t = Double(i) / rate
            let f0 = 150 + 75 * (1 + sin(2 * .pi * 0.3 * t)) + 4 * sin(2 * .pi * 5.5 * t)
            phase += 2 * .pi * f0 / rate
            var v = 0.0
            for h in 1...30 { v += sin(Double(h) * phase) / Double(h) }
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let noise = Double(state >> 40) / 16_777_216 - 0.5
            return Float((0.12 * v + 0.08 * noise) * (0.6 + 0.4 * sin(2 * .pi * 4 * t)))
        }
        let path = "\(dir)/\(name)"
        try AudioFileWriter.write(AudioBuffer(channels: Array(repeating: mono, count: channels), sampleRate: rate),
                                  to: path, format: try AudioFileFormat(container: AudioContainer(pathExtensionOf: name)!, encoding: .pcm24))
        return path
    }

    func testWatermarkEmbedDetectAndInfo() throws {
        let input = try voiceFixture("take.wav", channels: 2)
        let marked = "\(dir)/marked.flac"
        let e = try vox("watermark", "embed", input, "-o", marked, "--payload", "0xCAFE1234", "--voice-model", "alice-v1",
                        "--synthetic-voice", "--json")
        XCTAssertEqual(e.status, 0, e.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["payload"] as? String, "0xcafe1234")

        let d = try vox("watermark", "detect", "--json", marked, input)
        XCTAssertEqual(d.status, 0, d.stderr)
        let reports = try JSONSerialization.jsonObject(with: Data(d.stdout.utf8)) as! [[String: Any]]
        let found = reports[0]["detection"] as! [String: Any], clean = reports[1]["detection"] as! [String: Any]
        XCTAssertEqual(found["present"] as? Bool, true)
        XCTAssertEqual(found["payload"] as? Int, 0xCAFE1234)
        XCTAssertLessThan(found["falseAlarmProbability"] as! Double, 1e-9)
        XCTAssertEqual(clean["present"] as? Bool, false)
        XCTAssertNil(clean["payload"])
        XCTAssertEqual(reports[0]["voiceModel"] as? Int, 0xCAFE)

        let text = try vox("watermark", "detect", marked)
        XCTAssertTrue(text.stdout.contains("watermark PRESENT"), text.stdout)
        XCTAssertTrue(text.stdout.contains("payload 0xcafe1234"), text.stdout)
        // Another key finds nothing.
        let other = try vox("watermark", "detect", "--key", "a studio's own secret", marked)
        XCTAssertTrue(other.stdout.contains("watermark absent"), other.stdout)

        let info = try vox("info", marked)
        XCTAssertTrue(info.stdout.contains("synthetic voice: yes"), info.stdout)
        XCTAssertTrue(info.stdout.contains("voice model:     alice-v1"), info.stdout)
        XCTAssertTrue(info.stdout.contains("payload 0xcafe1234"), info.stdout)
        let infoJSON = try vox("info", "--json", marked)
        let record = (try JSONSerialization.jsonObject(with: Data(infoJSON.stdout.utf8)) as! [[String: Any]])[0]["provenance"] as! [String: Any]
        XCTAssertEqual(record["containsSyntheticVoice"] as? Bool, true)
        XCTAssertEqual(record["watermarked"] as? Bool, true)
        // A file without provenance has no record.
        let plain = (try JSONSerialization.jsonObject(with: Data(try vox("info", "--json", input).stdout.utf8)) as! [[String: Any]])[0]
        XCTAssertNil(plain["provenance"])
    }

    func testWatermarkBadInput() throws {
        let silent = "\(dir)/silent.wav"
        try AudioFileWriter.write(AudioBuffer(frameCount: 44100 * 3, channelCount: 1, sampleRate: 44100), to: silent,
                                  format: try AudioFileFormat(container: .wav, encoding: .pcm16))
        var before = files()
        assertCleanFailure(try vox("watermark", "embed", silent, "-o", "\(dir)/out.wav"), mentions: silent, "silent", before: before)
        let short = try fixture("short.wav")  // 0.5 s
        before = files()
        assertCleanFailure(try vox("watermark", "detect", short), mentions: short, "too short", before: before)
        let input = try voiceFixture("in.wav")
        before = files()
        assertCleanFailure(try vox("watermark", "embed", input, "-o", "\(dir)/out.mp3"), mentions: "out.mp3", "unsupported", before: before)
        assertCleanFailure(try vox("watermark", "embed", input, "-o", input), mentions: input, "same file", before: before)
        assertCleanFailure(try vox("watermark", "detect", "\(dir)/missing.wav"), mentions: "missing.wav", "no such file", before: before)
        let bad = try vox("watermark", "embed", input, "-o", "\(dir)/o.wav", "--payload", "0x1FFFFFFFF")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--payload"), bad.stderr)
        XCTAssertEqual(files(), before)
    }
}
