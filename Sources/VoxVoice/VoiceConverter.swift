import Foundation
import VoxAudio

/// Settings of voice conversion.
public struct VoiceConversionOptions: Sendable, Equatable {
    /// Transposition of the take's F0 (semitones). Default 0.
    public var transposeSemitones = 0.0
    /// `convert` replaces `transposeSemitones` by `automaticTranspose` of the take's F0. Default false.
    public var transposeAutomatically = false
    /// Formant (envelope frequency) ratio applied after conversion (>1 smaller/brighter). Default 1.
    public var formantRatio = 1.0
    /// How far the timbre moves to the voice's, 0…1 (0 = the take resynthesised). Default 1.
    public var strength = 1.0
    /// Target frames averaged per take frame. Default 64 (kNN-VC uses 4 on WavLM features; on mel-cepstra, which
    /// carry more of the speaker, averaging more frames measured better: VCC2016 SM1↔SF1 MCD 7.8 → 7.3 dB from 4 to
    /// 32; 32 → 64 lowered MCD on all four pairs, VCC2016 both ways and MBROLA us1→de1/us2, by 0.04–0.33 dB).
    public var neighbours = 64
    /// Cepstral coefficients compared in the search (c1…c`matchOrder`; c0, the level, is never compared): the
    /// coarse envelope shape that says which vowel it is. Default 10 (24: 0.45 dB worse MCD on VCC2016).
    public var matchOrder = 10
    /// Weight of the normalised ln F0 as one more search dimension (0 = timbre only). Default 0.
    public var pitchWeight: Float = 0
    /// Cutoff (Hz) of a high-pass (4th-order power response, −3 dB at the cutoff) on the envelope of the converted
    /// unvoiced frames; 0 = none. Default 300: an unvoiced frame's envelope in pauses and breaths is smoothed
    /// over a wide window from rumble below 50 Hz into a 200–500 Hz hump, and noise shaped by it reads as voiced
    /// at 50–75 Hz to Harvest (VCC2016 SM1→SF1 voicing agreement 79.4 → 85.7 %, SF1→SM1 90.0 → 91.4 % with the
    /// decoding's voicing; similarity and MCD within 0.02). Fricatives have little energy below 300 Hz.
    public var unvoicedHighPassHz = 300.0
    /// Width (Hz) of a moving average over frequency of the converted unvoiced frames' log envelope, before
    /// `unvoicedHighPassHz`; 0 = none. Default 400: a narrow resonance left in an unvoiced envelope makes the noise
    /// through it nearly periodic (VCC2016 SM1→SF1 voicing agreement 89.4 → 89.8 %, MCD 7.26 → 7.22 dB; SF1→SM1
    /// unchanged at 91.9 %; 800 Hz: 88.2 %, 7.18 dB).
    public var unvoicedSmoothingHz = 400.0
    /// Below this frequency (Hz) the converted unvoiced frames' envelope is held at most `unvoicedLowCeilingDB`
    /// above its mean log level over the octave above it; 0 = no ceiling. Default 800: noise has no low-frequency
    /// resonance, and the hump an unvoiced envelope carries there (rumble below 50 Hz smeared by the envelope
    /// analysis, breath) is left at 200–600 Hz by `unvoicedHighPassHz`, where Harvest reads the noise as voiced.
    /// VCC2016 voicing agreement pooled over the official ids and two held-out splits (15 takes a direction),
    /// with `unvoicedLowCeilingBelowLoudDB`: SM1→SF1 88.4 → 89.5 %, SF1→SM1 91.0 → 91.5 % (Harvest reading
    /// voice in the output where the conversion synthesised noise: 4.7 → 3.4 % and 3.7 → 3.1 % of the frames);
    /// every cut-off and margin tried, 600–1200 Hz and −4…+6 dB, gained in both directions; MCD 7.194 → 7.184 dB.
    public var unvoicedLowCeilingHz = 800.0
    /// See `unvoicedLowCeilingHz`. Default 3 (−4 dB: SM1→SF1 0.7 points less; +6 dB: 0.5 less).
    public var unvoicedLowCeilingDB = 3.0
    /// The low-band ceiling applies to unvoiced frames more than this far (dB) below the take's loud frames (95th
    /// percentile of the frame levels): pauses, breaths and weak consonants, where the false voicing was. Default
    /// 25: on all unvoiced frames the ceiling also reshaped loud fricatives and aspiration, and MCD rose (six-run
    /// mean 7.194 → 7.213 dB, SM1→SF1 split 2 7.93 → 8.04); gated at 25 dB MCD is 7.184 and the pooled agreement
    /// the same (SM1→SF1 89.5 %, SF1→SM1 91.5 %); gated at 35 dB SM1→SF1 kept only 88.8 %.
    public var unvoicedLowCeilingBelowLoudDB = 25.0
    /// Share of the per-coefficient statistics mapping (mean and deviation moved to the voice's) in the result,
    /// 0…1; the rest is the retrieved frames' average. Default 0.1 (measured on VCC2016 SM1↔SF1; statistics alone
    /// keep too much of the take's speaker detail).
    public var statisticsWeight: Float = 0.1
    /// Match the vocal-tract length first: scale the take's envelope frequencies by the ratio (0.8…1.25, up to 1.4
    /// for a clearly higher voice) that best aligns its average voiced spectrum with the voice's. Default true.
    public var matchVocalTract = true
    /// Smallest vocal-tract ratio searched. Default 0.8.
    public var minimumVocalTractRatio = 0.8
    /// Largest vocal-tract ratio searched. Default 1.25.
    public var maximumVocalTractRatio = 1.25
    /// Largest vocal-tract ratio searched when the voice's median F0 is more than `higherVoiceSemitones` above the
    /// take's (a higher voice, a shorter vocal tract: VCC2016 SM1 → SF1's best fits lie at 1.31–1.33). Default 1.4.
    public var maximumVocalTractRatioHigherVoice = 1.4
    /// See `maximumVocalTractRatioHigherVoice`. Default 4.
    public var higherVoiceSemitones = 4.0
    /// The vocal-tract ratio applied is the one nearest 1 whose spectral misfit is within this share of the best
    /// ratio's. Default 0.1 (with 64 neighbours, against the best fit alone: MCD us1→de1 8.09 → 7.90 dB, us1→us2
    /// 6.68 → 6.01, SF1→SM1 6.80 → 6.75, SM1→SF1 7.42 → 7.50; 0.03 changed next to nothing).
    public var vocalTractTolerance = 0.1
    /// Global-variance restoration exponent, 0…1: 0 keeps the averaged cepstra as they are, 1 scales their
    /// per-coefficient deviation to the voice's. Default 0.5.
    public var varianceRestoration: Float = 0.5
    /// Frames this far below the take's loud frames (dB) are silence: left as they are. Default 50.
    public var silenceDB = 50.0
    /// Fewest voiced (unvoiced) take frames for the take's own normalising statistics; below it the voice's are used.
    public var minimumStatisticsFrames = 100
    /// Vocoder analysis settings (`VoiceAnalysisOptions.voiceConversion`).
    public var analysis = VoiceAnalysisOptions.voiceConversion

