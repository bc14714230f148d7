import Foundation
import XCTest
import VoxAudio

/// Runs the built `vox` executable as a user would.
final class CLITests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    typealias Result = VoxRunResult

    func vox(_ args: String...) throws -> Result { try runVox(args) }

    private func vox(_ args: [String], environment: [String: String]) throws -> Result {
        try runVox(args, environment: environment)
    }

    func fixture(_ name: String, channels: Int = 2, rate: Double = 44100, frames: Int = 22050,
                         format: AudioFileFormat? = nil) throws -> String {
        let path = "\(dir)/\(name)"
        let chans = (0..<channels).map { c in (0..<frames).map { Float(0.25 * sin(Double($0) * 0.05 * Double(c + 1))) } }
        let f = try format ?? AudioFileFormat(container: AudioContainer(pathExtensionOf: name)!, encoding: .pcm16)
        try AudioFileWriter.write(AudioBuffer(channels: chans, sampleRate: rate), to: path, format: f)
        return path
    }

    func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// A failed command: non-zero status, one line on stderr naming the file, no new files.
    func assertCleanFailure(_ r: Result, mentions path: String, _ fragment: String, before: [String],
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(path), "stderr should name \(path): \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.lowercased().contains(fragment), "stderr should say '\(fragment)': \(r.stderr)", file: file, line: line)
        XCTAssertEqual(files(), before, "a failed run must leave no file behind", file: file, line: line)
    }

    func testVersionAndHelp() throws {
        let v = try vox("--version")
        XCTAssertEqual(v.status, 0)
        XCTAssertEqual(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines), VoxVersion.string)
        let h = try vox("--help")
        for sub in ["info", "convert-format", "spectrogram"] { XCTAssertTrue(h.stdout.contains(sub), sub) }
    }

    func testInfoTextAndJSON() throws {
        let a = try fixture("a.wav")
        let b = try fixture("b.flac", channels: 1, rate: 16000, frames: 8000)
        let text = try vox("info", a)
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.contains("WAV, PCM 16-bit"), text.stdout)
        XCTAssertTrue(text.stdout.contains("0:00.500 (22050 frames)"), text.stdout)
        let j = try vox("info", "--json", a, b)
        XCTAssertEqual(j.status, 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(parsed[1]["container"] as? String, "FLAC")
        XCTAssertEqual(parsed[1]["sampleRate"] as? Int, 16000)
        XCTAssertEqual(parsed[1]["channels"] as? Int, 1)
        XCTAssertEqual(parsed[1]["durationSeconds"] as! Double, 0.5, accuracy: 1e-9)
        XCTAssertEqual(parsed[0]["peakDBFS"] as! Double, 20 * log10(0.25), accuracy: 0.01)
    }

    func testInfoReportsEveryBadFileAndFails() throws {
        let good = try fixture("good.wav")
        let text = "\(dir)/text.wav"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        let r = try vox("info", good, "\(dir)/missing.flac", text)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("good.wav"))
        XCTAssertTrue(r.stderr.contains("missing.flac: no such file"), r.stderr)
        XCTAssertTrue(r.stderr.contains("text.wav: not a recognised audio file"), r.stderr)
    }

    func testConvertFormat() throws {
        let src = try fixture("src.wav")
        let r = try vox("convert-format", src, "\(dir)/out.flac", "--rate", "48000", "--channels", "1", "--bits", "24", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let info = try AudioFileReader(path: "\(dir)/out.flac").info
        XCTAssertEqual(info.sampleRate, 48000)
        XCTAssertEqual(info.channelCount, 1)
        XCTAssertEqual(info.integerBits, 24)
        XCTAssertEqual(info.frameCount, 24000)
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["dithered"] as? Bool, true)

        // Same depth, no processing: a bit-exact copy.
        XCTAssertEqual(try vox("convert-format", src, "\(dir)/copy.flac", "--quiet").status, 0)
        XCTAssertEqual(try AudioFileReader.read(path: "\(dir)/copy.flac"), try AudioFileReader.read(path: src))
        // Float output.
        XCTAssertEqual(try vox("convert-format", src, "\(dir)/f.wav", "--bits", "32f", "-q").status, 0)
        XCTAssertTrue(try AudioFileReader(path: "\(dir)/f.wav").info.isFloat)
    }

    func testConvertFormatErrorsLeaveNothing() throws {
        let src = try fixture("src.wav")
        var before = files()
        assertCleanFailure(try vox("convert-format", "\(dir)/nope.wav", "\(dir)/o.wav"), mentions: "nope.wav", "no such file", before: before)
        assertCleanFailure(try vox("convert-format", src, src), mentions: "src.wav", "same file as the input", before: before)
        assertCleanFailure(try vox("convert-format", src, "\(dir)/o.mp3"), mentions: "o.mp3", "unsupported output format", before: before)
        assertCleanFailure(try vox("convert-format", src, "\(dir)/o.flac", "--bits", "32f"), mentions: "o.flac", "flac stores integer", before: before)
        assertCleanFailure(try vox("convert-format", src, "\(dir)/no/such/dir/o.wav"), mentions: "o.wav", "does not exist", before: before)

        let truncated = "\(dir)/cut.wav"
        let data = try Data(contentsOf: URL(fileURLWithPath: src))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        before = files()
        assertCleanFailure(try vox("convert-format", truncated, "\(dir)/o.wav"), mentions: "cut.wav", "truncated", before: before)

        let empty = "\(dir)/empty.wav"
        FileManager.default.createFile(atPath: empty, contents: Data())
        before = files()
        assertCleanFailure(try vox("convert-format", empty, "\(dir)/o.wav"), mentions: "empty.wav", "empty", before: before)

        let nan = "\(dir)/nan.wav"
        let samples: [Float] = [0.1, .nan, 0.2, 0.3]
        var wav = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { wav.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { wav.append(contentsOf: $0) } }
        wav.append(contentsOf: Array("RIFF".utf8)); u32(36 + 16); wav.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(3); u16(1); u32(8000); u32(32000); u16(4); u16(32)
        wav.append(contentsOf: Array("data".utf8)); u32(16)
        for s in samples { withUnsafeBytes(of: s.bitPattern.littleEndian) { wav.append(contentsOf: $0) } }
        try wav.write(to: URL(fileURLWithPath: nan))
        before = files()
        assertCleanFailure(try vox("convert-format", nan, "\(dir)/o.wav"), mentions: "nan.wav", "nan", before: before)
    }

    func testSpectrogramWritesAPNG() throws {
        let src = try fixture("tone.flac", channels: 2, rate: 22050, frames: 44100)
        let r = try vox("spectrogram", src, "-o", "\(dir)/s.png", "--log-frequency", "--width", "300", "--height", "200")
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/s.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let width = Int(png[16]) << 24 | Int(png[17]) << 16 | Int(png[18]) << 8 | Int(png[19])
        XCTAssertEqual(width, 300 + 96 + 110)
        let before = files()
        assertCleanFailure(try vox("spectrogram", src, "-o", "\(dir)/s.jpg"), mentions: "s.jpg", "png", before: before)
        assertCleanFailure(try vox("spectrogram", "\(dir)/none.wav", "-o", "\(dir)/t.png"), mentions: "none.wav", "no such file", before: before)
    }

    func testSeparateWithoutModelSaysHowToInstall() throws {
        let song = try fixture("song.wav")
        let before = files()
        let emptyStore = dir + "/no-models"
        let r = try vox(["separate", song, "-o", "\(dir)/sep"], environment: ["VOX_MODELS": emptyStore])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("tools/setup.sh"), r.stderr)
        XCTAssertEqual(files(), before)
    }

    func testSeparateBadInputsLeaveNothing() throws {
        guard FileManager.default.fileExists(atPath: NSHomeDirectory() + "/.local/share/vox/models/spleeter-2stems.voxmodel")
                || ProcessInfo.processInfo.environment["VOX_MODELS"] != nil else {
            throw XCTSkip("spleeter-2stems is not installed (bash tools/setup.sh installs it)")
        }
        let text = "\(dir)/notes.wav"
        try Data("not audio".utf8).write(to: URL(fileURLWithPath: text))
        let before = files()
        assertCleanFailure(try vox("separate", text, "-o", "\(dir)/sep"), mentions: "notes.wav", "not a recognised audio file", before: before)
        assertCleanFailure(try vox("separate", "\(dir)/missing.flac", "-o", "\(dir)/sep"), mentions: "missing.flac", "no such file", before: before)
        let r = try vox("separate", text, text, "--flat", "-o", "\(dir)/sep")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--flat takes exactly one song"), r.stderr)
    }

    func testSeparateWritesStemsThatSumToTheMixture() throws {
        guard FileManager.default.fileExists(atPath: NSHomeDirectory() + "/.local/share/vox/models/spleeter-2stems.voxmodel") else {
            throw XCTSkip("spleeter-2stems is not installed (bash tools/setup.sh installs it)")
        }
        // Mono, 22.05 kHz: resampled in and out, one channel back.
        let song = try fixture("mono.wav", channels: 1, rate: 22050, frames: 44100)
        let r = try vox("separate", song, "-o", "\(dir)/sep", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let vocals = try AudioFileReader.read(path: "\(dir)/sep/mono/vocals.wav")
        let accompaniment = try AudioFileReader.read(path: "\(dir)/sep/mono/accompaniment.wav")
        let mix = try AudioFileReader.read(path: song)
        XCTAssertEqual(vocals.channelCount, 1)
        XCTAssertEqual(vocals.sampleRate, 22050)
        XCTAssertEqual(vocals.frameCount, mix.frameCount)
        var err: Float = 0
        for i in 0..<mix.frameCount { err = max(err, abs(vocals.channels[0][i] + accompaniment.channels[0][i] - mix.channels[0][i])) }
        XCTAssertLessThanOrEqual(err, 1e-6)
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((summary["songs"] as! [[String: Any]]).count, 1)
    }

    // MARK: - vox pitch / vox resynth

    func testPitchCSVAndJSON() throws {
        // Mono 22.05 kHz sine at 0.05 rad/sample = 175.5 Hz, 1 s.
        let input = try fixture("tone.wav", channels: 1, rate: 22050, frames: 22050)
        let csv = try vox("pitch", input)
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first, "time_s,f0_hz,voiced,confidence")
        XCTAssertEqual(rows.count, 1 + 201)
        let voiced = rows.dropFirst().map { $0.split(separator: ",") }.filter { $0[2] == "1" }.map { Double($0[1])! }.sorted()
        XCTAssertGreaterThan(voiced.count, 180)
        XCTAssertEqual(voiced[voiced.count / 2], 0.05 * 22050 / (2 * .pi), accuracy: 0.5)
        let json = try vox("pitch", input, "--json", "-o", "\(dir)/f0.json")
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/f0.json"))) as! [String: Any]
        XCTAssertEqual(report["frames"] as? Int, 201)
        XCTAssertEqual((report["f0Hz"] as! [Double]).count, 201)
    }

    func testResynthKeepsOrScalesTheLengthExactly() throws {
        let input = try fixture("voice.flac", channels: 2, rate: 22050, frames: 22050)
        var r = try vox("resynth", input, "-o", "\(dir)/same.wav")
        XCTAssertEqual(r.status, 0, r.stderr)
        let same = try AudioFileReader.read(path: "\(dir)/same.wav")
        XCTAssertEqual(same.frameCount, 22050)
        XCTAssertEqual(same.channelCount, 1)
        r = try vox("resynth", input, "-o", "\(dir)/shifted.flac", "--pitch-shift", "3", "--formant-shift", "1.1",
                    "--time-stretch", "1.5", "--sample-rate", "44100", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let shifted = try AudioFileReader.read(path: "\(dir)/shifted.flac")
        XCTAssertEqual(shifted.sampleRate, 44100)
        XCTAssertEqual(shifted.frameCount, 66150)
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["outputSeconds"] as! Double, 1.5, accuracy: 1e-9)
        // A negative shift parses as a value, not as an option.
        XCTAssertEqual(try vox("resynth", input, "-o", "\(dir)/down.wav", "--pitch-shift", "-12").status, 0)
    }

    /// The hidden component-swap options (tools/eval/vocoder_swap.py): an external F0 track goes into the analysis
    /// (its voicing shows in the dumped features), the features are dumped frame by frame, edits are refused.
    func testResynthExperimentOptions() throws {
        let input = try fixture("tone.wav", channels: 1, rate: 22050, frames: 22050)
        let pitch = try vox("pitch", input, "--resynth-voicing", "-o", "\(dir)/f0.csv")
        XCTAssertEqual(pitch.status, 0, pitch.stderr)
        // The tracker's F0, unvoiced from frame 100 on (row i + 1 is frame i).
        var rows = try String(contentsOfFile: "\(dir)/f0.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.count, 1 + 201)
        for i in 101...201 { rows[i] = rows[i].split(separator: ",")[0] + ",0,0,0" }
        try (rows.joined(separator: "\n") + "\n").write(toFile: "\(dir)/half.csv", atomically: true, encoding: .utf8)
        let r = try vox("resynth", input, "-o", "\(dir)/half.wav", "--f0-csv", "\(dir)/half.csv", "--features-out", "\(dir)/feat")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try AudioFileReader.read(path: "\(dir)/half.wav").frameCount, 22050)
        let f0 = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/feat.f0.f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(f0.count, 201)
        XCTAssertGreaterThan(f0[1..<100].filter { $0 > 170 && $0 < 181 }.count, 90)
        XCTAssertTrue(f0[100...].allSatisfy { $0 == 0 })
        let envelopeBytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/feat.sp.f32")).count
        XCTAssertEqual(envelopeBytes % (201 * 4), 0)
        XCTAssertNotEqual(try vox("resynth", input, "-o", "\(dir)/x.wav", "--f0-csv", "\(dir)/half.csv", "--pitch-shift", "2").status, 0)
    }

    /// Streaming: many small analysis blocks give what one block gives (to 60 dB, exact length), with every edit
    /// and a rate change; `vox pitch` too.
    func testResynthAndPitchInSmallBlocksMatchOneBlock() throws {
        // 3 s of a gliding harmonic tone with a pause, over a faint noise floor.
        let rate = 22050.0
        var phase = 0.0, noise: UInt64 = 12345
        let x = (0..<66150).map { i -> Float in
            let t = Double(i) / rate
            noise = noise &* 6364136223846793005 &+ 1442695040888963407
            let floor = Float(Double(noise >> 40) / Double(1 << 24) - 0.5) * 4e-4
            guard t < 1.2 || t > 1.5 else { return floor }
            phase += 2 * .pi * (160 + 40 * t) / rate
            return Float(0.2 * (sin(phase) + 0.5 * sin(2 * phase) + 0.3 * sin(3 * phase))) + floor
        }
        let input = "\(dir)/take.wav"
        try AudioFileWriter.write(AudioBuffer(channels: [x], sampleRate: rate), to: input,
                                  format: try AudioFileFormat(container: .wav, encoding: .float32))
        let edits = ["--pitch-shift", "-2", "--formant-shift", "1.1", "--time-stretch", "1.37", "--sample-rate", "16000"]
        XCTAssertEqual(try runVox(["resynth", input, "-o", "\(dir)/one.wav"] + edits).status, 0)
        let r = try runVox(["resynth", input, "-o", "\(dir)/many.wav", "--block-frames", "24"] + edits)
        XCTAssertEqual(r.status, 0, r.stderr)
        let one = try AudioFileReader.read(path: "\(dir)/one.wav").channels[0]
        let many = try AudioFileReader.read(path: "\(dir)/many.wav").channels[0]
        XCTAssertEqual(one.count, Int((Double(Int((66150 * 1.37).rounded())) * 16000 / rate).rounded()))
        XCTAssertEqual(many.count, one.count)
        var signal = 0.0, error = 0.0
        for i in one.indices { signal += Double(one[i] * one[i]); error += Double((one[i] - many[i]) * (one[i] - many[i])) }
        XCTAssertGreaterThan(10 * log10(signal / max(error, 1e-30)), 60)
        let csvOne = try vox("pitch", input), csvMany = try vox("pitch", input, "--block-frames", "30")
        XCTAssertEqual(csvOne.status, 0, csvOne.stderr)
        XCTAssertEqual(csvMany.stdout, csvOne.stdout)
        XCTAssertEqual(try vox("pitch", input, "--json", "--block-frames", "30").stdout, try vox("pitch", input, "--json").stdout)
    }

    /// A NaN in the middle of a long float file: both commands stop with an error naming the file and leave no
    /// output and no temporary file.
    func testStreamingFailureLeavesNoFile() throws {
        let x = (0..<66150).map { Float(0.3 * sin(Double($0) * 0.05)) }
        let input = "\(dir)/bad.wav"
        try AudioFileWriter.write(AudioBuffer(channels: [x], sampleRate: 22050), to: input,
                                  format: try AudioFileFormat(container: .wav, encoding: .float32))
        // Vox refuses to write a NaN: patch one into sample 50 000 of the data chunk.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: input))
        let data = try XCTUnwrap(bytes.range(of: Data("data".utf8)))
        let at = data.upperBound + 4 + 50000 * 4
        bytes.replaceSubrange(at..<(at + 4), with: [0x00, 0x00, 0xC0, 0x7F])
        try bytes.write(to: URL(fileURLWithPath: input))
        let before = files()
        assertCleanFailure(try vox("resynth", input, "-o", "\(dir)/out.flac", "--block-frames", "20"), mentions: "bad.wav", "nan", before: before)
        assertCleanFailure(try vox("resynth", input, "-o", "\(dir)/out.wav", "--block-frames", "20"), mentions: "bad.wav", "nan", before: before)
        assertCleanFailure(try vox("pitch", input, "-o", "\(dir)/f0.csv", "--block-frames", "20"), mentions: "bad.wav", "nan", before: before)
    }

    func testVoiceCommandsBadInputLeaveNothing() throws {
        let text = "\(dir)/notes.wav"
        try Data("not audio".utf8).write(to: URL(fileURLWithPath: text))
        let input = try fixture("in.wav", channels: 1, rate: 16000, frames: 8000)
        let before = files()
        assertCleanFailure(try vox("pitch", text), mentions: "notes.wav", "not a recognised audio file", before: before)
        assertCleanFailure(try vox("resynth", text, "-o", "\(dir)/out.wav"), mentions: "notes.wav", "not a recognised audio file", before: before)
        assertCleanFailure(try vox("resynth", "\(dir)/missing.wav", "-o", "\(dir)/out.wav"), mentions: "missing.wav", "no such file", before: before)
        let same = try vox("resynth", input, "-o", input)
        XCTAssertNotEqual(same.status, 0)
        XCTAssertEqual(files(), before)
        let bad = try vox("resynth", input, "-o", "\(dir)/out.wav", "--formant-shift", "3")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--formant-shift"), bad.stderr)
        XCTAssertEqual(files(), before)
    }
}
