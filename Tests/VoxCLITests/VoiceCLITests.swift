import Foundation
import XCTest
import VoxAudio

/// `vox voice train`, `vox voice info`, `vox convert` as a user runs them.
final class VoiceCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-voice-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func run(_ args: [String]) throws -> VoxRunResult { try runVox(args) }

    /// The provenance record `vox info --json` reports for a file.
    private func provenanceRecord(_ path: String) throws -> [String: Any] {
        let info = try run(["info", "--json", path])
        XCTAssertEqual(info.status, 0, info.stderr)
        let reports = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [[String: Any]])
        return try XCTUnwrap(reports.first?["provenance"] as? [String: Any], info.stdout)
    }

    /// A sung-like tone (harmonics, vibrato, phrase gaps) at 16 kHz.
    private func voiceFile(_ name: String, seconds: Double, baseHz: Double) throws -> String {
        let fs = 16000.0
        var phase = 0.0
        let x: [Float] = (0..<Int(seconds * fs)).map { i in
            let t = Double(i) / fs
            guard t.truncatingRemainder(dividingBy: 2) < 1.8 else { return 0 }
            let f = baseHz * pow(2, (Double(Int(t / 2) % 4) * 2 + 0.3 * sin(2 * .pi * 5 * t)) / 12)
            phase += 2 * .pi * f / fs
            var v = 0.0
            for k in 1...20 where Double(k) * f < fs / 2 { v += sin(Double(k) * phase) / Double(k) }
            return Float(0.2 * v)
        }
        let path = "\(dir)/\(name)"
        try AudioFileWriter.write(AudioBuffer(channels: [x], sampleRate: fs), to: path,
                                  format: AudioFileFormat(container: .wav, encoding: .pcm16))
        return path
    }

    func testTrainInfoConvertAndRefusals() throws {
        let train = try voiceFile("train.wav", seconds: 14, baseHz: 220)
        let model = "\(dir)/v.voxvoice"
        // No consent: refused before anything is written.
        let noConsent = try run(["voice", "train", train, "-o", model, "--name", "V", "-q"])
        XCTAssertNotEqual(noConsent.status, 0)
        XCTAssertTrue(noConsent.stderr.contains("consent"), noConsent.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model))
        // Too little voiced audio: the audit is printed, then refused.
        let short = try voiceFile("short.wav", seconds: 4, baseHz: 220)
        let tooShort = try run(["voice", "train", short, "-o", model, "--name", "V", "--consent", "I agree.", "-q"])
        XCTAssertNotEqual(tooShort.status, 0)
        XCTAssertTrue(tooShort.stdout.contains("short.wav"), tooShort.stdout)
        XCTAssertTrue(tooShort.stderr.contains("at least 10 s"), tooShort.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model))
        // Trained.
        let ok = try run(["voice", "train", train, "-o", model, "--name", "V", "--consent", "I agree.",
                          "--consented-by", "Test Singer", "--consent-date", "2026-01-01", "-q"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let info = try run(["voice", "info", model, "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let consent = try XCTUnwrap(json["consent"] as? [String: Any])
        XCTAssertEqual(consent["subject"] as? String, "Test Singer")
        XCTAssertEqual(consent["statementSHA256"] as? String, SHA256.hex(Data("I agree.".utf8)))
        let fingerprint = try XCTUnwrap(json["fingerprint"] as? [String: Any])
        let files = try XCTUnwrap(fingerprint["files"] as? [[String: Any]])
        XCTAssertEqual(files.first?["sha256"] as? String, try SHA256.hex(fileAt: train))
        // Convert a take an octave below: auto transposes it up by 12 and keeps its length and rate.
        let take = try voiceFile("take.wav", seconds: 3, baseHz: 110)
        let out = "\(dir)/out.wav"
        let conv = try run(["convert", take, "--voice", model, "-o", out, "--transpose", "auto", "--json"])
        XCTAssertEqual(conv.status, 0, conv.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(conv.stdout.utf8)) as? [String: Any])
        let report = try XCTUnwrap(summary["report"] as? [String: Any])
        XCTAssertEqual(report["transposeSemitones"] as? Double, 12)
        XCTAssertEqual((summary["warnings"] as? [String])?.isEmpty, true, conv.stdout)
        XCTAssertFalse(conv.stderr.contains("warning"), conv.stderr)
        let y = try AudioFileReader.read(path: out)
        XCTAssertEqual(y.frameCount, 48000)
        XCTAssertEqual(y.sampleRate, 16000)
        // The converted vocal carries the watermark and a provenance record with the model's consent hash.
        let consentHash = SHA256.hex(Data("I agree.".utf8))
        let detect = try run(["watermark", "detect", "--json", out])
        XCTAssertEqual(detect.status, 0, detect.stderr)
        let detection = try XCTUnwrap(((try JSONSerialization.jsonObject(with: Data(detect.stdout.utf8)) as? [[String: Any]])?.first?["detection"]) as? [String: Any])
        XCTAssertEqual(detection["present"] as? Bool, true, detect.stdout)
        let provenance = try provenanceRecord(out)
        XCTAssertEqual(provenance["containsSyntheticVoice"] as? Bool, true)
        XCTAssertEqual(provenance["watermarked"] as? Bool, true)
        XCTAssertEqual(provenance["consentSHA256"] as? String, consentHash)
        // A take with nothing voiced in it (noise) converts, but says so on stderr and in the JSON summary.
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<32000).map { _ in Float.random(in: -0.01...0.01, using: &generator) }
        let noisePath = "\(dir)/noise.wav"
        try AudioFileWriter.write(AudioBuffer(channels: [noise], sampleRate: 16000), to: noisePath,
                                  format: AudioFileFormat(container: .wav, encoding: .pcm16))
        let unvoiced = try run(["convert", noisePath, "--voice", model, "-o", "\(dir)/noise_out.wav", "--json"])
        XCTAssertEqual(unvoiced.status, 0, unvoiced.stderr)
        XCTAssertTrue(unvoiced.stderr.contains("no voiced frames"), unvoiced.stderr)
        let unvoicedSummary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(unvoiced.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((unvoicedSummary["warnings"] as? [String])?.count, 1, unvoiced.stdout)
        XCTAssertFalse(try run(["convert", noisePath, "--voice", model, "-o", "\(dir)/noise_q.wav", "-q"]).stderr.contains("warning"))
        // Negative transpositions parse; turning the watermark off is explicit and recorded.
        XCTAssertEqual(try run(["convert", take, "--voice", model, "-o", "\(dir)/down.wav", "--transpose", "-3", "--no-watermark", "-q"]).status, 0)
        let unmarked = try provenanceRecord("\(dir)/down.wav")
        XCTAssertEqual(unmarked["watermarked"] as? Bool, false)
        XCTAssertEqual(unmarked["consentSHA256"] as? String, consentHash)
        // A tampered model is refused, and nothing is written.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: model))
        let tampered = try run(["convert", take, "--voice", model, "-o", "\(dir)/t.wav", "-q"])
        XCTAssertNotEqual(tampered.status, 0)
        XCTAssertTrue(tampered.stderr.contains("checksum"), tampered.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/t.wav"))
        XCTAssertNotEqual(try run(["voice", "info", model]).status, 0)
    }

    func testCoverEndToEnd() throws {
        let train = try voiceFile("train.wav", seconds: 14, baseHz: 220)
        let model = "\(dir)/v.voxvoice"
        XCTAssertEqual(try run(["voice", "train", train, "-o", model, "--name", "V", "--consent", "I agree.", "-q"]).status, 0)
        // A song: a sung line over a sustained low chord (stereo, 44.1 kHz); the take sings the same line 200 ms late.
        let line = try AudioFileReader.read(path: try voiceFile("line.wav", seconds: 6, baseHz: 196))
        let song44 = try Resampler.resample(line, to: 44100)
        let chord: [Float] = (0..<song44.frameCount).map { i in
            let t = Float(i) / 44100
            return 0.15 * (sinf(2 * .pi * 98 * t) + sinf(2 * .pi * 147 * t) + 0.5 * sinf(2 * .pi * 1175 * t))
        }
        let songPath = "\(dir)/song.wav"
        try AudioFileWriter.write(AudioBuffer(channels: [0, 1].map { c in (0..<chord.count).map { chord[$0] + song44.channels[0][$0] * (c == 0 ? 0.9 : 1.1) } },
                                              sampleRate: 44100), to: songPath, format: AudioFileFormat(container: .wav, encoding: .pcm24))
        let delay = Int(0.2 * line.sampleRate)
        let takePath = "\(dir)/take.wav"
        try AudioFileWriter.write(AudioBuffer(channels: [[Float](repeating: 0, count: delay) + line.channels[0]], sampleRate: line.sampleRate),
                                  to: takePath, format: AudioFileFormat(container: .wav, encoding: .pcm16))
        let out = "\(dir)/cover.flac"
        let cover = try run(["cover", songPath, "--take", takePath, "--voice", model, "-o", out, "--model", "classic", "--vocal-gain", "-1", "--json"])
        XCTAssertEqual(cover.status, 0, cover.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(cover.stdout.utf8)) as? [String: Any])
        let alignment = try XCTUnwrap(summary["alignment"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(alignment["offsetMilliseconds"] as? Double), -200, accuracy: 2, cover.stdout)
        XCTAssertEqual(try XCTUnwrap(summary["loudnessLUFS"] as? Double), -14, accuracy: 0.1)
        XCTAssertEqual((summary["warnings"] as? [String])?.isEmpty, true, cover.stdout)
        let y = try AudioFileReader.read(path: out)
        XCTAssertEqual(y.frameCount, song44.frameCount)
        XCTAssertEqual(y.channelCount, 2)
        let provenance = try provenanceRecord(out)
        XCTAssertEqual(provenance["containsSyntheticVoice"] as? Bool, true)
        XCTAssertEqual(provenance["watermarked"] as? Bool, true)
        // `vox mix` passes a synthetic voice's provenance on; a mix of plain audio says it has none.
        XCTAssertEqual(try run(["mix", "\(out)@gain=-3dB", songPath, "-o", "\(dir)/remix.wav", "--loudness", "off", "-q"]).status, 0)
        XCTAssertEqual(try provenanceRecord("\(dir)/remix.wav")["voiceModelID"] as? String, provenance["voiceModelID"] as? String)
        XCTAssertEqual(try run(["mix", songPath, "-o", "\(dir)/plain.wav", "--loudness", "off", "-q"]).status, 0)
        XCTAssertEqual(try provenanceRecord("\(dir)/plain.wav")["containsSyntheticVoice"] as? Bool, false)
        // A failed run (missing take) writes nothing.
        let failed = try run(["cover", songPath, "--take", "\(dir)/missing.wav", "--voice", model, "-o", "\(dir)/none.wav", "--model", "classic", "-q"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/none.wav"))
    }
}
