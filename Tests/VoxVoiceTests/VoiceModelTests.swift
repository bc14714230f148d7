import Foundation
import CVoxKernels
import XCTest
import VoxAudio
@testable import VoxVoice

/// Voice models: training refusals, the file format, conversion.
final class VoiceModelTests: XCTestCase {
    static let rate = 16000.0

    /// A "voice": a harmonic tone with vibrato through two resonances (formants at `f1`, `f2` Hz).
    static func voice(seconds: Double, baseHz: Double, f1: Double, f2: Double, seed: Double = 0) -> [Float] {
        let x = harmonicTone(seconds: seconds, sampleRate: rate, harmonics: 40) { t in
            // A slow melody (steps of a few semitones) with 5 Hz vibrato, and short gaps (phrasing).
            if (t + seed).truncatingRemainder(dividingBy: 1.5) > 1.35 { return 0 }
            let note = [0.0, 2, 4, 5, 7, 4][Int((t + seed) / 1.5) % 6]
            return baseHz * pow(2, (note + 0.3 * sin(2 * .pi * 5 * t)) / 12)
        }
        return resonate(resonate(x, hz: f1, bandwidthHz: 90), hz: f2, bandwidthHz: 120)
    }

    /// Two-pole resonator (unity gain at DC is not kept: the level is normalised afterwards).
    static func resonate(_ x: [Float], hz: Double, bandwidthHz: Double) -> [Float] {
        let r = exp(-Double.pi * bandwidthHz / rate), th = 2 * Double.pi * hz / rate
        let a1 = 2 * r * cos(th), a2 = -r * r
        var y = [Float](repeating: 0, count: x.count)
        var y1 = 0.0, y2 = 0.0, peak = 1e-9
        for n in 0..<x.count {
            let v = Double(x[n]) + a1 * y1 + a2 * y2
            y2 = y1; y1 = v
            y[n] = Float(v); peak = max(peak, abs(v))
        }
        return y.map { $0 * Float(0.5 / peak) }
    }

    static func consent() throws -> ConsentRecord {
        try ConsentRecord(subject: "Test Singer", scope: "unit tests", date: "2026-01-01", statement: "I agree to unit tests.")
    }

    static func input(_ name: String, _ x: [Float]) -> TrainingInput {
        let data = x.withUnsafeBufferPointer { Data(buffer: $0) }
        return TrainingInput(name: name, audio: AudioBuffer(channels: [x], sampleRate: rate), sha256: SHA256.hex(data))
    }

    /// A small model (minimum voiced duration lowered to keep the test short).
    static func model(f1: Double, f2: Double, baseHz: Double = 220) throws -> VoiceModel {
        var options = VoiceTrainingOptions()
        options.minimumVoicedSeconds = 2
        let trainer = VoiceTrainer(options: options)
        let analysis = try trainer.analyze([input("a.wav", voice(seconds: 3, baseHz: baseHz, f1: f1, f2: f2)),
                                            input("b.wav", voice(seconds: 2, baseHz: baseHz * 1.2, f1: f1, f2: f2, seed: 0.7))])
        return try trainer.train(analysis, name: "test", consent: consent())
    }

    func testConsentIsRequired() throws {
        XCTAssertThrowsError(try ConsentRecord(subject: "A", scope: "B", date: "2026-01-01", statement: "  \n")) { e in
            XCTAssertEqual((e as? AudioError)?.kind, .invalidArgument)
            XCTAssertTrue("\(e)".contains("consent"))
        }
        XCTAssertThrowsError(try ConsentRecord(subject: "", scope: "B", date: "2026-01-01", statement: "yes"))
        let c = try Self.consent()
        XCTAssertEqual(c.statementSHA256, SHA256.hex(Data("I agree to unit tests.".utf8)))
        XCTAssertTrue(c.isIntact)
        var edited = c
        edited.statement += " And more."
        XCTAssertFalse(edited.isIntact)
    }

