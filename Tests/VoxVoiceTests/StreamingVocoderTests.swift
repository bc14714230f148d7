import Foundation
import XCTest
import VoxAudio
@testable import VoxVoice

/// Streaming analysis and synthesis against the whole-signal results, with blocks forced small.
final class StreamingVocoderTests: XCTestCase {
    /// A voice with a pitch glide, vibrato, a pause, a note 20 dB quieter, a rest and a noisy stretch, 2.9 s at
    /// 22.05 kHz, over a noise floor 60 dB down (which the tracker's silence gate, relative to the whole signal's
    /// loudest frame, removes; relative to the quiet note's, it would not). (Without one, a frame whose window is digital silence but for the resampler's 1e-6 pre-echo
    /// of an onset has an F0 made of FFT rounding noise, in the whole-signal analysis too.)
    func voice(rate: Double = 22050) -> [Float] {
        let sung = harmonicTone(seconds: 0.9, sampleRate: rate, harmonics: 40) { 150 * pow(2, $0 / 2) * pow(2, 0.3 / 12 * sin(2 * .pi * 5 * $0)) }
        let second = harmonicTone(seconds: 0.6, sampleRate: rate, amplitude: 0.03, harmonics: 40) { 240 - 60 * $0 }
        let pause = [Float](repeating: 0, count: Int(0.2 * rate))
        let breath = whiteNoise(Int(0.3 * rate), amplitude: 0.05)
        let x = pause + sung + pause + second + pause + pause + pause + breath
        return zip(x, whiteNoise(x.count, amplitude: 3e-4, seed: 3)).map { $0 + $1 }
    }

    func blocks(of x: [Float], size: Int) -> [AudioBuffer] {
        stride(from: 0, to: x.count, by: size).map { AudioBuffer(channels: [Array(x[$0..<min(x.count, $0 + size)])], sampleRate: 22050) }
    }

    /// The first pass: the loudest frame energy, measured in blocks of another size.
    func loudest(_ x: [Float], _ a: StreamingVoiceAnalyzer) throws -> Double {
        let meter = try a.makeLoudestFrameMeter()
        for b in blocks(of: x, size: 4096) { meter.push(b) }
        return meter.finish()
    }

    func streamed(_ x: [Float], blockFrames: Int, readSize: Int) throws -> VoiceFeatures {
        var options = StreamingAnalysisOptions()
        options.blockFrames = blockFrames
        options.pitchContext = 0.5
        let a = try StreamingVoiceAnalyzer(sampleRate: 22050, options: options)
        a.loudestFrameEnergy = try loudest(x, a)
        var out = [VoiceFeatures]()
        for b in blocks(of: x, size: readSize) { out += try a.push(b) }
        out += try a.finish()
        XCTAssertGreaterThan(out.count, 5)
        return try XCTUnwrap(VoiceFeatures.joining(out))
    }

    func testStreamingAnalysisEqualsWholeSignal() throws {
        let x = voice()
        let whole = try VoiceAnalyzer().analyze(AudioBuffer(channels: [x], sampleRate: 22050))
        let s = try streamed(x, blockFrames: 40, readSize: 3001)
        XCTAssertEqual(s.frameCount, whole.frameCount)
        XCTAssertEqual(s.sampleCount, whole.sampleCount)
        XCTAssertEqual(s.firstFrame, 0)
        // Voicing identical; F0 within 0.01 cent (the tracker's resampler rounds differently on a stretch).
        XCTAssertEqual(s.voiced, whole.voiced)
        // Confidence too: it is 0 in frames the silence gate removed, the best candidate's periodicity elsewhere.
        for i in 0..<s.frameCount { XCTAssertEqual(s.confidence[i], whole.confidence[i], accuracy: 1e-4, "frame \(i)") }
        for i in 0..<s.frameCount where whole.f0[i] > 0 {
            XCTAssertEqual(cents(Double(s.f0[i]), Double(whole.f0[i])), 0, accuracy: 0.01, "frame \(i)")
        }
        // Envelope and aperiodicity within 1e-3 relative (the same windows over the same samples, F0 as above).
        for i in 0..<s.envelope.count {
            XCTAssertEqual(s.envelope[i], whole.envelope[i], accuracy: 1e-3 * whole.envelope[i], "bin \(i)")
        }
        for i in 0..<s.bandAperiodicity.count {
            XCTAssertEqual(s.bandAperiodicity[i], whole.bandAperiodicity[i], accuracy: 0.01, "band value \(i)")
        }
    }

    func testStreamingPitchEqualsWholeSignal() throws {
        let x = voice()
        let tracker = PitchTracker()
        let whole = try tracker.track(samples: x, sampleRate: 22050)
        var options = StreamingAnalysisOptions()
        options.blockFrames = 30
        options.pitchContext = 0.5
        let a = try StreamingVoiceAnalyzer(tracker: tracker, sampleRate: 22050, options: options)
        a.loudestFrameEnergy = try loudest(x, a)
        var f0 = [Float](), confidence = [Float]()
        for b in blocks(of: x, size: 5000) {
            for p in try a.pushPitch(b) { XCTAssertEqual(p.firstFrame, f0.count); f0 += p.track.f0; confidence += p.track.confidence }
        }
        for p in try a.finishPitch() { XCTAssertEqual(p.firstFrame, f0.count); f0 += p.track.f0; confidence += p.track.confidence }
        XCTAssertEqual(f0.count, whole.frameCount)
        for i in f0.indices {
            XCTAssertEqual(f0[i] > 0, whole.f0[i] > 0, "frame \(i)")
            if f0[i] > 0 { XCTAssertEqual(cents(Double(f0[i]), Double(whole.f0[i])), 0, accuracy: 0.01, "frame \(i)") }
            // The tracker's zero-phase high-pass runs over each stretch, not the whole file: with the 0.5 s context
            // forced here its edge effects move the periodicity by up to about 1e-3 near the last stretch.
            XCTAssertEqual(confidence[i], whole.confidence[i], accuracy: 5e-3, "frame \(i)")
        }
    }

