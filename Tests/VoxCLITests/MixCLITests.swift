import Foundation
import XCTest
import VoxAudio

/// `vox mix`, `vox loudness` and `vox align` as a user runs them.
final class MixCLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-mixcli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    typealias Result = VoxRunResult

    private func vox(_ args: String...) throws -> Result { try runVox(args) }

    private func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// A sung-like line: notes with harmonics and syllable envelopes, `delay` seconds late.
    private func voice(seconds: Double, delay: Double = 0, rate: Double = 44100) -> [Float] {
        (0..<Int(seconds * rate)).map { i in
            let t = Double(i) / rate - delay
            guard t >= 0 else { return 0 }
            let note = Int(t / 0.31)
            let within = t - Double(note) * 0.31
            let f0 = [220.0, 262, 294, 196, 330, 247][note % 6]
            let env = within < 0.02 ? within / 0.02 : max(0, 1 - within / 0.31)
            return Float(0.3 * env * (sin(2 * .pi * f0 * t) + 0.5 * sin(4 * .pi * f0 * t + 1) + 0.25 * sin(6 * .pi * f0 * t + 2)))
        }
    }

    private func write(_ channels: [[Float]], _ name: String, rate: Double = 44100) throws -> String {
        let path = "\(dir)/\(name)"
        try AudioFileWriter.write(AudioBuffer(channels: channels, sampleRate: rate), to: path,
                                  format: try AudioFileFormat(container: AudioContainer(pathExtensionOf: name)!, encoding: .pcm16))
        return path
    }

    func testMixRemixesStemsExactlyAndNormalisesLoudness() throws {
        let v = voice(seconds: 2)
        let beat = (0..<88200).map { (i: Int) -> Float in
            let decay: Double = exp(-Double(i % 11025) / 1500)
            return Float(0.25 * decay * sin(Double(i) * 0.07))
        }
        let a = try write([v, v], "vocals.wav"), b = try write([beat, beat.map { $0 * 0.8 }], "drums.flac")
        // Unity, 16-bit: the exact integer sum, no dither.
        let unity = try vox("mix", a, b, "--loudness", "off", "--bits", "16", "-o", "\(dir)/remix.wav", "--json")
        XCTAssertEqual(unity.status, 0, unity.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(unity.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(report["dithered"] as? Bool, false)
        let remix = try AudioFileReader.read(path: "\(dir)/remix.wav")
        let sa = try AudioFileReader.read(path: a), sb = try AudioFileReader.read(path: b)
        var worst: Float = 0
        for c in 0..<2 { for i in 0..<remix.frameCount { worst = max(worst, abs(remix.channels[c][i] - sa.channels[c][i] - sb.channels[c][i])) } }
        XCTAssertEqual(worst, 0)

        // A loudness target with negative numbers as plain arguments, panning and an offset, FLAC out.
        let r = try vox("mix", "\(a)@gain=-2dB,pan=-0.3,offset=12.5ms", b, "--loudness", "-12", "--true-peak", "-1.5",
                        "--rate", "48000", "-o", "\(dir)/mix.flac", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(j["sampleRate"] as? Int, 48000)
        let loud = try vox("loudness", "\(dir)/mix.flac", "--json")
        XCTAssertEqual(loud.status, 0, loud.stderr)
        let m = (try JSONSerialization.jsonObject(with: Data(loud.stdout.utf8)) as! [[String: Any]])[0]
        XCTAssertEqual(m["integratedLUFS"] as! Double, -12, accuracy: 0.05)
        XCTAssertLessThanOrEqual(m["truePeakDBTP"] as! Double, -1.5)
        XCTAssertNotNil(m["loudnessRangeLU"] as? Double)
        let text = try vox("loudness", "\(dir)/mix.flac")
        XCTAssertTrue(text.stdout.contains("LUFS") && text.stdout.contains("dBTP"), text.stdout)
    }

    func testAlignFindsTheOffset() throws {
        let ref = try write([voice(seconds: 3)], "ref.wav")
        let take = try write([voice(seconds: 3, delay: 0.1373)], "take.flac")
        let r = try vox("align", take, "--to", ref, "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(j["offsetMilliseconds"] as! Double, -137.3, accuracy: 1)
        let text = try vox("align", take, "--to", ref)
        XCTAssertTrue(text.stdout.contains("offset=-137."), text.stdout)
    }

    func testBadInputsLeaveNothing() throws {
        let a = try write([voice(seconds: 1)], "a.wav")
        let silent = try write([[Float](repeating: 0, count: 44100)], "silent.wav")
        let before = files()
        func fails(_ r: Result, _ fragment: String) {
            XCTAssertNotEqual(r.status, 0)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.lowercased().contains(fragment), "expected '\(fragment)' in: \(r.stderr)")
            XCTAssertEqual(files(), before, "a failed run must leave no file behind")
        }
        fails(try vox("mix", a, "\(dir)/missing.wav", "-o", "\(dir)/o.wav"), "missing.wav: no such file")
        fails(try vox("mix", a, "-o", a), "same file as the input")
        fails(try vox("mix", "\(a)@pan=3", "-o", "\(dir)/o.wav"), "pan must be between")
        fails(try vox("mix", a, "-o", "\(dir)/o.mp3"), "unsupported output format")
        fails(try vox("mix", a, "--loudness", "loud", "-o", "\(dir)/o.wav"), "--loudness")
        fails(try vox("mix", silent, "-o", "\(dir)/o.wav"), "the mix is silent")
        fails(try vox("loudness", "\(dir)/nope.flac"), "nope.flac: no such file")
        fails(try vox("align", a, "--to", "\(dir)/nope.wav"), "nope.wav: no such file")
    }
}
