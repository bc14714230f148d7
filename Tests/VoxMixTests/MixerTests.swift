import Foundation
import XCTest
import VoxAudio
@testable import VoxMix

final class MixerTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try TestSignals.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ b: AudioBuffer, _ name: String, encoding: SampleEncoding = .pcm16) throws -> String {
        let path = "\(dir)/\(name)"
        try AudioFileWriter.write(b, to: path, format: try AudioFileFormat(container: AudioContainer(pathExtensionOf: name)!, encoding: encoding))
        return path
    }

    func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    var unity: MixOptions {
        var o = MixOptions()
        o.loudnessLUFS = nil
        o.limiter = nil
        o.format = try! AudioFileFormat(container: .wav, encoding: .pcm16)
        return o
    }

    var float32: AudioFileFormat { try! AudioFileFormat(container: .wav, encoding: .float32) }

    // MARK: - Parsing

    func testTrackSpecs() throws {
        let t = try MixTrack(spec: "a/b.wav@gain=-3dB,pan=-0.2,offset=120ms,mute")
        XCTAssertEqual(t.source.name, "a/b.wav")
        XCTAssertEqual(t.gainDB, -3)
        XCTAssertEqual(t.pan, -0.2)
        XCTAssertEqual(t.offsetSeconds, 0.12, accuracy: 1e-12)
        XCTAssertTrue(t.muted)
        XCTAssertEqual(try MixTrack(spec: "x.flac@offset=1.5s").offsetSeconds, 1.5)
        XCTAssertEqual(try MixTrack(spec: "x.flac@offset=-20").offsetSeconds, -0.02, accuracy: 1e-12)
        XCTAssertEqual(try MixTrack(spec: "x.flac@offset=441smp", sampleRate: 44100).offsetSeconds, 0.01, accuracy: 1e-12)
        XCTAssertEqual(try MixTrack(spec: "x.flac@gain=2").gainDB, 2)
        // An @ that is part of the path.
        XCTAssertEqual(try MixTrack(spec: "me@home/take.wav").source.name, "me@home/take.wav")
        XCTAssertEqual(try MixTrack(spec: "plain.wav").gainDB, 0)
        // Without a known rate, samples stay samples (the bus rate converts them).
        XCTAssertEqual(try MixTrack(spec: "x.flac@offset=10.5smp").offsetFrames, 10.5)
        for bad in ["x.wav@gain=loud", "x.wav@pan=2", "x.wav@offset=3parsecs", "x.wav@offset=tensmp", "x.wav@gain"] {
            XCTAssertThrowsError(try MixTrack(spec: bad), bad) { e in XCTAssertEqual((e as? AudioError)?.kind, .invalidArgument) }
        }
    }

    func testPanLaws() {
        let mono = MixTrack(source: .file("m"), pan: 0)
        let w = mono.busWeights(trackChannels: 1, busChannels: 2)
        XCTAssertEqual(w[0][0], 0.70710677, accuracy: 1e-6)
        XCTAssertEqual(w[1][0], 0.70710677, accuracy: 1e-6)
        let left = MixTrack(source: .file("m"), pan: -1).busWeights(trackChannels: 1, busChannels: 2)
        XCTAssertEqual(left[0][0], 1, accuracy: 1e-6)
        XCTAssertEqual(left[1][0], 0, accuracy: 1e-6)
        // Constant power anywhere.
        let p = MixTrack(source: .file("m"), pan: 0.37).busWeights(trackChannels: 1, busChannels: 2)
        XCTAssertEqual(p[0][0] * p[0][0] + p[1][0] * p[1][0], 1, accuracy: 1e-6)
        // Stereo: unity at centre, the far side follows the law.
        XCTAssertEqual(MixTrack(source: .file("s")).busWeights(trackChannels: 2, busChannels: 2), [[1, 0], [0, 1]])
        let s = MixTrack(source: .file("s"), gainDB: -6.0206, pan: 0.5).busWeights(trackChannels: 2, busChannels: 2)
        XCTAssertEqual(s[1][1], 0.5, accuracy: 1e-4)
        XCTAssertEqual(s[0][0], 0.5 * Float(2.0.squareRoot() * cos(0.375 * Double.pi)), accuracy: 1e-4)
    }

    // MARK: - Mixing

    /// Stems written at 16 bits and summed at unity give back their integer sum, bit for bit (no dither).
    func testUnityRemixIsBitExact() throws {
        var a = TestSignals.drums(seconds: 1), b = TestSignals.noise(frames: 44100, channels: 2, amplitude: 0.1)
        let c = TestSignals.sine(330, amplitude: 0.2, seconds: 1)
        for ch in 0..<2 { a.channels[ch] = a.channels[ch].map { $0 * 0.5 } }  // the sum stays under full scale
        let paths = try [write(a, "a.wav"), write(b, "b.flac"), write(c, "c.wav")]
        let stems = try paths.map { try AudioFileReader.read(path: $0) }
        var expected = stems[0]
        for i in 0..<expected.frameCount {
            for ch in 0..<2 { expected.channels[ch][i] = stems[0].channels[ch][i] + stems[1].channels[ch][i] + stems[2].channels[ch][i] }
        }
        var options = unity
        options.blockFrames = 10_000
        let report = try Mixer.mix(paths.map { MixTrack(source: .file($0)) }, to: "\(dir)/mix.wav", options: options)
        XCTAssertFalse(report.dithered)
        XCTAssertEqual(report.frames, 44100)
        XCTAssertEqual(report.passes, 1)
        XCTAssertNotNil(report.loudness)
        let mix = try AudioFileReader.read(path: "\(dir)/mix.wav")
        XCTAssertEqual(report.clippedSamples, 0)
        XCTAssertTrue(mix == expected, "the remix must equal the sum of the stems exactly")
        // Without measuring: the same file, no figures.
        options.measuresOutput = false
        let quick = try Mixer.mix(paths.map { MixTrack(source: .file($0)) }, to: "\(dir)/quick.wav", options: options)
        XCTAssertNil(quick.loudness)
        XCTAssertTrue(try AudioFileReader.read(path: "\(dir)/quick.wav") == expected)
    }

    func testOffsetsAreSampleAccurateAndFractionalOffsetsInterpolate() throws {
        var impulse = AudioBuffer(frameCount: 1000, channelCount: 1, sampleRate: 44100)
        impulse.channels[0][100] = 0.5
        var options = unity
        options.channelCount = 1
        options.format = float32
        let path = try write(impulse, "imp.wav", encoding: .float32)
        _ = try Mixer.mix([MixTrack(source: .file(path), offsetSeconds: 10 / 44100)], to: "\(dir)/o.wav", options: options)
        let shifted = try AudioFileReader.read(path: "\(dir)/o.wav")
        XCTAssertEqual(shifted.frameCount, 1010)
        XCTAssertEqual(shifted.channels[0][110], 0.5)
        XCTAssertEqual(shifted.channels[0].filter { $0 != 0 }.count, 1)
        // Negative: the start is cut.
        _ = try Mixer.mix([MixTrack(source: .file(path), offsetSeconds: -50 / 44100)], to: "\(dir)/n.wav", options: options)
        let cut = try AudioFileReader.read(path: "\(dir)/n.wav")
        XCTAssertEqual(cut.frameCount, 950)
        XCTAssertEqual(cut.channels[0][50], 0.5)

        // A band-limited signal delayed by 10.25 samples matches the same signal computed 10.25 samples later.
        let f = 1234.5
        let sine = TestSignals.sine(f, amplitude: 0.5, seconds: 0.2, channels: 1)
        let sinePath = try write(sine, "sine.wav", encoding: .float32)
        var track = MixTrack(source: .file(sinePath))
        track.offsetFrames = 10.25
        _ = try Mixer.mix([track], to: "\(dir)/f.wav", options: options)
        let delayed = try AudioFileReader.read(path: "\(dir)/f.wav")
        XCTAssertEqual(delayed.frameCount, sine.frameCount + 11)
        var worst: Float = 0
        for i in 200..<(sine.frameCount - 200) {
            let ideal = 0.5 * Float(sin(2 * Double.pi * f * (Double(i) - 10.25) / 44100))
            worst = max(worst, abs(delayed.channels[0][i] - ideal))
        }
        XCTAssertLessThan(worst, 1e-3, "fractional delay error \(worst)")
    }

    func testResamplingPanningGainAndMemorySources() throws {
        // A 48 kHz mono track panned hard left at -6 dB and a 22.05 kHz stereo track, onto a 44.1 kHz bus.
        let mono48 = TestSignals.sine(500, amplitude: 0.5, seconds: 0.5, channels: 1, rate: 48000)
        let stereo22 = TestSignals.sine(300, amplitude: 0.25, seconds: 1, channels: 2, rate: 22050)
        var options = unity
        options.sampleRate = 44100
        options.format = float32
        let report = try Mixer.mix([MixTrack(source: .buffer(mono48, name: "mono48"), gainDB: -6.0206, pan: -1),
                                    MixTrack(source: .buffer(stereo22, name: "stereo22"), muted: true)],
                                   to: "\(dir)/r.wav", options: options)
        XCTAssertTrue(report.tracks[0].resampled)
        let out = try AudioFileReader.read(path: "\(dir)/r.wav")
        XCTAssertEqual(out.sampleRate, 44100)
        // The muted track still sets the length (1 s), and contributes nothing.
        XCTAssertEqual(out.frameCount, 44100)
        XCTAssertEqual(out.channels[1].map(abs).max()!, 0)
        let expected = try Resampler.resample(mono48, to: 44100).channels[0]
        for i in stride(from: 0, to: expected.count, by: 101) { XCTAssertEqual(out.channels[0][i], 0.5 * expected[i], accuracy: 1e-4) }
        XCTAssertEqual(out.channels[0][30000], 0)
    }

    func testFrameCountSetsTheOutputLength() throws {
        // A 1 s track and a 0.5 s one: with a length of 0.7 s the mix ends there, samples unchanged before it.
        let long = TestSignals.sine(300, amplitude: 0.25, seconds: 1, channels: 2, rate: 44100)
        let short = TestSignals.sine(500, amplitude: 0.25, seconds: 0.5, channels: 2, rate: 44100)
        var options = unity
        options.format = float32
        let tracks = [MixTrack(source: .buffer(long, name: "long")), MixTrack(source: .buffer(short, name: "short"))]
        _ = try Mixer.mix(tracks, to: "\(dir)/full.wav", options: options)
        options.frameCount = 30870
        options.blockFrames = 4096
        _ = try Mixer.mix(tracks, to: "\(dir)/cut.wav", options: options)
        let full = try AudioFileReader.read(path: "\(dir)/full.wav"), cut = try AudioFileReader.read(path: "\(dir)/cut.wav")
        XCTAssertEqual(full.frameCount, 44100)
        XCTAssertEqual(cut.frameCount, 30870)
        XCTAssertEqual(cut, full.slice(0..<30870))
        // A length beyond the longest track does not pad.
        options.frameCount = 50000
        _ = try Mixer.mix(tracks, to: "\(dir)/long.wav", options: options)
        XCTAssertEqual(try AudioFileReader.read(path: "\(dir)/long.wav").frameCount, 44100)
    }

    func testBlockSizeDoesNotChangeTheResult() throws {
        let a = try write(TestSignals.drums(seconds: 1.5), "a.wav")
        let b = try write(TestSignals.voice(seconds: 1.2, delay: 0.1), "v.wav")
        var options = MixOptions()
        options.format = float32
        options.loudnessLUFS = -10
        let tracks = [MixTrack(source: .file(a), gainDB: 2), MixTrack(source: .file(b), pan: 0.3, offsetSeconds: 0.0123)]
        options.blockFrames = 65536
        _ = try Mixer.mix(tracks, to: "\(dir)/big.wav", options: options)
        options.blockFrames = 999
        _ = try Mixer.mix(tracks, to: "\(dir)/small.wav", options: options)
        XCTAssertTrue(try AudioFileReader.read(path: "\(dir)/big.wav") == AudioFileReader.read(path: "\(dir)/small.wav"))
    }

    // MARK: - Loudness and limiting

    func testLoudnessTargetWithoutLimiting() throws {
        let a = try write(TestSignals.noise(frames: 3 * 44100, channels: 2, amplitude: 0.05), "n.wav")
        var options = MixOptions()
        options.loudnessLUFS = -30
        let r = try Mixer.mix([MixTrack(source: .file(a))], to: "\(dir)/l.wav", options: options)
        XCTAssertEqual(r.passes, 1)
        XCTAssertEqual(r.limitedFraction, 0)
        XCTAssertTrue(r.dithered)
        XCTAssertEqual(try LoudnessMeter.measure(path: "\(dir)/l.wav").integratedLUFS, -30, accuracy: 0.03)
        XCTAssertEqual(r.gainDB, -30 - r.busLoudnessLUFS!, accuracy: 1e-9)
        XCTAssertEqual(files(), ["l.wav", "n.wav"], "the temporary bus must be removed")
    }

    /// Pushing a dynamic signal hard: the limiter works, the loudness is re-solved, and both figures hold on the
    /// written 16-bit file.
    func testLoudPushHoldsLoudnessAndTruePeak() throws {
        let a = try write(TestSignals.drums(seconds: 3), "d.wav")
        let v = try write(TestSignals.voice(seconds: 3), "v.flac")
        var options = MixOptions()
        options.loudnessLUFS = -9
        options.format = try AudioFileFormat(container: .wav, encoding: .pcm16)
        let r = try Mixer.mix([MixTrack(source: .file(a)), MixTrack(source: .file(v), pan: -0.3)], to: "\(dir)/loud.wav", options: options)
        XCTAssertGreaterThan(r.passes, 1)
        XCTAssertLessThan(r.limiterMaxReductionDB, -3)
        let m = try LoudnessMeter.measure(path: "\(dir)/loud.wav")
        XCTAssertEqual(m.integratedLUFS, -9, accuracy: 0.05)
        XCTAssertLessThanOrEqual(m.truePeakDBTP, -1.0)
        XCTAssertEqual(r.loudness!.integratedLUFS, m.integratedLUFS, accuracy: 0.02)
    }

    /// A limiter without a loudness target: unity gain, peaks held; a re-rendering pass must still have the tracks.
    func testLimiterWithoutLoudnessTarget() throws {
        let a = try write(TestSignals.drums(seconds: 2), "d.wav")
        var options = MixOptions()
        options.loudnessLUFS = nil
        options.limiter = LimiterOptions(ceilingDBTP: -6)
        options.format = float32
        let r = try Mixer.mix([MixTrack(source: .file(a), gainDB: 3)], to: "\(dir)/lim.wav", options: options)
        XCTAssertEqual(r.frames, 88200)
        XCTAssertEqual(r.gainDB, 0)
        XCTAssertLessThan(r.limiterMaxReductionDB, -3)
        let m = try LoudnessMeter.measure(path: "\(dir)/lim.wav")
        XCTAssertLessThanOrEqual(m.truePeakDBTP, -6)
        XCTAssertGreaterThan(m.truePeakDBTP, -7)
        XCTAssertEqual(files(), ["d.wav", "lim.wav"])
    }

    // MARK: - Bad input

    func testBadInputsFailCleanly() throws {
        let good = try write(TestSignals.sine(440, amplitude: 0.3, seconds: 0.5), "good.wav")
        let before = files()
        func fails(_ tracks: [MixTrack], options: MixOptions = MixOptions(), output: String = "out.wav", _ kind: AudioError.Kind) {
            XCTAssertThrowsError(try Mixer.mix(tracks, to: "\(dir)/\(output)", options: options)) { e in
                XCTAssertEqual((e as? AudioError)?.kind, kind, "\(e)")
            }
            XCTAssertEqual(files(), before, "a failed mix must leave nothing behind")
        }
        fails([MixTrack(source: .file(good)), MixTrack(source: .file("\(dir)/missing.wav"))], .fileNotFound)
        fails([MixTrack(source: .file(good))], output: "good.wav", .sameAsInput)
        fails([], .invalidArgument)
        let silent = AudioBuffer(frameCount: 44100, channelCount: 2, sampleRate: 44100)
        fails([MixTrack(source: .buffer(silent, name: "silence"))], .invalidArgument)
        var nan = silent
        nan.channels[1][7] = .nan
        fails([MixTrack(source: .buffer(nan, name: "nan"))], .nonFinite)
        var options = MixOptions()
        options.channelCount = 6
        fails([MixTrack(source: .file(good))], options: options, .invalidArgument)
        options = MixOptions()
        options.loudnessLUFS = 5
        fails([MixTrack(source: .file(good))], options: options, .invalidArgument)
        fails([MixTrack(source: .file(good))], output: "no/such/dir/out.wav", .unwritable)
    }

    func testSecantStepsStayBounded() {
        XCTAssertEqual(Mixer.nextGain(history: [(10, -12)], target: -8), 14)
        // Slope 0.5 from two points: 2 LU short needs 4 dB more.
        XCTAssertEqual(Mixer.nextGain(history: [(10, -12), (14, -10)], target: -8), 18, accuracy: 1e-9)
        // A flat curve cannot send the gain flying.
        XCTAssertEqual(Mixer.nextGain(history: [(10, -12), (14, -12)], target: -8), 26)
    }
}