    func testTooLittleAudioIsRefusedAfterTheAudit() throws {
        let trainer = VoiceTrainer()
        let analysis = try trainer.analyze([Self.input("short.wav", Self.voice(seconds: 3, baseHz: 200, f1: 700, f2: 1200))])
        XCTAssertLessThan(analysis.audit.voicedSeconds, 3)
        XCTAssertGreaterThan(analysis.audit.voicedSeconds, 1.5)
        XCTAssertFalse(analysis.audit.warnings.isEmpty)
        XCTAssertThrowsError(try trainer.train(analysis, name: "x", consent: Self.consent())) { e in
            XCTAssertEqual((e as? AudioError)?.kind, .invalidArgument)
            XCTAssertTrue("\(e)".contains("at least 10 s"), "\(e)")
        }
    }

    func testAuditMeasuresPitchRangeAndClipping() throws {
        var x = Self.voice(seconds: 3, baseHz: 200, f1: 700, f2: 1200)
        let clean = try VoiceTrainer().analyze([Self.input("clean.wav", x)]).audit.files[0]
        for i in stride(from: 0, to: x.count, by: 50) { x[i] = 1 }
        let clipped = try VoiceTrainer().analyze([Self.input("clipped.wav", x)]).audit.files[0]
        XCTAssertEqual(clean.clippedFraction, 0)
        XCTAssertGreaterThan(clipped.clippedFraction, 0.01)
        XCTAssertTrue(clipped.warnings.contains { $0.contains("clipping") })
        // Three seconds hold two notes, 200 Hz and 2 semitones above, ± 0.3 semitone vibrato.
        let p5 = try XCTUnwrap(clean.pitchP5Hz), p95 = try XCTUnwrap(clean.pitchP95Hz)
        XCTAssertEqual(p5, 200 * pow(2, -0.3 / 12), accuracy: 6)
        XCTAssertEqual(p95, 200 * pow(2, 2.3 / 12), accuracy: 6)
    }

    func testModelFileRoundTripAndTamperRefusal() throws {
        let model = try Self.model(f1: 700, f2: 1200)
        let data = try VoiceModelFile.encode(model)
        XCTAssertEqual(Array(data.prefix(8)), Array("VOXVOICE".utf8))
        XCTAssertEqual(try VoiceModelFile.decode(data), model)
        // Through the atomic writer and back.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vox-\(UUID().uuidString).voxvoice").path
        defer { unlink(path) }
        try VoiceModelFile.write(model, to: path)
        XCTAssertEqual(try VoiceModelFile.read(path: path), model)
        // One changed byte anywhere (header, payload) is refused.
        for offset in [20, data.count / 2, data.count - 70] {
            var bad = data
            bad[offset] ^= 0x01
            XCTAssertThrowsError(try VoiceModelFile.decode(bad)) { e in
                XCTAssertEqual((e as? AudioError)?.kind, .corrupt)
                XCTAssertTrue("\(e)".contains("checksum"), "\(e)")
            }
        }
        XCTAssertThrowsError(try VoiceModelFile.decode(data.prefix(data.count - 1)))
        XCTAssertThrowsError(try VoiceModelFile.decode(Data("RIFF0000WAVE".utf8)))
    }

    /// Mean absolute change (dB) of the voiced envelopes between two feature sets, 100 Hz–4 kHz.
    static func envelopeChangeDB(_ a: VoiceFeatures, _ b: VoiceFeatures) -> Double {
        let bins = a.binCount, lo = Int(100 / (a.sampleRate / Double(a.fftSize))), hi = Int(4000 / (a.sampleRate / Double(a.fftSize)))
        var sum = 0.0, n = 0
        for i in 0..<a.frameCount where a.f0[i] > 0 {
            for k in lo...hi {
                sum += abs(10 * log10(Double(b.envelope[i * bins + k]) / Double(a.envelope[i * bins + k])))
                n += 1
            }
        }
        return sum / Double(max(1, n))
    }