    public init() {}
}

extension VoiceAnalysisOptions {
    /// The analysis voice training and conversion use: the defaults, with a more permissive voicing prior for the
    /// F0 tracker (pYIN threshold prior Beta(2, 4) instead of Beta(2, 18)). With the default prior the tracker
    /// marks only 30% of the frames of VCC2016 SM1 200002 voiced (harvest: 73%) and the resynthesis agrees with the
    /// source's voicing on 72% of frames (f0_compare, harvest); Beta(2, 4) gives 78-80%, Beta(2, 2) 85% but octave
    /// errors on strongly resonant voices (the tests' synthetic voices); Beta(2, 6) loses 0.04 similarity and 0.3-0.6 dB MCD on VCC2016.
    public static var voiceConversion: VoiceAnalysisOptions {
        var o = VoiceAnalysisOptions()
        o.pitch.thresholdPrior = (a: 2, b: 4)
        // The converted voice is read by Harvest-like listeners: voicing from the contour's continuity.
        o.pitch.voicing = VoicingDecisionOptions()
        // No voice-range prior: `VoicingDecision` was built on the single decoding, and with the prior the voicing
        // agreement (vc_eval vuv%, SM1→SF1 / SF1→SM1 on the official ids and two held-out splits of the training ids)
        // averaged 90.1 % against 90.7 % without it, similarity 0.754 against 0.758; MCD and F0 error mixed.
        o.pitch.rangeMarginOctaves = 0
        return o
    }
}

/// A note of the (transposed) take outside the voice's trained range.
public struct NoteOutsideRange: Codable, Sendable, Equatable {
    /// Note name, e.g. "C#5" (A4 = 440 Hz).
    public var note: String
    /// Time the take spends on it (s).
    public var seconds: Double
    /// "above" or "below" the trained range.
    public var direction: String
}

/// What a conversion did.
public struct ConversionReport: Codable, Sendable, Equatable {
    public var transposeSemitones: Double
    /// F0 range of the take after transposition (5th–95th percentile, Hz).
    public var takeP5Hz: Double?
    public var takeP95Hz: Double?
    /// The voice's trained range (1st–99th percentile of its F0, Hz).
    public var trainedLowHz: Double
    public var trainedHighHz: Double
    /// Notes of the transposed take outside the trained range, at least 50 ms each, lowest first.
    public var notesOutsideRange: [NoteOutsideRange]
    /// Share of the take's voiced time outside the trained range.
    public var outsideFraction: Double
    public var voicedFraction: Double
    /// Frequency scale applied to the take's envelopes to match the voice's vocal-tract length (1 = none).
    public var vocalTractRatio: Double = 1
    public var analysisSeconds: Double
    public var mappingSeconds: Double
    public var synthesisSeconds: Double
}

/// Turns a performance into a trained voice: F0 from the take (transposed), timbre from the voice model, phrasing
/// (level, timing, voicing) from the take.
///
/// Method (frame retrieval in a speaker-normalised space, after kNN-VC, Baas et al. 2023, and RVC's index):
/// the take is analysed with the vocoder at the model's rate; each frame's mel-cepstrum is normalised by the take's
/// own per-coefficient mean and deviation (voiced and unvoiced frames separately), the `neighbours` nearest bank
/// frames (normalised by the voice's statistics, Euclidean on c1…c`matchOrder`) are averaged in the log domain,
/// and the difference between that average and the take's cepstrum (c0, the level, excluded) is applied to the
/// take's envelope, scaled by `strength`. Voiced aperiodicity moves to the neighbours' average the same way.
/// The take's F0 contour is kept frame for frame (times `2^(transpose/12)`), so vibrato, slides and timing survive.
public struct VoiceConverter: Sendable {
    public let model: VoiceModel
    public var options: VoiceConversionOptions
    let cepstrum: MelCepstrum
    /// Search indexes over the banks' normalised keys.
    let voicedIndex: FrameIndex
    let unvoicedIndex: FrameIndex
    /// The vocal-tract ratio of the last `map` (for the report).
    let lastVocalTractRatio = RatioBox()

    final class RatioBox: @unchecked Sendable { var value = 1.0 }

    public init(model: VoiceModel, options: VoiceConversionOptions = VoiceConversionOptions()) {
        self.model = model
        self.options = options
        cepstrum = MelCepstrum(order: model.cepstrumOrder, pointCount: model.melPointCount, fftSize: model.fftSize,
                               sampleRate: model.sampleRate)
        let d = min(options.matchOrder, model.cepstrumOrder - 1)
        let pitch = options.pitchWeight > 0
        let vKeys = Self.keys(model.voicedCepstra, order: model.cepstrumOrder, dimension: d, stats: model.voicedStatistics,
                              logF0: model.voicedLogF0, f0Mean: model.logF0Mean, f0Deviation: model.logF0StandardDeviation,
                              pitchWeight: options.pitchWeight)
        voicedIndex = FrameIndex(keys: vKeys, count: model.voicedFrameCount, stride: d + (pitch ? 1 : 0), dimension: d + (pitch ? 1 : 0))
        let uKeys = Self.keys(model.unvoicedCepstra, order: model.cepstrumOrder, dimension: d, stats: model.unvoicedStatistics,
                              logF0: nil, f0Mean: 0, f0Deviation: 1, pitchWeight: 0)
        unvoicedIndex = FrameIndex(keys: uKeys, count: model.unvoicedFrameCount, stride: d, dimension: d)
    }