    /// Joined-block synthesis of the same features against `Synthesizer.synthesize`, at the features' rate and
    /// at others.
    func testStreamingSynthesisEqualsWholeSignal() throws {
        let f = try VoiceAnalyzer().analyze(AudioBuffer(channels: [voice()], sampleRate: 22050))
        for rate in [22050.0, 16000, 48000] {
            let whole = try Synthesizer().synthesize(f, sampleRate: rate).channels[0]
            let stream = try StreamingSynthesizer(sampleRate: 22050, framePeriod: f.framePeriod, outputRate: rate)
            var y = [Float]()
            var start = 0, size = 1
            while start < f.frameCount {
                let end = min(f.frameCount, start + size)
                y += try stream.push(f.frames(start..<end))
                start = end
                size = size % 37 + 3   // 1, 4, 7, … frames: blocks shorter and longer than a pulse period
            }
            y += try stream.finish(sampleCount: f.sampleCount)
            XCTAssertEqual(y.count, Int((Double(f.sampleCount) * rate / 22050).rounded()))
            XCTAssertEqual(y.count, whole.count)
            var signal = 0.0, noise = 0.0
            for i in y.indices { signal += Double(whole[i]) * Double(whole[i]); noise += Double(y[i] - whole[i]) * Double(y[i] - whole[i]) }
            XCTAssertGreaterThan(10 * log10(signal / max(noise, 1e-30)), 60, "rate \(rate)")
        }
    }

    func testStreamedTimeStretchIsExactAndKeepsTheDuration() throws {
        let f = try VoiceAnalyzer().analyze(AudioBuffer(channels: [voice()], sampleRate: 22050))
        for ratio in [0.25, 0.7, 1.37, 4.0] {
            let whole = f.stretchingTime(ratio: ratio)
            let stretcher = TimeStretcher(ratio: ratio)
            var out = [VoiceFeatures]()
            for start in stride(from: 0, to: f.frameCount, by: 13) { out.append(stretcher.push(f.frames(start..<min(f.frameCount, start + 13)))) }
            out.append(stretcher.finish(sampleCount: f.sampleCount))
            let joined = try XCTUnwrap(VoiceFeatures.joining(out))
            XCTAssertEqual(joined, whole, "ratio \(ratio)")
            XCTAssertEqual(whole.sampleCount, Int((Double(f.sampleCount) * ratio).rounded()))
            let y = try Synthesizer().synthesize(joined, sampleRate: 44100)
            XCTAssertEqual(y.frameCount, Int((Double(whole.sampleCount) * 2).rounded()))
        }
    }

    /// The README's streaming example, on a synthetic file, against the whole-file pipeline.
    func testReadmeStreamingExample() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-stream-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let x = voice()
        try AudioFileWriter.write(AudioBuffer(channels: [x], sampleRate: 22050), to: dir + "/long-take.flac",
                                  format: try AudioFileFormat(container: .flac, encoding: .pcm24))
        var options = StreamingAnalysisOptions()
        options.blockFrames = 100  // force several blocks on a short file

        // As in the README, with the paths under `dir`.
        let reader = try AudioFileReader(path: dir + "/long-take.flac")
        let analyzer = try StreamingVoiceAnalyzer(sampleRate: Double(reader.info.sampleRate), options: options)
        try analyzer.measureLoudestFrame(path: dir + "/long-take.flac")
        let stretcher = TimeStretcher(ratio: 1.2)
        let synthesizer = try StreamingSynthesizer(sampleRate: analyzer.sampleRate, framePeriod: analyzer.framePeriod,
                                                   outputRate: 48_000)
        let writer = try AudioFileWriter(path: dir + "/out.wav", format: try AudioFileFormat(container: .wav, encoding: .float32),
                                         sampleRate: 48_000, channelCount: 1)
        func synthesize(_ blocks: [VoiceFeatures]) throws {
            for block in blocks {
                let samples = try synthesizer.push(stretcher.push(block.shiftingPitch(semitones: 7)))
                try writer.write(AudioBuffer(channels: [samples], sampleRate: 48_000))
            }
        }
        while let block = try reader.read(maxFrames: 32_768) { try synthesize(try analyzer.push(block)) }
        try synthesize(try analyzer.finish())
        let length = Int(reader.framesRead)
        var tail = try synthesizer.push(stretcher.finish(sampleCount: length))
        tail += try synthesizer.finish(sampleCount: stretcher.stretchedSampleCount(length))
        try writer.write(AudioBuffer(channels: [tail], sampleRate: 48_000))
        try writer.finish()

        let streamed = try AudioFileReader.read(path: dir + "/out.wav").channels[0]
        let take = try AudioFileReader.read(path: dir + "/long-take.flac")
        let whole = try Synthesizer().synthesize(try VoiceAnalyzer().analyze(take).shiftingPitch(semitones: 7).stretchingTime(ratio: 1.2),
                                                 sampleRate: 48_000).channels[0]
        XCTAssertEqual(streamed.count, Int((Double(Int((Double(x.count) * 1.2).rounded())) * 48_000 / 22050).rounded()))
        XCTAssertEqual(streamed.count, whole.count)
        var signal = 0.0, error = 0.0
        for i in whole.indices { signal += Double(whole[i] * whole[i]); error += Double((whole[i] - streamed[i]) * (whole[i] - streamed[i])) }
        XCTAssertGreaterThan(10 * log10(signal / max(error, 1e-30)), 60)
    }
}