    func testConversionToTheSameVoiceChangesLittleAndToAnotherVoiceMore() throws {
        let same = try Self.model(f1: 700, f2: 1200)
        let other = try Self.model(f1: 400, f2: 2200)
        let takeSamples = Self.voice(seconds: 2, baseHz: 240, f1: 700, f2: 1200, seed: 0.3)
        let take = AudioBuffer(channels: [takeSamples], sampleRate: Self.rate)
        let features = try VoiceAnalyzer().analyze(take)
        let levels = frameLevels(takeSamples, sampleRate: Self.rate, framePeriod: features.framePeriod, count: features.frameCount)
        var options = VoiceConversionOptions()
        options.minimumStatisticsFrames = 50
        let toSame = VoiceConverter(model: same, options: options).map(features, levels: levels)
        let toOther = VoiceConverter(model: other, options: options).map(features, levels: levels)
        let changeSame = Self.envelopeChangeDB(features, toSame), changeOther = Self.envelopeChangeDB(features, toOther)
        XCTAssertLessThan(changeSame, 2.5, "self-conversion moved the envelope by \(changeSame) dB")
        XCTAssertGreaterThan(changeOther, 2 * changeSame + 1, "conversion to another voice moved it by only \(changeOther) dB")
        // Strength 0 leaves the timbre alone.
        options.strength = 0
        options.matchVocalTract = false
        XCTAssertEqual(VoiceConverter(model: other, options: options).map(features, levels: levels).envelope, features.envelope)
        // The whole path returns the take's rate and length.
        let (audio, report) = try VoiceConverter(model: other).convert(take)
        XCTAssertEqual(audio.frameCount, take.frameCount)
        XCTAssertEqual(audio.sampleRate, take.sampleRate)
        XCTAssertGreaterThan(report.voicedFraction, 0.5)
    }

    /// An unvoiced frame's envelope with a hump at 200–500 Hz (smeared rumble) comes out of the mapping with no
    /// more than `unvoicedLowCeilingDB` above its level in the octave above `unvoicedLowCeilingHz` when the frame
    /// is quiet; without the ceiling, or in a frame as loud as the take's loud frames, the hump stays.
    func testUnvoicedLowFrequencyHumpIsCapped() throws {
        let model = try Self.model(f1: 400, f2: 2200)
        let takeSamples = Self.voice(seconds: 2, baseHz: 240, f1: 700, f2: 1200, seed: 0.3)
        var features = try VoiceAnalyzer().analyze(AudioBuffer(channels: [takeSamples], sampleRate: Self.rate))
        let levels = frameLevels(takeSamples, sampleRate: Self.rate, framePeriod: features.framePeriod, count: features.frameCount)
        let bins = features.binCount, binHz = Self.rate / Double(features.fftSize)
        let unvoiced = (0..<features.frameCount).filter { features.f0[$0] <= 0 }
        XCTAssertGreaterThan(unvoiced.count, 10)
        for i in unvoiced {
            for b in 0..<bins {
                let hz = Double(b) * binHz
                features.envelope[i * bins + b] = 1e-4 * (hz > 200 && hz < 500 ? 1000 : 1)
            }
        }
        var options = VoiceConversionOptions()
        options.minimumStatisticsFrames = 50
        /// The largest excess (dB) of an unvoiced frame's envelope below the ceiling's frequency over its mean
        /// log level in the octave above.
        func worstExcessDB(_ o: VoiceConversionOptions, levels: [Float] = levels) -> Double {
            let out = VoiceConverter(model: model, options: o).map(features, levels: levels)
            let c = Int(800 / binHz)
            var worst = -Double.infinity
            for i in unvoiced {
                let row = Array(out.envelope[(i * bins)..<((i + 1) * bins)])
                let reference = row[c..<(2 * c)].map { log(Double($0)) }.reduce(0, +) / Double(c)
                let peak = row[0..<c].map { log(Double($0)) }.max()!
                worst = max(worst, 10 * (peak - reference) / log(10))
            }
            return worst
        }
        let capped = worstExcessDB(options)
        // The same frames measured as loud as the take's loud frames: not gated in.
        let loud = percentile(levels, 0.95)
        var loudLevels = levels
        for i in unvoiced { loudLevels[i] = loud }
        let loudFrames = worstExcessDB(options, levels: loudLevels)
        options.unvoicedLowCeilingHz = 0
        let open = worstExcessDB(options)
        print("unvoiced low-band excess: with the ceiling \(capped) dB, loud frames \(loudFrames) dB, without \(open) dB")
        XCTAssertLessThanOrEqual(capped, 3.5)
        XCTAssertGreaterThan(loudFrames, 10)
        XCTAssertGreaterThan(open, 10)
    }