    var dimension: Int { min(options.matchOrder, model.cepstrumOrder - 1) }
    var usesPitchKey: Bool { options.pitchWeight > 0 }

    /// Search vectors: (c[1…d] − mean) / deviation, plus `pitchWeight`·(ln F0 − mean)/deviation when used.
    static func keys(_ cep: [Float], order: Int, dimension d: Int, stats: CepstralStatistics, logF0: [Float]?,
                     f0Mean: Float, f0Deviation: Float, pitchWeight: Float) -> [Float] {
        let n = cep.count / order
        let width = d + (logF0 != nil && pitchWeight > 0 ? 1 : 0)
        var out = [Float](repeating: 0, count: n * width)
        for i in 0..<n {
            for m in 0..<d { out[i * width + m] = (cep[i * order + m + 1] - stats.mean[m + 1]) / stats.standardDeviation[m + 1] }
            if let lf = logF0, pitchWeight > 0 { out[i * width + d] = pitchWeight * (lf[i] - f0Mean) / f0Deviation }
        }
        return out
    }

    /// The whole-octave transposition (semitones, a multiple of 12 in −36…36) that brings the take's median voiced
    /// F0 nearest the voice's median (in octaves); ties broken by the least mean distance outside the voice's
    /// 5th–95th percentile range. The medians decide, not the range fit: a voice trained on speech has a wide range
    /// (a female take fits inside a male voice's 5th–95th percentiles untransposed: VCC2016 SF1→SM1 kept 3 of 5
    /// takes at 0 that way), while the median is where the voice lives.
    public static func automaticTranspose(takeF0: [Float], range: PitchRange) -> Double {
        let lf = takeF0.filter { $0 > 0 }.map { log2(Double($0)) }
        guard !lf.isEmpty else { return 0 }
        let lo = log2(range.p5Hz), hi = log2(range.p95Hz), med = log2(range.medianHz)
        let takeMedian = lf.sorted()[lf.count / 2]
        var best = (distance: Double.infinity, outside: Double.infinity, k: 0)
        for k in -3...3 {
            let s = Double(k)
            let distance = abs(takeMedian + s - med)
            let outside = lf.reduce(0.0) { $0 + max(0, lo - ($1 + s), ($1 + s) - hi) } / Double(lf.count)
            if distance < best.distance - 1e-9 || (abs(distance - best.distance) <= 1e-9 && outside < best.outside) {
                best = (distance, outside, k)
            }
        }
        return Double(12 * best.k)
    }

    /// Note name of a frequency (A4 = 440 Hz, sharps).
    public static func noteName(hz: Double) -> String {
        let names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
        let midi = Int((69 + 12 * log2(hz / 440)).rounded())
        return "\(names[((midi % 12) + 12) % 12])\(midi / 12 - 1)"
    }

    /// Converts one take (mono or the mean of its channels). The result has the take's rate and length.
    ///
    /// - Throws: `AudioError` for an empty take, non-finite samples or a rate below 8 kHz.
    public func convert(_ take: AudioBuffer) throws -> (audio: AudioBuffer, report: ConversionReport) {
        guard take.frameCount > 0 else { throw AudioError(.empty, "no samples to convert") }
        if let bad = take.firstNonFinite() {
            throw AudioError(.nonFinite, "sample \(bad.frame) of channel \(bad.channel) is \(bad.value)")
        }
        let t0 = Date()
        let mono = AudioBuffer(channels: [monoSamples(take.channels)], sampleRate: take.sampleRate)
        let atModelRate = mono.sampleRate == model.sampleRate ? mono : try Resampler.resample(mono, to: model.sampleRate)
        var analysis = options.analysis
        analysis.pitch.framePeriod = model.framePeriod
        let features = bandFilled(try VoiceAnalyzer(options: analysis).analyze(atModelRate), takeRate: take.sampleRate)
        let t1 = Date()
        let levels = frameLevels(atModelRate.channels[0], sampleRate: model.sampleRate, framePeriod: features.framePeriod,
                                 count: features.frameCount)
        var me = self
        if options.transposeAutomatically {
            me.options.transposeSemitones = Self.automaticTranspose(takeF0: features.f0, range: model.pitchRange)
        }
        let converted = me.map(features, levels: levels, takeRate: take.sampleRate)
        let t2 = Date()
        var out = try Synthesizer().synthesize(converted, sampleRate: take.sampleRate)
        // Resampling can leave the length a sample off; the output keeps the take's length exactly.
        if out.frameCount != take.frameCount {
            var c = out.channels[0]
            if c.count > take.frameCount { c.removeLast(c.count - take.frameCount) } else { c += [Float](repeating: 0, count: take.frameCount - c.count) }
            out = AudioBuffer(channels: [c], sampleRate: take.sampleRate)
        }
        let t3 = Date()
        var report = me.rangeReport(converted.f0, framePeriod: converted.framePeriod)
        report.vocalTractRatio = lastVocalTractRatio.value
        report.voicedFraction = Double(converted.f0.filter { $0 > 0 }.count) / Double(max(1, converted.frameCount))
        report.analysisSeconds = t1.timeIntervalSince(t0)
        report.mappingSeconds = t2.timeIntervalSince(t1)
        report.synthesisSeconds = t3.timeIntervalSince(t2)
        return (out, report)
    }