    /// Signal-to-difference ratio (dB) of `b` against `a` (∞ when identical).
    static func snrDB(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0, d = 0.0
        for i in 0..<min(a.count, b.count) { s += Double(a[i] * a[i]); d += Double((a[i] - b[i]) * (a[i] - b[i])) }
        return 10 * log10(s / max(d, 1e-30))
    }

    /// The streamed conversion of a file: one block gives `convert`'s output exactly (and its report); many small
    /// blocks (statistics pass, then conversion pass block by block) give the same length and close figures.
    func testStreamedConversionMatchesTheWholeTake() throws {
        let model = try Self.model(f1: 400, f2: 2200)
        // 4 s at 22.05 kHz: resampled to the model's 16 kHz on the way in and back on the way out.
        let takeSamples = Self.voice(seconds: 4, baseHz: 230, f1: 700, f2: 1200, seed: 0.4)
        let take = try Resampler.resample(AudioBuffer(channels: [takeSamples, takeSamples.map { $0 * 0.5 }], sampleRate: Self.rate), to: 22050)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vox-stream-convert-\(UUID().uuidString).wav").path
        defer { unlink(path) }
        try AudioFileWriter.write(take, to: path, format: try AudioFileFormat(container: .wav, encoding: .float32))
        var options = VoiceConversionOptions()
        options.minimumStatisticsFrames = 50
        options.transposeAutomatically = true
        let converter = VoiceConverter(model: model, options: options)
        let (whole, wholeReport) = try converter.convert(take)
        func streamed(blockFrames: Int) throws -> ([Float], ConversionReport) {
            var streaming = StreamingAnalysisOptions()
            streaming.blockFrames = blockFrames
            var y = [Float]()
            let report = try converter.convert(path: path, streaming: streaming) { y += $0 }
            return (y, report)
        }
        func figures(_ r: ConversionReport) -> [Double] {
            [r.transposeSemitones, r.vocalTractRatio, r.voicedFraction, r.takeP5Hz ?? 0, r.takeP95Hz ?? 0, r.outsideFraction]
        }
        let (one, oneReport) = try streamed(blockFrames: 8000)
        XCTAssertEqual(one.count, take.frameCount)
        XCTAssertGreaterThanOrEqual(Self.snrDB(whole.channels[0], one), 60)
        XCTAssertEqual(figures(oneReport), figures(wholeReport))
        let (many, manyReport) = try streamed(blockFrames: 100)
        XCTAssertEqual(many.count, take.frameCount)
        XCTAssertEqual(manyReport.transposeSemitones, wholeReport.transposeSemitones)
        for (a, b) in zip(figures(manyReport), figures(wholeReport)) { XCTAssertEqual(a, b, accuracy: 0.02 * max(1, abs(b))) }
        let snr = Self.snrDB(one, many)
        print("streamed conversion: one block vs 100-frame blocks \(snr) dB, vocal tract \(oneReport.vocalTractRatio) vs \(manyReport.vocalTractRatio)")
        XCTAssertGreaterThan(snr, 15)
    }