    /// Converts the take in the file at `path` (mono or the mean of its channels) in bounded memory, handing the
    /// converted samples (mono, the take's rate) to `output` in order; in all, exactly the take's length.
    ///
    /// Two streaming passes over the file (three when it is longer than one analysis block): a cheap one for the
    /// F0 tracker's silence gate (the loudest frame); the statistics pass, which analyses the take at the model's
    /// rate and keeps per frame only its F0, level and cepstrum (4·(order + 2) bytes: 14 MB per 10 min at 5 ms),
    /// from which the whole-take figures are computed (loudness, vocal-tract ratio, automatic transposition,
    /// the take's statistics, each frame's neighbours and the global-variance restoration); then the conversion
    /// pass, which analyses the take again block by block, maps each block with those figures and synthesises
    /// it. A take of one block (`streaming.blockFrames`, 40 s by default) is analysed once and converted exactly
    /// as `convert` does. In a longer take the vocal-tract warp of the statistics is made on the cepstra (see
    /// `warpingCepstra`), so its figures are close to, not equal to, a whole-take analysis's.
    ///
    /// - Throws: `AudioError` for an unreadable or empty file, non-finite samples.
    public func convert(path: String, streaming: StreamingAnalysisOptions = StreamingAnalysisOptions(),
                        output: ([Float]) throws -> Void) throws -> ConversionReport {
        let takeInfo = try AudioFileReader(path: path).info
        let takeRate = Double(takeInfo.sampleRate)
        var analysis = options.analysis
        analysis.pitch.framePeriod = model.framePeriod
        func makeAnalyzer() throws -> StreamingVoiceAnalyzer {
            try StreamingVoiceAnalyzer(analyzer: VoiceAnalyzer(options: analysis), sampleRate: model.sampleRate, options: streaming)
        }
        /// The take as mono blocks at the model's rate, as `convert` resamples the whole take; returns their
        /// length (samples at the model's rate).
        func modelRateBlocks(_ body: (AudioBuffer) throws -> Void) throws -> Int {
            let reader = try AudioFileReader(path: path)
            let resampler = takeRate == model.sampleRate ? nil
                : try Resampler(inputRate: takeRate, outputRate: model.sampleRate, channelCount: 1)
            var count = 0
            func pass(_ b: AudioBuffer) throws { count += b.frameCount; try body(b) }
            while let block = try reader.read(maxFrames: 1 << 15) {
                let mono = AudioBuffer(channels: [monoSamples(block.channels)], sampleRate: takeRate)
                try pass(resampler?.process(mono) ?? mono)
            }
            if let r = resampler { try pass(r.finish()) }
            return count
        }
        let t0 = Date()
        var analyzer = try makeAnalyzer()
        // The F0 tracker's silence gate: the whole take's loudest frame, needed only when it spans several blocks.
        var loudest: Double?
        if Double(takeInfo.frameCount) / takeRate > Double(streaming.blockFrames) * model.framePeriod {
            let meter = try analyzer.makeLoudestFrameMeter()
            _ = try modelRateBlocks { meter.push($0) }
            loudest = meter.finish()
            analyzer.loudestFrameEnergy = loudest
        }
        // Statistics pass.
        var f0 = [Float](), cep = [Float](), single: VoiceFeatures?, blocks = 0
        let levelMeter = FrameLevelMeter(sampleRate: model.sampleRate, framePeriod: model.framePeriod)
        func keep(_ features: [VoiceFeatures]) {
            for b in features.map({ bandFilled($0, takeRate: takeRate) }) {
                precondition(b.fftSize == model.fftSize, "features must be analysed at the model's rate")
                f0 += b.f0
                cep += cepstrum.analyze(b)
                blocks += 1
                single = blocks == 1 ? b : nil
            }
        }
        let modelRateCount = try modelRateBlocks { b in
            levelMeter.push(b.channels[0])
            keep(try analyzer.push(b))
        }
        guard modelRateCount > 0 else { throw AudioError(.empty, "no samples to convert") }
        keep(try analyzer.finish())
        let levels = levelMeter.finish(frameCount: f0.count)
        let t1 = Date()
        // The whole-take figures.
        var me = self
        if options.transposeAutomatically {
            me.options.transposeSemitones = Self.automaticTranspose(takeF0: f0, range: model.pitchRange)
        }
        let active = me.activeFrames(levels: levels)
        let scale = options.matchVocalTract ? vocalTractRatio(cepstra: cep, f0: f0, active: active) : 1
        let warps = abs(scale - 1) > 0.005
        var exact: (features: VoiceFeatures, cepstra: [Float])?
        if let b = single {
            // One block: its warped cepstra exactly, as `map` computes them.
            let out = b.shiftingPitch(semitones: me.options.transposeSemitones)
            let warped = warps ? out.warpingFormants(ratio: scale) : out
            exact = (warped, warps ? cepstrum.analyze(warped) : cep)
            if warps { cep = exact!.cepstra }
        } else if warps {
            warpingCepstra(&cep, ratio: scale)
        }
        let bands = single?.bandCount ?? model.voicedAperiodicity.count / max(1, model.voicedFrameCount)
        var plan = me.frameTargets(&cep, f0: f0, active: active, bandCount: bands)
        plan.relativeLevels = me.relativeLevels(levels)
        var mappingTime = Date().timeIntervalSince(t1), synthesisTime = 0.0, analysisTime = t1.timeIntervalSince(t0)
        // Conversion pass: map each block with the whole-take figures, synthesise at the take's rate.
        let synthesizer = try StreamingSynthesizer(sampleRate: model.sampleRate, framePeriod: model.framePeriod, outputRate: takeRate)
        var written = 0
        func emit(_ y: [Float]) throws {
            let n = min(y.count, takeInfo.frameCount > 0 ? Int(takeInfo.frameCount) - written : y.count)
            guard n > 0 else { return }
            try output(n == y.count ? y : Array(y[..<n]))
            written += n
        }
        func convertBlock(_ out: VoiceFeatures, cepstra: [Float]) throws {
            let t = Date()
            var out = out
            me.apply(plan, to: &out, cepstra: cepstra, takeRate: takeRate)
            let t2 = Date()
            mappingTime += t2.timeIntervalSince(t)
            let y = try synthesizer.push(out)
            synthesisTime += Date().timeIntervalSince(t2)
            try emit(y)
        }
        func convertBlocks(_ blocks: [VoiceFeatures]) throws {
            for b in blocks {
                let t = Date()
                let shifted = bandFilled(b, takeRate: takeRate).shiftingPitch(semitones: me.options.transposeSemitones)
                let out = warps ? shifted.warpingFormants(ratio: scale) : shifted
                let c = cepstrum.analyze(out)
                analysisTime += Date().timeIntervalSince(t)
                try convertBlock(out, cepstra: c)
            }
        }
        if let exact {
            try convertBlock(exact.features, cepstra: exact.cepstra)
        } else {
            analyzer = try makeAnalyzer()
            analyzer.loudestFrameEnergy = loudest
            _ = try modelRateBlocks { b in
                let t = Date()
                let blocks = try analyzer.push(b)
                analysisTime += Date().timeIntervalSince(t)
                try convertBlocks(blocks)
            }
            try convertBlocks(try analyzer.finish())
        }
        let t3 = Date()
        try emit(try synthesizer.finish(sampleCount: modelRateCount))
        synthesisTime += Date().timeIntervalSince(t3)
        // Resampling can leave the length a sample off; the output keeps the take's length exactly.
        let length = Int(takeInfo.frameCount) > 0 ? Int(takeInfo.frameCount) : written
        if written < length { try output([Float](repeating: 0, count: length - written)) }
        let shiftedF0 = VoiceFeatures.shiftedF0(f0, semitones: me.options.transposeSemitones)
        var report = me.rangeReport(shiftedF0, framePeriod: model.framePeriod)
        report.vocalTractRatio = scale
        report.voicedFraction = Double(shiftedF0.filter { $0 > 0 }.count) / Double(max(1, shiftedF0.count))
        report.analysisSeconds = analysisTime
        report.mappingSeconds = mappingTime
        report.synthesisSeconds = synthesisTime
        return report
    }