    /// A voice an octave above the take with formants 1.35× higher: the vocal-tract search reaches past 1.25
    /// (the range for a clearly higher voice); a take at the voice's pitch keeps the 0.8…1.25 range.
    func testVocalTractRangeExtendsUpwardsForAHigherVoice() throws {
        let model = try Self.model(f1: 650 * 1.35, f2: 1150 * 1.35, baseHz: 240)
        var options = VoiceConversionOptions()
        options.minimumStatisticsFrames = 50
        let converter = VoiceConverter(model: model, options: options)
        func ratio(baseHz: Double) throws -> Double {
            let x = Self.voice(seconds: 3, baseHz: baseHz, f1: 650, f2: 1150, seed: 0.2)
            let features = try VoiceAnalyzer(options: .voiceConversion).analyze(AudioBuffer(channels: [x], sampleRate: Self.rate))
            let levels = frameLevels(x, sampleRate: Self.rate, framePeriod: features.framePeriod, count: features.frameCount)
            return converter.vocalTractRatio(cepstra: converter.cepstrum.analyze(features), f0: features.f0,
                                             active: converter.activeFrames(levels: levels))
        }
        let low = try ratio(baseHz: 120), same = try ratio(baseHz: 240)
        print("vocal-tract ratio: take an octave below \(low), at the voice's pitch \(same)")
        XCTAssertGreaterThan(low, 1.25)
        XCTAssertLessThanOrEqual(low, 1.4 + 1e-9)
        XCTAssertLessThanOrEqual(same, 1.25 + 1e-9)
    }

    func testTranspositionIsExact() throws {
        let model = try Self.model(f1: 700, f2: 1200)
        let takeSamples = Self.voice(seconds: 2, baseHz: 200, f1: 600, f2: 1500, seed: 0.2)
        let take = AudioBuffer(channels: [takeSamples], sampleRate: Self.rate)
        var options = VoiceConversionOptions()
        options.transposeSemitones = 5
        let converter = VoiceConverter(model: model, options: options)
        // Frame by frame, the converted F0 is the take's times 2^(5/12) exactly; voicing is the take's.
        let features = try VoiceAnalyzer().analyze(take)
        let levels = frameLevels(takeSamples, sampleRate: Self.rate, framePeriod: features.framePeriod, count: features.frameCount)
        let mapped = converter.map(features, levels: levels)
        let ratio = Float(pow(2, 5.0 / 12))
        for i in 0..<features.frameCount {
            XCTAssertEqual(mapped.f0[i], features.f0[i] * ratio, accuracy: 1e-3 * max(1, features.f0[i]))
        }
        // And in the audio: the F0 tracked in the output is the take's transposed (median error in cents).
        let (audio, _) = try converter.convert(take)
        let outTrack = try PitchTracker().track(audio)
        var errors = [Double]()
        for i in 0..<min(outTrack.frameCount, features.frameCount) where outTrack.f0[i] > 0 && features.f0[i] > 0 {
            errors.append(abs(cents(Double(outTrack.f0[i]), Double(features.f0[i]) * Double(ratio))))
        }
        XCTAssertGreaterThan(errors.count, features.frameCount / 2)
        XCTAssertLessThan(median(errors), 15)
    }

    func testAutomaticTransposePicksTheOctaveThatFitsTheRange() throws {
        let range = try XCTUnwrap(PitchRange(f0: (0..<200).map { Float(180 + $0) }))
        XCTAssertEqual(VoiceConverter.automaticTranspose(takeF0: [Float](repeating: 100, count: 50) + [0, 0], range: range), 12)
        XCTAssertEqual(VoiceConverter.automaticTranspose(takeF0: [Float](repeating: 1000, count: 50), range: range), -24)
        XCTAssertEqual(VoiceConverter.automaticTranspose(takeF0: [Float](repeating: 250, count: 50), range: range), 0)
        XCTAssertEqual(VoiceConverter.automaticTranspose(takeF0: [0, 0], range: range), 0)
        XCTAssertEqual(VoiceConverter.noteName(hz: 440), "A4")
        XCTAssertEqual(VoiceConverter.noteName(hz: 261.63), "C4")
    }

    /// The frame search's distance kernel gives the same bits on the CPU's fast path (AVX2 here when the CPU has it)
    /// as in plain C: no fused multiply-add, the same order of sums; so a conversion does not depend on the CPU.
    func testBlockDistanceKernelMatchesThePortablePath() {
        var rng = SystemRandomNumberGenerator()
        for d in [1, 4, 10, 11] {
            let blocks = 37
            let keys = (0..<blocks * d * 8).map { _ in Float.random(in: -5...5, using: &rng) }
            let query = (0..<d).map { _ in Float.random(in: -5...5, using: &rng) }
            var fast = [Float](repeating: 0, count: blocks * 8), plain = fast
            var fastMin = [Float](repeating: 0, count: blocks), plainMin = fastMin
            vox_block_distances(keys, blocks, d, query, &fast, &fastMin)
            vox_block_distances_portable(keys, blocks, d, query, &plain, &plainMin)
            XCTAssertEqual(fast, plain, "d \(d)")
            XCTAssertEqual(fastMin, plainMin, "d \(d)")
            // And they are the squared distances, summed coordinate by coordinate as Swift sums them.
            for b in [0, blocks - 1] {
                for lane in 0..<8 {
                    var s: Float = 0
                    for m in 0..<d { let e = keys[(b * d + m) * 8 + lane] - query[m]; s += e * e }
                    XCTAssertEqual(plain[b * 8 + lane], s)
                }
                XCTAssertEqual(plainMin[b], plain[(b * 8)..<(b * 8 + 8)].min())
            }
        }
    }

    /// The frame index returns exactly the brute-force nearest keys (clustered and spread keys, a bank smaller than
    /// k, a key count that is not a multiple of the block size, queries inside and outside the keys' range).
    func testFrameIndexFindsTheBruteForceNeighbours() {
        var rng = SystemRandomNumberGenerator()
        for (count, d, k) in [(1003, 10, 32), (37, 11, 8), (5, 4, 32), (300, 1, 6)] {
            let stride = d + 2
            var keys = [Float](repeating: 0, count: count * stride)
            for i in 0..<count {
                let centre = Float(i % 7) - 3  // seven clusters along every axis
                for m in 0..<stride { keys[i * stride + m] = centre + Float.random(in: -0.7...0.7, using: &rng) }
            }
            let index = FrameIndex(keys: keys, count: count, stride: stride, dimension: d)
            var best = [(Float, Int)](repeating: (0, 0), count: k)
            var previous = [(Float, Int)]()
            for trial in 0..<40 {
                let query = (0..<d).map { _ in Float.random(in: (trial < 30 ? -4 : -12)...(trial < 30 ? 4 : 12), using: &rng) }
                let found = query.withUnsafeBufferPointer { index.nearest($0.baseAddress!, k: k, best: &best) }
                let distances = (0..<count).map { i in (0..<d).reduce(Float(0)) { $0 + powf(keys[i * stride + $1] - query[$1], 2) } }
                let expected = (0..<count).sorted { distances[$0] < distances[$1] }.prefix(min(k, count))
                XCTAssertEqual(found, expected.count)
                XCTAssertEqual(Set(best.prefix(found).map(\.1)), Set(expected), "count \(count), d \(d), trial \(trial)")
                for j in 0..<found { XCTAssertEqual(best[j].0, distances[best[j].1], accuracy: 1e-3 * (1 + distances[best[j].1])) }
                // The previous query's neighbours as a hint: the same result.
                let hinted = query.withUnsafeBufferPointer { index.nearest($0.baseAddress!, k: k, best: &best, hint: previous[...]) }
                XCTAssertEqual(Set(best.prefix(hinted).map(\.1)), Set(expected), "hinted: count \(count), d \(d), trial \(trial)")
                previous = Array(best.prefix(hinted))
            }
        }
    }
}