    /// `features` (analysed at the model's rate) with the envelope held flat above the take's own band when the
    /// take's rate is below the model's (see `holdingEnvelope(above:)`); the band edge is 0.45 × the take's rate,
    /// inside the resampler's pass band.
    func bandFilled(_ features: VoiceFeatures, takeRate: Double) -> VoiceFeatures {
        takeRate < model.sampleRate ? features.holdingEnvelope(above: 0.45 * takeRate) : features
    }

    /// The transposition in the options, and the trained-range report for the transposed F0.
    func rangeReport(_ f0: [Float], framePeriod: Double) -> ConversionReport {
        let lo = model.pitchRange.p1Hz, hi = model.pitchRange.p99Hz
        var seconds = [Int: Double]()
        var voiced = 0, outside = 0
        for f in f0 where f > 0 {
            voiced += 1
            let hz = Double(f)
            guard hz < lo || hz > hi else { continue }
            outside += 1
            seconds[Int((69 + 12 * log2(hz / 440)).rounded()), default: 0] += framePeriod
        }
        let notes = seconds.filter { $0.value >= 0.05 }.sorted { $0.key < $1.key }.map { midi, s in
            let hz = 440 * pow(2, Double(midi - 69) / 12)
            return NoteOutsideRange(note: Self.noteName(hz: hz), seconds: (s * 1000).rounded() / 1000, direction: hz > hi ? "above" : "below")
        }
        let range = PitchRange(f0: f0)
        return ConversionReport(transposeSemitones: options.transposeSemitones, takeP5Hz: range?.p5Hz, takeP95Hz: range?.p95Hz,
                                trainedLowHz: lo, trainedHighHz: hi, notesOutsideRange: notes,
                                outsideFraction: Double(outside) / Double(max(1, voiced)), voicedFraction: 0,
                                analysisSeconds: 0, mappingSeconds: 0, synthesisSeconds: 0)
    }

    /// The converted features of a take analysed at the model's rate (`levels`: frame RMS in dBFS).
    /// `takeRate`: the rate the take was recorded at, when it was resampled up to the model's (its band sets where
    /// each frame's power is measured); default the features' own rate.
    public func map(_ features: VoiceFeatures, levels: [Float], takeRate: Double? = nil) -> VoiceFeatures {
        let takeRate = takeRate ?? features.sampleRate
        precondition(features.sampleRate == model.sampleRate && features.fftSize == model.fftSize,
                     "features must be analysed at the model's rate")
        let active = activeFrames(levels: levels)
        var out = features.shiftingPitch(semitones: options.transposeSemitones)
        var cep = cepstrum.analyze(features)
        // Vocal-tract length: warp the take's envelopes so its average voiced spectrum lines up with the voice's
        // (a global frequency scale, as in VTLN), then map what is left.
        let scale = options.matchVocalTract ? vocalTractRatio(cepstra: cep, f0: features.f0, active: active) : 1
        if abs(scale - 1) > 0.005 {
            out = out.warpingFormants(ratio: scale)
            cep = cepstrum.analyze(out)
        }
        lastVocalTractRatio.value = scale
        var targets = cep
        var plan = frameTargets(&targets, f0: features.f0, active: active, bandCount: features.bandCount)
        plan.relativeLevels = relativeLevels(levels)
        apply(plan, to: &out, cepstra: cep, takeRate: takeRate)
        return out
    }

    /// Frames to convert: those within `silenceDB` of the take's loud frames (95th percentile of `levels`); the
    /// rest are silence and stay as they are.
    func activeFrames(levels: [Float]) -> [Bool] {
        relativeLevels(levels).map { Double($0) > -options.silenceDB }
    }

    /// What the whole take decides for each of its frames, before any envelope is changed.
    struct FrameTargets {
        /// Target cepstrum per frame (`order` values, c0 the take's); meaningful where `mapped`.
        var cepstra: [Float]
        var mapped: [Bool]
        /// The neighbours' mean band aperiodicity per frame (`bandCount` values; used in voiced mapped frames).
        var aperiodicity: [Float]
        var bandCount: Int
        /// Each frame's level relative to the take's loud frames (dB, `relativeLevels(_:)`); empty = not known
        /// (the unvoiced low-band ceiling then applies to every unvoiced frame).
        var relativeLevels: [Float] = []
    }

    /// Frame levels (dBFS) relative to the take's loud frames (95th percentile), as `activeFrames` measures them.
    func relativeLevels(_ levels: [Float]) -> [Float] {
        let loud = percentile(levels, 0.95)
        return levels.map { $0 - loud }
    }

    /// The take-wide step of the mapping: the take's normalising statistics, each active frame's nearest voice
    /// frames and the global-variance restoration, over all frames of the take. `cep` (the take's cepstra after
    /// the vocal-tract warp, `frameCount × order`) is turned into the targets in place, so a long take holds
    /// one such array.
    func frameTargets(_ cep: inout [Float], f0: [Float], active: [Bool], bandCount B: Int) -> FrameTargets {
        let T = f0.count, M = model.cepstrumOrder
        let d = dimension
        // The take's own normalising statistics, per voicing class.
        func takeStats(voiced: Bool, fallback: CepstralStatistics) -> CepstralStatistics {
            var rows = [Float]()
            for i in 0..<T where active[i] && (f0[i] > 0) == voiced { rows += cep[(i * M)..<((i + 1) * M)] }
            guard rows.count / M >= options.minimumStatisticsFrames else { return fallback }
            return rows.withUnsafeBufferPointer { CepstralStatistics(rows: $0, order: M) }
        }
        let sv = takeStats(voiced: true, fallback: model.voicedStatistics)
        let su = takeStats(voiced: false, fallback: model.unvoicedStatistics)
        let strength = Float(max(0, min(1, options.strength)))
        let k = max(1, options.neighbours)
        let f0Shift = Float(options.transposeSemitones / 12 * M_LN2)
        let me = self
        let apModel = model.voicedAperiodicity, cepModel = model.voicedCepstra, uCepModel = model.unvoicedCepstra
        // Pass 1: each active frame's target cepstrum (c0 stays the take's) and the neighbours' aperiodicity.
        var isMapped = [Bool](repeating: false, count: T)
        var apTargets = [Float](repeating: 0, count: T * B)
        cep.withUnsafeMutableBufferPointer { mb in
            isMapped.withUnsafeMutableBufferPointer { fb in
                apTargets.withUnsafeMutableBufferPointer { apb in
                    let mp = SharedPointer(mb.baseAddress!), flag = SharedPointer(fb.baseAddress!), ap = SharedPointer(apb.baseAddress!)
                    parallelRanges(T, minimumPerJob: 128) { range in
                        let query = UnsafeMutablePointer<Float>.allocate(capacity: d + 1)
                        query.initialize(repeating: 0, count: d + 1)
                        // The frame's own cepstrum: its row is overwritten by the target.
                        let c = UnsafeMutablePointer<Float>.allocate(capacity: M)
                        var best = [(Float, Int)](repeating: (0, 0), count: k)
                        // The previous frame's neighbours (same voicing) make the search's starting bound.
                        var hint = [(Float, Int)](repeating: (0, 0), count: k)
                        var hintCount = 0, hintVoiced = false
                        defer { query.deallocate(); c.deallocate() }
                        for i in range where active[i] && strength > 0 {
                            let voiced = f0[i] > 0
                            let stats = voiced ? sv : su
                            let target = mp.pointer + i * M
                            c.update(from: target, count: M)
                            for m in 0..<d { query[m] = (c[m + 1] - stats.mean[m + 1]) / stats.standardDeviation[m + 1] }
                            if voiced && me.usesPitchKey {
                                query[d] = me.options.pitchWeight * (logf(f0[i]) + f0Shift - me.model.logF0Mean) / me.model.logF0StandardDeviation
                            }
                            let count = voiced ? me.model.voicedFrameCount : me.model.unvoicedFrameCount
                            guard count > 0 else { continue }
                            let found = (voiced ? me.voicedIndex : me.unvoicedIndex)
                                .nearest(query, k: k, best: &best, hint: hintVoiced == voiced ? hint[0..<hintCount] : [])
                            for j in 0..<found { hint[j] = best[j] }
                            hintCount = found
                            hintVoiced = voiced
                            let tStats = voiced ? me.model.voicedStatistics : me.model.unvoicedStatistics
                            let mix = me.options.statisticsWeight
                            (voiced ? cepModel : uCepModel).withUnsafeBufferPointer { bb in
                                target[0] = c[0]
                                for m in 1..<M {
                                    var s: Float = 0
                                    for j in 0..<found { s += bb[best[j].1 * M + m] }
                                    let moved = tStats.mean[m] + (c[m] - stats.mean[m]) * tStats.standardDeviation[m] / stats.standardDeviation[m]
                                    target[m] = (1 - mix) * s / Float(found) + mix * moved
                                }
                            }
                            flag.pointer[i] = true
                            if voiced {
                                apModel.withUnsafeBufferPointer { ab in
                                    for band in 0..<B {
                                        var s: Float = 0
                                        for j in 0..<found { s += ab[best[j].1 * B + band] }
                                        ap.pointer[i * B + band] = s / Float(found)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Pass 2: global variance (Toda et al. 2007): averaging neighbours shrinks the frame-to-frame variation of
        // the cepstra (a muffled, less present voice); scale each coefficient's deviation from the take's mapped
        // mean back towards the voice's own deviation.
        if options.varianceRestoration > 0 {
            for voiced in [true, false] {
                let frames = (0..<T).filter { isMapped[$0] && (f0[$0] > 0) == voiced }
                guard frames.count >= options.minimumStatisticsFrames else { continue }
                var rows = [Float]()
                rows.reserveCapacity(frames.count * M)
                for i in frames { rows += cep[(i * M)..<((i + 1) * M)] }
                let got = rows.withUnsafeBufferPointer { CepstralStatistics(rows: $0, order: M) }
                rows = []
                let want = voiced ? model.voicedStatistics : model.unvoicedStatistics
                let gains = (0..<M).map { m in powf(want.standardDeviation[m] / got.standardDeviation[m], options.varianceRestoration) }
                for i in frames {
                    for m in 1..<M { cep[i * M + m] = got.mean[m] + (cep[i * M + m] - got.mean[m]) * gains[m] }
                }
            }
        }
        let targets = cep
        cep = []
        return FrameTargets(cepstra: targets, mapped: isMapped, aperiodicity: apTargets, bandCount: B)
    }

    /// The frame step of the mapping: moves the aperiodicity of `out` (frames `out.firstFrame…` of the take, pitch
    /// shifted and vocal-tract warped; `cep` their cepstra) to the targets and applies the cepstral change to its
    /// envelope (the detail beyond the cepstrum's order stays), then the formant shift.
    func apply(_ targets: FrameTargets, to out: inout VoiceFeatures, cepstra takeCepstra: [Float], takeRate: Double) {
        let T = out.frameCount, M = model.cepstrumOrder, bins = out.binCount, B = out.bandCount
        let keepsPower = takeRate < out.sampleRate
        let powerBins = min(bins, Int(0.45 * takeRate * Double(out.fftSize) / out.sampleRate) + 1)
        let first = out.firstFrame
        precondition(B == targets.bandCount && first + T <= targets.mapped.count, "block outside the planned take")
        let strength = Float(max(0, min(1, options.strength)))
        let formant = options.formantRatio
        let me = self
        let unvoicedCut = options.unvoicedHighPassHz
        let binHz = out.sampleRate / Double(out.fftSize)
        // The high-pass's gain per bin (`strength` applied), the same for every unvoiced frame.
        let highPassGain: [Float] = unvoicedCut > 0 && strength > 0 ? (0..<bins).map { b in
            let r = Float(Double(b) * binHz / unvoicedCut)
            let r4 = r * r * r * r
            return powf(r4 / (1 + r4), strength)
        } : []
        let smoothHalf = options.unvoicedSmoothingHz > 0 ? max(1, Int(options.unvoicedSmoothingHz / binHz / 2)) : 0
        // The low-band ceiling's bins: below `ceilingBins`, referenced to the octave above.
        let ceilingBins = options.unvoicedLowCeilingHz > 0 ? min(bins / 2, max(1, Int(options.unvoicedLowCeilingHz / binHz))) : 0
        let gateDB = Float(-options.unvoicedLowCeilingBelowLoudDB)
        let ceilingGain = expf(Float(options.unvoicedLowCeilingDB) * logf(10) / 10)
        let out0 = out.f0
        for i in 0..<T where targets.mapped[first + i] && out.f0[i] > 0 {
            for band in 0..<B {
                let a = out.bandAperiodicity[i * B + band]
                out.bandAperiodicity[i * B + band] = a + strength * (min(0, targets.aperiodicity[(first + i) * B + band]) - a)
            }
        }
        out.envelope.withUnsafeMutableBufferPointer { envb in
            let env = SharedPointer(envb.baseAddress!)
            parallelRanges(T, minimumPerJob: 128) { range in
                let delta = UnsafeMutablePointer<Float>.allocate(capacity: M)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: me.cepstrum.scratchCount)
                let logDelta = UnsafeMutablePointer<Float>.allocate(capacity: bins)
                let warped = UnsafeMutablePointer<Float>.allocate(capacity: bins)
                let acc = UnsafeMutablePointer<Double>.allocate(capacity: bins + 1)
                defer { delta.deallocate(); scratch.deallocate(); logDelta.deallocate(); warped.deallocate(); acc.deallocate() }
                for i in range {
                    let row = env.pointer + i * bins
                    if targets.mapped[first + i] {
                        delta[0] = 0
                        for m in 1..<M { delta[m] = strength * (targets.cepstra[(first + i) * M + m] - takeCepstra[i * M + m]) }
                        me.cepstrum.logDifference(delta, scratch: scratch, into: logDelta)
                        // A take from below the model's rate: its envelope above its own band is only held flat
                        // (`bandFilled`), so the log-mean level (c0) that the cepstral change keeps is not the
                        // take's level; the frame's power in the take's band is kept instead (measured: without it
                        // 16 kHz speech converted into a 44.1 kHz voice came out 4–8 dB louder than the take,
                        // peaks to 3.4 × full scale; before the fill, 15 dB quieter with bursts to 7.7 ×). At the
                        // model's own rate the c0 rule stays: keeping the power there cost VCC2016 SF1→SM1
                        // similarity 0.798 → 0.730.
                        var before: Float = 0, after: Float = 0
                        if keepsPower { for b in 0..<powerBins { before += row[b] } }
                        for b in 0..<bins { row[b] *= expf(logDelta[b]) }
                        if keepsPower { for b in 0..<powerBins { after += row[b] } }
                        if after > 0 && before > 0 {
                            let g = before / after
                            for b in 0..<bins { row[b] *= g }
                        }
                    }
                    if formant != 1 {
                        for b in 0..<bins { warped[b] = row[b] }
                        VoiceFeatures.warpEnvelope(UnsafeBufferPointer(start: warped, count: bins), ratio: formant,
                                                   into: UnsafeMutableBufferPointer(start: row, count: bins))
                    }
                    // Unvoiced frames: shaped in proportion to `strength` (0 = the take's envelope untouched).
                    if smoothHalf > 0 && out0[i] <= 0 && strength > 0 {
                        // Log envelope averaged over ±smoothHalf bins (prefix sums).
                        acc[0] = 0
                        for b in 0..<bins { acc[b + 1] = acc[b] + Double(logf(row[b] + 1e-20)) }
                        for b in 0..<bins {
                            let lo = max(0, b - smoothHalf), hi = min(bins, b + smoothHalf + 1)
                            let smooth = Float((acc[hi] - acc[lo]) / Double(hi - lo))
                            let own = Float(acc[b + 1] - acc[b])
                            row[b] = expf(own + strength * (smooth - own))
                        }
                    }
                    if ceilingBins > 0 && out0[i] <= 0 && strength > 0
                        && (targets.relativeLevels.isEmpty || targets.relativeLevels[first + i] < gateDB) {
                        var sum: Float = 0
                        for b in ceilingBins..<(2 * ceilingBins) { sum += logf(row[b] + 1e-20) }
                        let ceiling = ceilingGain * expf(sum / Float(ceilingBins))
                        // `strength` moves the ceiling's effect in the log domain, as the other unvoiced shaping.
                        for b in 0..<ceilingBins where row[b] > ceiling {
                            row[b] = expf(logf(row[b]) + strength * (logf(ceiling) - logf(row[b])))
                        }
                    }
                    if !highPassGain.isEmpty && out0[i] <= 0 {
                        highPassGain.withUnsafeBufferPointer { g in for b in 0..<bins { row[b] *= g[b] } }
                    }
                }
            }
        }
    }

    /// Cepstra (`frameCount × order`, in place) of the envelopes they describe with the frequency axis scaled by
    /// `ratio`, computed from the cepstra alone (back to a smooth envelope, warped, analysed again): the
    /// vocal-tract warp for a take too long to hold its envelopes. The envelopes' detail beyond the cepstrum's
    /// order is lost, so this is close to, not equal to, the cepstra of the warped envelopes.
    func warpingCepstra(_ cep: inout [Float], ratio: Double) {
        let M = model.cepstrumOrder, bins = cepstrum.binCount, T = cep.count / M
        let me = self
        cep.withUnsafeMutableBufferPointer { cb in
            let c = SharedPointer(cb.baseAddress!)
            parallelRanges(T, minimumPerJob: 256) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: me.cepstrum.scratchCount)
                let env = UnsafeMutablePointer<Float>.allocate(capacity: bins)
                let warped = UnsafeMutablePointer<Float>.allocate(capacity: bins)
                defer { scratch.deallocate(); env.deallocate(); warped.deallocate() }
                for i in range {
                    let row = c.pointer + i * M
                    me.cepstrum.logDifference(row, scratch: scratch, into: env)
                    for b in 0..<bins { env[b] = expf(env[b]) }
                    VoiceFeatures.warpEnvelope(UnsafeBufferPointer(start: env, count: bins), ratio: ratio,
                                               into: UnsafeMutableBufferPointer(start: warped, count: bins))
                    me.cepstrum.analyze(envelope: warped, scratch: scratch, into: row)
                }
            }
        }
    }

    /// The envelope frequency ratio (take → voice) that best aligns the take's mean voiced log spectrum with the
    /// voice's, 150 Hz to 5 kHz on a log-frequency axis: least squares after removing level and tilt, ratios 0.8…1.25 on a
    /// 0.01 grid (up to `maximumVocalTractRatioHigherVoice` for a voice whose median F0 is more than
    /// `higherVoiceSemitones` above the take's); of the ratios within `vocalTractTolerance` of the best fit, the one
    /// nearest 1.
    func vocalTractRatio(cepstra cep: [Float], f0: [Float], active: [Bool]) -> Double {
        let M = model.cepstrumOrder, bins = cepstrum.binCount
        var mean = [Float](repeating: 0, count: M)
        var n = 0
        for i in 0..<f0.count where f0[i] > 0 && active[i] {
            for m in 0..<M { mean[m] += cep[i * M + m] }
            n += 1
        }
        guard n >= options.minimumStatisticsFrames else { return 1 }
        for m in 0..<M { mean[m] /= Float(n) }
        var take = [Float](repeating: 0, count: bins), voice = [Float](repeating: 0, count: bins)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cepstrum.scratchCount)
        defer { scratch.deallocate() }
        cepstrum.logDifference(mean, scratch: scratch, into: &take)
        cepstrum.logDifference(model.voicedStatistics.mean, scratch: scratch, into: &voice)
        let hzPerBin = model.sampleRate / Double(model.fftSize)
        let lowHz = 150.0, highHz = min(5000, 0.45 * model.sampleRate)
        var fits = [(error: Double, ratio: Double)]()
        // The range extends upwards for a clearly higher voice only: extending it downwards for a lower one
        // measured no better on VCC2016 SF1 → SM1 (+0.02 dB MCD) and worse on MBROLA us1 → us2 (+0.24 dB; a
        // misfit at 1.12 on one phrase).
        var maximum = options.maximumVocalTractRatio
        if let take = PitchRange(f0: f0), 12 * log2(model.pitchRange.medianHz / take.medianHz) > options.higherVoiceSemitones {
            maximum = max(maximum, options.maximumVocalTractRatioHigherVoice)
        }
        let steps = Int(((maximum - options.minimumVocalTractRatio) / 0.01).rounded())
        for step in 0...steps {
            let ratio = options.minimumVocalTractRatio + 0.01 * Double(step)
            var diffs = [Double]()
            diffs.reserveCapacity(100)
            for q in 0..<100 {
                // Log-spaced frequencies: every octave counts the same (linear bins would let 2-5 kHz dominate).
                let f = lowHz * pow(highHz / lowHz, Double(q) / 99)
                let kf = f / hzPerBin
                let k = Int(kf.rounded())
                let pos = kf / ratio
                let j = Int(pos)
                guard j + 1 < bins else { break }
                let w = Float(pos - Double(j))
                diffs.append(Double(take[j] * (1 - w) + take[j + 1] * w - voice[k]))
            }
            // Remove the best line in log frequency (level and spectral tilt differ for reasons other than the
            // vocal tract: voice effort, microphone), then compare shapes.
            let n = Double(diffs.count)
            guard n > 2 else { continue }
            let xm = (n - 1) / 2
            let mu = diffs.reduce(0, +) / n
            var sxy = 0.0, sxx = 0.0
            for (x, y) in diffs.enumerated() { sxy += (Double(x) - xm) * (y - mu); sxx += (Double(x) - xm) * (Double(x) - xm) }
            let slope = sxy / sxx
            var err = 0.0
            for (x, y) in diffs.enumerated() { let r = y - mu - slope * (Double(x) - xm); err += r * r }
            fits.append((err, ratio))
        }
        // The least warp that fits almost as well as the best: the best fit alone follows the take's vowel mix as
        // much as its vocal tract (us1 -> de1, two women: 1.03 on one phrase, 1.19 on another).
        guard let best = fits.map(\.error).min() else { return 1 }
        let tolerance = best * (1 + options.vocalTractTolerance)
        return fits.filter { $0.error <= tolerance }.min { abs(log($0.ratio)) < abs(log($1.ratio)) }?.ratio ?? 1
    }
}

/// Frame levels of a signal streamed in blocks: each frame's RMS (dBFS, floor −140) over ±5 ms around its centre,
/// holding only the samples the next frames still need (`frameLevels` runs it over a whole signal).
final class FrameLevelMeter {
    private let sampleRate: Double
    private let framePeriod: Double
    private let half: Int
    private var samples: [Float] = []
    private var offset = 0            // signal index of samples[0]
    private var nextFrame = 0
    private var levels: [Float] = []

    init(sampleRate: Double, framePeriod: Double) {
        self.sampleRate = sampleRate
        self.framePeriod = framePeriod
        half = max(1, Int(0.005 * sampleRate))
    }

    func push(_ x: [Float]) {
        samples += x
        measure(upTo: .max, final: false)
    }

    /// Levels of the first `frameCount` frames (the signal has ended).
    func finish(frameCount: Int) -> [Float] {
        measure(upTo: frameCount, final: true)
        return Array(levels.prefix(frameCount))
    }

    private func measure(upTo count: Int, final: Bool) {
        let end = offset + samples.count
        while nextFrame < count {
            let c = Int((Double(nextFrame) * framePeriod * sampleRate).rounded())
            if !final && c + half > end { break }
            // The window clipped to the signal, summed in order.
            let a = max(0, c - half), b = min(end, c + half)
            if b > a {
                let e = samples.withUnsafeBufferPointer { s in
                    var e: Float = 0
                    for n in (a - offset)..<(b - offset) { e += s[n] * s[n] }
                    return e
                }
                levels.append(max(-140, 10 * log10f(e / Float(b - a) + 1e-20)))
            } else {
                levels.append(-140)
            }
            nextFrame += 1
        }
        let keep = min(end, max(offset, Int((Double(nextFrame) * framePeriod * sampleRate).rounded()) - half))
        samples.removeFirst(keep - offset)
        offset = keep
    }
}
