import Foundation
import VoxAudio
import VoxSpectral

/// Settings of the F0 tracker. The defaults suit singing and speech from 50 Hz bass to 1100 Hz soprano.
public struct PitchTrackerOptions: Sendable, Equatable {
    /// Lowest F0 searched (Hz). Default 50.
    public var minimumF0 = 50.0
    /// Highest F0 searched (Hz). Default 1100.
    public var maximumF0 = 1100.0
    /// Time between frames (s); frame `i` is centred at `i · framePeriod`. Default 0.005 (5 ms, WORLD's grid).
    public var framePeriod = 0.005
    /// The signal is resampled to this rate (when it is higher) before tracking: F0 and its first harmonics
    /// are far below 8 kHz, and the difference function costs O(rate). Default 16000 Hz.
    public var analysisRate = 16000.0
    /// Integration window of the difference function (s). Default 0.025: longer than one period at 50 Hz (YIN
    /// needs W ≥ T), short enough to follow vibrato.
    public var windowDuration = 0.025
    /// Beta(a, b) prior over YIN thresholds that shares a frame's voiced probability among its candidates
    /// (pYIN, Mauch & Dixon 2014: each dip gets the mass of the thresholds for which it is the first dip below).
    /// Default (2, 18), pYIN's: mean 0.1, which keeps shallow dips at a higher octave from winning.
    public var thresholdPrior = (a: 2.0, b: 18.0)
    /// Beta(a, b) prior over thresholds for the voicing decision: a frame's voiced probability is the mass of
    /// thresholds above its deepest dip. Default (2, 2), mean 0.5: more liberal than pYIN, because breathy onsets,
    /// voiced consonants and soft notes are voice the vocoder must keep periodic (vocadito S1 resynthesis MCD
    /// 2.61 dB with pYIN's single (2, 18) prior, 2.15 with (2, 2); white noise stays unvoiced).
    public var voicingPrior = (a: 2.0, b: 2.0)
    /// Prior odds for voiced over unvoiced, multiplying each frame's voiced/unvoiced probability ratio. Default 1
    /// (report only confident F0). `VoiceAnalysisOptions` uses 100 for the vocoder: weakly periodic voice
    /// (voiced consonants, breathy offsets; periodicity 0.3–0.6) is then kept periodic, as Harvest does, instead
    /// of being resynthesised as noise (resynthesis MCD, VCTK p225_003: 3.18 dB with 1, 3.09 with 16, 2.98 with
    /// 100, 3.03 with 1000; vocadito S11 2.10 / 2.07 / 2.12 dB for 16 / 100 / 1000).
    public var voicedOdds = 1.0
    /// A dip of the difference function at a lag below the shortest period searched (a periodicity above
    /// `maximumF0`: a narrow resonance or whistle dominating the frame, or high-frequency noise) with a value below
    /// this marks the candidates at its multiples as aliases: each gets their whole first-dip probability and the
    /// decoding's continuity chooses among them; 0 = off. Default 0.7 (resynthesis voicing, LibriSpeech 10 files:
    /// resynthesis MCD 3.35 → 3.24 dB, Resemblyzer 0.950 → 0.948; VCTK 2.88 → 2.81 dB; sung sets unchanged).
    public var aliasMaximumValue = 0.7
    /// Probability per frame of switching between voiced and unvoiced in the Viterbi decoding. Default 0.01.
    public var voicingSwitchProbability = 0.01
    /// Pitch-jump cost scale (cents per nat) of the Viterbi decoding: a jump of this size between consecutive
    /// frames costs as much as a factor e in emission probability. Default 100 (a semitone per frame is cheap,
    /// an octave costs e^-12, so only a sustained change of candidate wins).
    public var jumpCents = 100.0
    /// Frames quieter than this relative to the loudest frame are unvoiced (dB). Default −50.
    public var silenceDB = -50.0
    /// Refine each voiced F0 from the instantaneous frequencies of its first harmonics (StoneMask, Morise
    /// 2009). Default true.
    public var refine = true
    /// Length of the refinement's Blackman window in periods of the F0 being refined. Default 4: a narrower main
    /// lobe separates the harmonics better than StoneMask's 3 periods (median error, parallel set 0.70 → 0.66 cents,
    /// vocadito S1 2.03 → 1.96; 5 periods: 0.68 / 1.95).
    public var refinementWindowPeriods = 4.0
    /// Refinement passes: the first from the fundamental and second harmonic (it fixes the harmonics' bins), the
    /// others from up to 6 harmonics, each starting from the previous estimate. Default 3 (one more than StoneMask:
    /// vocadito S1 GPE 2.51 → 2.41 %, median 1.96 → 1.95 cents with the 4-period window).
    public var refinementPasses = 3
    /// Half-width (frames) of the triangular smoothing of log F0 within voiced runs, after refinement; 0 = none.
    /// Default 2 (±10 ms at 5 ms frames): removes frame-to-frame jitter of the refinement on real voices
    /// (vocadito S1: median error 2.5 → 2.0 cents) without flattening vibrato (parallel set: 0.58 → 0.69 cents;
    /// 3 frames: 0.92, worse than Harvest's 0.84).
    public var smoothingFrames = 2
    /// Cutoff (Hz) of the zero-phase high-pass applied before tracking (at most 0.8 · `minimumF0`); 0 = none.
    /// Default 40:
    /// room rumble and breath pops 30–40 dB above a weak voice otherwise leave its difference function without a
    /// periodic dip (VCC2016 SF1 has 0–80 Hz rumble) and pull the refinement's fundamental bin.
    public var highPassHz = 40.0
    /// Longest unvoiced run (frames) between two voiced frames less than an octave apart that is voiced, F0
    /// interpolated in log frequency; 0 = none. Default 10 (50 ms), as Harvest fills short gaps: fast transitions and
    /// voiced stops inside a voiced stretch lose the difference function's periodicity but are still voice.
    public var gapFillFrames = 10
    /// Frames each voiced run is extended by at both ends, F0 held (only into frames above the silence gate);
    /// 0 = none. Default 2 (10 ms): onsets and offsets are voiced slightly beyond where the dip becomes deep.
    public var edgeExtensionFrames = 2
    /// Margin (octaves) added on both sides of the voice's range (see `rangeQuantile`) before candidates outside it
    /// are charged `1200 / jumpCents` nats per octave beyond it (relative to the frame's least-charged candidate), and
    /// the track decoded again; 0 = no range prior (`PitchRangePrior`). Default 0.35: rumble below a voice, creaky
    /// subharmonics and resonance aliases far above it lose to an in-range candidate, while a singer's own range is
    /// covered by the quantiles (LibriSpeech resynthesis MCD, 3 files per reader, with the hum notches: 3.147 dB
    /// without the prior, 3.048 with 0.5 octaves, 3.006 with 0.35, 2.995 with 0.35 and `rangeQuantile` 0.1; sung
    /// sets' F0 the same for all three).
    public var rangeMarginOctaves = 0.35
    /// The voice's range: this and 1 − this energy-weighted quantile of log F0 over the first decoding's voiced frames
    /// with periodicity at least `rangeMinimumPeriodicity`. Default 0.1 (0.05: see `rangeMarginOctaves`).
    public var rangeQuantile = 0.1
    /// Periodicity a frame of the first decoding needs to count in the range estimate. Default 0.7.
    public var rangeMinimumPeriodicity: Float = 0.7
    /// Remove stationary tones (mains hum and its harmonics, 45–500 Hz) with notches before tracking (`HumFilter`).
    /// Default true: a hum 10 dB below a voice otherwise pulls its F0 to a compromise lag (a 200 Hz voice read as 63 Hz).
    public var removeHum = true
    /// Voicing from the continuity of the refined contour (`VoicingDecision`, after Harvest's contour fixing) instead
    /// of the decoding's voicing with `gapFillFrames` and `edgeExtensionFrames`; nil = the latter. Default nil;
    /// `VoiceAnalysisOptions.voiceConversion` sets it (its output is read by Harvest).
    public var voicing: VoicingDecisionOptions? = nil

    public init() {}

    public static func == (l: Self, r: Self) -> Bool {
        l.minimumF0 == r.minimumF0 && l.maximumF0 == r.maximumF0 && l.framePeriod == r.framePeriod
            && l.analysisRate == r.analysisRate && l.windowDuration == r.windowDuration
            && l.thresholdPrior.a == r.thresholdPrior.a && l.thresholdPrior.b == r.thresholdPrior.b
            && l.voicingPrior.a == r.voicingPrior.a && l.voicingPrior.b == r.voicingPrior.b && l.voicedOdds == r.voicedOdds
            && l.voicingSwitchProbability == r.voicingSwitchProbability && l.jumpCents == r.jumpCents
            && l.silenceDB == r.silenceDB && l.refine == r.refine && l.refinementWindowPeriods == r.refinementWindowPeriods
            && l.refinementPasses == r.refinementPasses && l.smoothingFrames == r.smoothingFrames
            && l.highPassHz == r.highPassHz && l.gapFillFrames == r.gapFillFrames
            && l.edgeExtensionFrames == r.edgeExtensionFrames && l.aliasMaximumValue == r.aliasMaximumValue
            && l.rangeMarginOctaves == r.rangeMarginOctaves && l.rangeQuantile == r.rangeQuantile
            && l.rangeMinimumPeriodicity == r.rangeMinimumPeriodicity && l.removeHum == r.removeHum
            && l.voicing == r.voicing
    }

    func validate() throws {
        guard minimumF0 > 0, maximumF0 > minimumF0 * 1.5, framePeriod > 0, framePeriod <= 0.1, highPassHz >= 0,
              refinementWindowPeriods >= 1, refinementWindowPeriods <= 16, refinementPasses >= 1,
              gapFillFrames >= 0, edgeExtensionFrames >= 0, aliasMaximumValue >= 0,
              analysisRate >= 4 * maximumF0, windowDuration > 0 else {
            throw AudioError(.invalidArgument, "pitch tracker: need 0 < minimumF0 < maximumF0/1.5, 0 < frame period ≤ 0.1 s, analysis rate ≥ 4·maximumF0, high-pass, gap fill and edge extension ≥ 0, refinement window 1–16 periods, ≥ 1 refinement pass")
        }
        guard voicing?.validate() ?? true else {
            throw AudioError(.invalidArgument, "voicing decision: need continuity tolerance > 0, ≥ 1 core frame, ≥ 1 extension miss frame, extension tolerance, extension length, section periods and gap fill ≥ 0")
        }
    }
}

/// An F0 contour on a regular frame grid.
public struct PitchTrack: Sendable, Equatable {
    /// Time between frames (s); frame `i` is centred at `i · framePeriod`.
    public var framePeriod: Double
    /// F0 per frame (Hz); 0 in unvoiced frames.
    public var f0: [Float]
    /// Periodicity per frame in [0, 1]: 1 − the cumulative-mean-normalised difference at the chosen period
    /// (1 = perfectly periodic). In unvoiced frames, that of the best candidate (0 when there is none).
    public var confidence: [Float]

    public init(framePeriod: Double, f0: [Float], confidence: [Float]) {
        precondition(f0.count == confidence.count)
        self.framePeriod = framePeriod
        self.f0 = f0
        self.confidence = confidence
    }

    public var frameCount: Int { f0.count }
    /// Voicing decision per frame (`f0 > 0`).
    public var voiced: [Bool] { f0.map { $0 > 0 } }
    /// Centre time of frame `i` (s).
    public func time(ofFrame i: Int) -> Double { Double(i) * framePeriod }
}

/// F0 tracking with voicing and a per-frame confidence, for singing and speech.
///
/// The signal is first high-passed below the lowest F0 (rumble hides weak voice from the difference function), and
/// stationary tones (mains hum) are notched out (`HumFilter`): both are periodic to the difference function.
/// Then four stages:
/// 1. **Candidates** (pYIN, Mauch & Dixon 2014): per frame the cumulative-mean-normalised difference function of
///    YIN (de Cheveigné & Kawahara 2002), computed with FFT cross-correlation on a 16 kHz copy; its dips are
///    candidate periods, and each gets the probability that it is the first dip below a threshold drawn from a
///    Beta prior (YIN's "first dip" rule is what keeps sub-octave dips from winning).
/// 2. **Decoding**: Viterbi over the candidates plus an unvoiced state; a pitch jump costs in proportion to its
///    size in cents, a voicing switch costs a fixed penalty. Octave errors that last only a few frames lose.
///    A second decoding charges candidates outside the voice's own range, estimated from the first decoding's loud,
///    periodic frames (`PitchRangePrior`): runs of weak frames at rumble, subharmonic or alias F0s lose too.
///    Short unvoiced gaps inside voiced stretches are then voiced and voiced runs extended by a frame or two, as
///    Harvest does: weak, fast transitions and onsets are voice to the vocoder even when no dip is deep.
/// 3. **Refinement** (StoneMask, Morise et al. 2009): the instantaneous frequencies of the first harmonics,
///    from a Blackman window four periods long, averaged weighted by amplitude; three passes.
/// 4. **Smoothing**: a short triangular average of log F0 within voiced runs (as Harvest smooths its contour).
public struct PitchTracker: Sendable {
    public var options: PitchTrackerOptions

    public init(options: PitchTrackerOptions = PitchTrackerOptions()) { self.options = options }

    /// Tracks the mean of `buffer`'s channels.
    public func track(_ buffer: AudioBuffer) throws -> PitchTrack {
        try track(samples: monoSamples(buffer.channels), sampleRate: buffer.sampleRate)
    }

    /// Tracks a mono signal. Frames: `Int(samples.count / sampleRate / framePeriod) + 1`.
    public func track(samples: [Float], sampleRate: Double) throws -> PitchTrack {
        try options.validate()
        let frameCount = worldFrameCount(sampleCount: samples.count, sampleRate: sampleRate, framePeriod: options.framePeriod)
        var x = samples
        var rate = sampleRate
        if sampleRate > options.analysisRate * 1.01 {
            x = try Resampler.resample(AudioBuffer(channels: [samples], sampleRate: sampleRate), to: options.analysisRate).channels[0]
            rate = options.analysisRate
        }
        guard rate >= 4 * options.maximumF0 else {
            throw AudioError(.invalidArgument, "a sample rate of \(Int(sampleRate)) Hz cannot carry F0 up to \(Int(options.maximumF0)) Hz")
        }
        // Rumble and other sub-F0 energy dominate the difference function of weak voice (a breathy offset 40 dB
        // below a room's 20 Hz hum has no periodic dip at all) and bias the refinement's fundamental bin.
        // The cutoff stays below the lowest F0 searched (−6 dB at the cutoff).
        // The silence gate's reference (the loudest frame) stays on the unfiltered signal: block-wise analysis sets it
        // with a DC plateau of the file's loudest frame energy (StreamingVoiceAnalyzer), which a high-pass removes.
        let unfiltered = x
        let cutoff = min(options.highPassHz, 0.8 * options.minimumF0)
        if cutoff > 0 { x = Self.highPass(x, rate: rate, cutoff: cutoff) }
        if options.removeHum {
            let hum = HumFilter()
            x = hum.removing(hum.tones(x, rate: rate), from: x, rate: rate)
        }
        var (cands, energy) = candidates(x, gateSignal: cutoff > 0 ? unfiltered : nil, rate: rate, frameCount: frameCount)
        var (f0, conf) = decode(cands)
        if options.rangeMarginOctaves > 0,
           let range = PitchRangePrior.estimate(f0: f0, periodicity: conf, energy: energy, quantile: options.rangeQuantile,
                                                minimumPeriodicity: options.rangeMinimumPeriodicity,
                                                marginOctaves: options.rangeMarginOctaves) {
            cands = range.applied(to: cands, natsPerOctave: 1200 / options.jumpCents)
            (f0, conf) = decode(cands)
        }
        let audible = cands.map { !$0.isEmpty }
        if let voicing = options.voicing {
            // The voicing decision reads the continuity of the refined contour.
            let deviation: [Float]? = options.refine ? refine(&f0, x, rate: rate) : nil
            let decided = VoicingDecision(options: voicing).decide(
                f0: f0, periodicity: conf, harmonicDeviation: deviation,
                candidates: cands.map { VoicingDecision.Candidates(f0: $0.map(\.f0), periodicity: $0.map(\.periodicity)) },
                audible: audible, framePeriod: options.framePeriod)
            f0 = decided.f0
            if options.refine, decided.added.contains(true) { refine(&f0, x, rate: rate, only: decided.added) }
        } else {
            f0 = Self.fillGaps(f0, audible: audible, maximumGap: options.gapFillFrames)
            f0 = Self.extendEdges(f0, audible: audible, frames: options.edgeExtensionFrames)
            if options.refine {
                refine(&f0, x, rate: rate)
            }
        }
        if options.smoothingFrames > 0 { f0 = Self.smoothVoiced(f0, halfWidth: options.smoothingFrames) }
        return PitchTrack(framePeriod: options.framePeriod, f0: f0, confidence: conf)
    }

    // MARK: - Stage 1: YIN difference function and pYIN candidate probabilities

    struct Candidate {
        var f0: Float; var probability: Float; var periodicity: Float
        /// The frame's voiced probability when it differs from the sum of its candidates' (aliases each carry the
        /// whole aliased mass); nil = the sum.
        var frameVoiced: Float? = nil
    }

    /// Per-frame candidates (at most a handful) and the frame's total voiced probability, with each frame's mean
    /// energy (of `x`; the range prior weights frames by it).
    /// - Parameter gateSignal: the signal whose frame energies the silence gate compares (default `x`).
    func candidates(_ x: [Float], gateSignal: [Float]? = nil, rate: Double, frameCount: Int) -> (candidates: [[Candidate]], energy: [Double]) {
        let o = options
        let tauMin = max(2, Int((rate / o.maximumF0).rounded(.down)))
        let tauMax = Int((rate / o.minimumF0).rounded(.up))
        let w = max(Int(o.windowDuration * rate), tauMin * 2)
        var n = 64
        while n < w + tauMax + 2 { n *= 2 }
        let fftSize = n
        // Threshold priors (100 thresholds 0.01…1.00), normalised Beta pdfs.
        func betaWeights(_ a: Double, _ b: Double) -> [Double] {
            let w = (1...100).map { i -> Double in
                let s = Double(i) / 100
                return pow(s, a - 1) * pow(max(0, 1 - s), b - 1)
            }
            let total = w.reduce(0, +)
            return w.map { $0 / total }
        }
        let thresholds = betaWeights(o.thresholdPrior.a, o.thresholdPrior.b)
        let voicingWeights = betaWeights(o.voicingPrior.a, o.voicingPrior.b)
        let voicedOdds = o.voicedOdds
        // A candidate is an alias when its lag is within 3 % (at least a sample) of a multiple of the alias lag and its
        // dip is not clearly deeper (0.05) than the alias dip.
        let aliasRatio = 0.03, aliasMaximumValue = o.aliasMaximumValue, aliasMargin = 0.05
        // Prefix sums of x² for window energies.
        let len = x.count
        var prefix = [Double](repeating: 0, count: len + 1)
        for i in 0..<len { prefix[i + 1] = prefix[i] + Double(x[i]) * Double(x[i]) }
        // Frame start so that the integration window plus half the lag range is centred on the frame.
        let span = w + tauMax + 1
        let framePeriod = o.framePeriod
        @Sendable func start(_ t: Int) -> Int { Int((Double(t) * framePeriod * rate).rounded()) - (w + tauMax / 2) / 2 }
        // Loudness gate: each frame's energy (of the analysed, high-passed signal: rumble alone is not voice) against
        // the loudest frame of `gateSignal` (the unfiltered signal, whose loudest frame block-wise analysis sets
        // with a DC plateau).
        var gatePrefix = prefix
        if let g = gateSignal {
            precondition(g.count == len, "gate signal length differs")
            for i in 0..<len { gatePrefix[i + 1] = gatePrefix[i] + Double(g[i]) * Double(g[i]) }
        }
        var frameEnergy = [Double](repeating: 0, count: frameCount)
        var loudest = 0.0
        for t in 0..<frameCount {
            let s = max(0, min(len, start(t))), e = max(0, min(len, start(t) + span))
            frameEnergy[t] = (prefix[e] - prefix[s]) / Double(span)
            loudest = max(loudest, (gatePrefix[e] - gatePrefix[s]) / Double(span))
        }
        let gate = loudest * pow(10, o.silenceDB / 10)
        var result = [[Candidate]](repeating: [], count: frameCount)
        result.withUnsafeMutableBufferPointer { resultBuffer in
            let out = SharedPointer(resultBuffer.baseAddress!)
            x.withUnsafeBufferPointer { xb in
                prefix.withUnsafeBufferPointer { pb in
                    frameEnergy.withUnsafeBufferPointer { eb in
                        let xs = SharedPointer(UnsafeMutablePointer(mutating: xb.baseAddress!))
                        let ps = SharedPointer(UnsafeMutablePointer(mutating: pb.baseAddress!))
                        let es = SharedPointer(UnsafeMutablePointer(mutating: eb.baseAddress!))
                        parallelRanges(frameCount, minimumPerJob: 32) { range in
                            let fa = RealFFT(size: fftSize, measure: false), fb = RealFFT(size: fftSize, measure: false)
                            let d = UnsafeMutablePointer<Double>.allocate(capacity: tauMax + 2)
                            defer { d.deallocate() }
                            let xp = xs.pointer, pre = ps.pointer
                            for t in range {
                                if es.pointer[t] <= gate || es.pointer[t] == 0 { out.pointer[t] = []; continue }
                                let s = start(t)
                                let a = fa.timeSamples, b = fb.timeSamples
                                for j in 0..<fftSize {
                                    let idx = s + j
                                    let v: Float = (idx >= 0 && idx < len) ? xp[idx] : 0
                                    b[j] = j < span ? v : 0
                                    a[j] = j < w ? v : 0
                                }
                                fa.transformForward(); fb.transformForward()
                                let A = fa.spectrumValues, B = fb.spectrumValues
                                // conj(A)·B → cross-correlation r[τ] = Σ a[j] b[j+τ].
                                for k in 0..<(fftSize / 2 + 1) {
                                    let ar = A[2 * k], ai = A[2 * k + 1], br = B[2 * k], bi = B[2 * k + 1]
                                    A[2 * k] = ar * br + ai * bi
                                    A[2 * k + 1] = ar * bi - ai * br
                                }
                                fa.transformInverse()
                                let r = fa.timeSamples
                                @inline(__always) func energy(_ from: Int, _ count: Int) -> Double {
                                    let lo = max(0, min(len, s + from)), hi = max(0, min(len, s + from + count))
                                    return pre[hi] - pre[lo]
                                }
                                let e0 = energy(0, w)
                                let scale = 1 / Double(fftSize)
                                // CMNDF d'(τ) = d(τ)·τ / Σ_{k≤τ} d(k).
                                var running = 0.0
                                d[0] = 1
                                for tau in 1...(tauMax + 1) {
                                    let dt = max(0, e0 + energy(tau, w) - 2 * Double(r[tau]) * scale)
                                    running += dt
                                    d[tau] = running > 0 ? dt * Double(tau) / running : 1
                                }
                                let curve = UnsafeBufferPointer(start: d, count: tauMax + 2)
                                let dips = Self.dips(curve, lags: tauMin...tauMax)
                                if dips.isEmpty { out.pointer[t] = []; continue }
                                var prob = [Double](repeating: 0, count: dips.count)
                                var globalMin = 0
                                for i in dips.indices where dips[i].value < dips[globalMin].value { globalMin = i }
                                for (i, weight) in thresholds.enumerated() {
                                    let thr = Double(i + 1) / 100
                                    if let first = dips.firstIndex(where: { $0.value < thr }) {
                                        prob[first] += weight
                                    } else {
                                        prob[globalMin] += 0.01 * weight  // pYIN: a little mass for the best dip
                                    }
                                }
                                // Voiced probability: the voicing prior's mass above the deepest dip; shared among the
                                // candidates in proportion to their (strict-prior) first-dip mass.
                                var voiced = 0.0
                                for (i, weight) in voicingWeights.enumerated() where Double(i + 1) / 100 > dips[globalMin].value {
                                    voiced += weight
                                }
                                voiced = voiced * voicedOdds / (voiced * voicedOdds + (1 - voiced))
                                // A periodicity above the F0 range (a narrow resonance or whistle dominating the
                                // frame) puts dips at all its multiples in range, the first one a false F0 (LibriSpeech
                                // 2414: a 1770 Hz peak 24 dB above a 110 Hz voice gave 889 Hz). Those dips carry no
                                // octave information: each gets their whole first-dip mass, and the decoding's
                                // continuity picks among them.
                                // The candidates' probabilities are normalised by the mass before aliasing.
                                let mass = prob.reduce(0, +)
                                var frameHasAliases = false
                                if aliasMaximumValue > 0, tauMin > 2,
                                   let alias = Self.dips(curve, lags: 2...(tauMin - 1)).min(by: { $0.value < $1.value }),
                                   alias.value < aliasMaximumValue {
                                    var shared = 0.0
                                    var aliased = [Bool](repeating: false, count: dips.count)
                                    for i in dips.indices where dips[i].value + aliasMargin >= alias.value {
                                        let k = (dips[i].tau / alias.tau).rounded()
                                        guard k >= 2, abs(dips[i].tau - k * alias.tau) <= max(1, aliasRatio * dips[i].tau) else { continue }
                                        aliased[i] = true
                                        shared += prob[i]
                                    }
                                    if aliased.contains(true) {
                                        // Each alias carries the whole aliased mass: splitting it would make a
                                        // voiced path through N aliases cost log N more than the unvoiced one.
                                        for i in dips.indices where aliased[i] { prob[i] = shared }
                                        frameHasAliases = true
                                    }
                                }
                                var cands = [Candidate]()
                                for i in dips.indices where prob[i] / mass > 1e-3 || i == globalMin {
                                    cands.append(Candidate(f0: Float(rate / dips[i].tau), probability: Float(voiced * prob[i] / mass),
                                                           periodicity: Float(max(0, min(1, 1 - dips[i].value))),
                                                           frameVoiced: frameHasAliases ? Float(voiced) : nil))
                                }
                                out.pointer[t] = cands
                            }
                        }
                    }
                }
            }
        }
        return (result, frameEnergy)
    }

    /// The local minima ("dips") of the difference function `d` at `lags` (each needs `d` at lag ± 1), with
    /// parabolic interpolation of lag and value.
    static func dips(_ d: UnsafeBufferPointer<Double>, lags: ClosedRange<Int>) -> [(tau: Double, value: Double)] {
        var found = [(tau: Double, value: Double)]()
        for tau in lags where d[tau] < d[tau - 1] && d[tau] <= d[tau + 1] {
            let y0 = d[tau - 1], y1 = d[tau], y2 = d[tau + 1]
            let den = y0 - 2 * y1 + y2
            let shift = den > 0 ? max(-0.5, min(0.5, 0.5 * (y0 - y2) / den)) : 0
            found.append((Double(tau) + shift, max(0, y1 - 0.25 * (y0 - y2) * shift)))
        }
        return found
    }

    /// Zero-phase Butterworth high-pass: two biquads (a fourth-order Butterworth), each run forward then backward so
    /// that no frequency is delayed (the candidates must stay on the frame grid); −6 dB at `cutoff`, 8th-order slope.
    static func highPass(_ x: [Float], rate: Double, cutoff: Double) -> [Float] {
        var y = x.map(Double.init)
        let w0 = 2 * Double.pi * cutoff / rate, cw = cos(w0), sw = sin(w0)
        for q in [0.541_196_100_146_197, 1.306_562_964_876_376_7] {
            let alpha = sw / (2 * q)
            let a0 = 1 + alpha
            let b0 = (1 + cw) / 2 / a0
            ZeroPhaseBiquad(b0: b0, b1: -(1 + cw) / a0, b2: b0, a1: -2 * cw / a0, a2: (1 - alpha) / a0).apply(&y)
        }
        return y.map { Float($0) }
    }

    // MARK: - Stage 2: Viterbi decoding

    func decode(_ cands: [[Candidate]]) -> (f0: [Float], confidence: [Float]) {
        let T = cands.count
        var f0 = [Float](repeating: 0, count: T)
        var conf = [Float](repeating: 0, count: T)
        guard T > 0 else { return (f0, conf) }
        let switchCost = -log(options.voicingSwitchProbability)
        let stayCost = -log(1 - options.voicingSwitchProbability)
        let jump = 1200 / options.jumpCents  // nats per octave
        // State 0 = unvoiced, 1… = candidates.
        func emission(_ t: Int) -> [Double] {
            let voicedTotal = cands[t].first?.frameVoiced.map(Double.init) ?? cands[t].reduce(0.0) { $0 + Double($1.probability) }
            return [-log(max(1e-6, 1 - min(1, voicedTotal)))] + cands[t].map { -log(max(1e-6, Double($0.probability))) }
        }
        var cost = emission(0)
        var back = [[Int]]()
        back.reserveCapacity(T)
        back.append([Int](repeating: 0, count: cost.count))
        for t in 1..<T {
            let e = emission(t)
            var next = [Double](repeating: .infinity, count: e.count)
            var from = [Int](repeating: 0, count: e.count)
            for j in 0..<e.count {
                for i in 0..<cost.count {
                    var c = cost[i]
                    if i == 0 && j == 0 { c += stayCost }
                    else if i == 0 || j == 0 { c += switchCost }
                    else {
                        let ratio = Double(cands[t][j - 1].f0) / Double(cands[t - 1][i - 1].f0)
                        c += stayCost + jump * abs(log2(ratio))
                    }
                    if c < next[j] { next[j] = c; from[j] = i }
                }
                next[j] += e[j]
            }
            cost = next
            back.append(from)
        }
        var state = cost.indices.min { cost[$0] < cost[$1] }!
        for t in stride(from: T - 1, through: 0, by: -1) {
            if state > 0 {
                f0[t] = cands[t][state - 1].f0
                conf[t] = cands[t][state - 1].periodicity
            } else {
                conf[t] = cands[t].map(\.periodicity).max() ?? 0
            }
            state = back[t][state]
        }
        return (f0, conf)
    }

    /// Voices unvoiced runs of at most `maximumGap` audible frames between two voiced frames less than an octave
    /// apart, with F0 interpolated linearly in log frequency (Harvest fills short gaps too: a voiced stop or a
    /// weak, fast transition inside a voiced stretch is voice to the vocoder, not noise).
    static func fillGaps(_ f0: [Float], audible: [Bool], maximumGap: Int) -> [Float] {
        guard maximumGap > 0 else { return f0 }
        var out = f0
        var last = -1  // last voiced frame
        for i in f0.indices where f0[i] > 0 {
            let gap = i - last - 1
            if last >= 0, gap > 0, gap <= maximumGap, abs(log2(f0[i] / f0[last])) < 1,
               (last + 1..<i).allSatisfy({ audible[$0] }) {
                interpolateLogF0(&out, from: last, to: i)
            }
            last = i
        }
        return out
    }

    /// Sets the frames strictly between `last` and `next` (both voiced) to F0 interpolated in log frequency.
    static func interpolateLogF0(_ f0: inout [Float], from last: Int, to next: Int) {
        let a = log(Double(f0[last])), b = log(Double(f0[next]))
        for j in (last + 1)..<next {
            let w = Double(j - last) / Double(next - last)
            f0[j] = Float(exp(a + (b - a) * w))
        }
    }

    /// Extends each voiced run by up to `frames` audible frames at both ends, holding the edge F0: onsets and
    /// offsets of speech are voiced a little before and after the difference function becomes periodic enough.
    static func extendEdges(_ f0: [Float], audible: [Bool], frames: Int) -> [Float] {
        guard frames > 0 else { return f0 }
        var out = f0
        let n = f0.count
        for i in 0..<n where f0[i] > 0 {
            if i == 0 || f0[i - 1] == 0 {
                var j = i - 1
                while j >= 0, i - j <= frames, f0[j] == 0, audible[j] { out[j] = f0[i]; j -= 1 }
            }
            if i == n - 1 || f0[i + 1] == 0 {
                var j = i + 1
                while j < n, j - i <= frames, f0[j] == 0, audible[j] { out[j] = f0[i]; j += 1 }
            }
        }
        return out
    }

    /// Triangular moving average of log F0 over voiced neighbours only (unvoiced frames stay 0).
    static func smoothVoiced(_ f0: [Float], halfWidth k: Int) -> [Float] {
        var out = f0
        let n = f0.count
        for i in 0..<n where f0[i] > 0 {
            var sum = 0.0, weight = 0.0
            for j in max(0, i - k)...min(n - 1, i + k) where f0[j] > 0 {
                let w = 1 - Double(abs(j - i)) / Double(k + 1)
                sum += w * log(Double(f0[j])); weight += w
            }
            out[i] = Float(exp(sum / weight))
        }
        return out
    }

    // MARK: - Stage 3: StoneMask-style refinement

    /// - Parameter only: frames to refine (default: every voiced frame).
    /// - Returns: per frame, the harmonics' amplitude-weighted relative deviation from the refined F0 in the last
    ///   pass (1 where a frame was not refined or its refinement was rejected).
    @discardableResult
    func refine(_ f0: inout [Float], _ x: [Float], rate: Double, only: [Bool]? = nil) -> [Float] {
        let frameCount = f0.count
        var deviations = [Float](repeating: 1, count: frameCount)
        let period = options.framePeriod
        let lo = Float(options.minimumF0), hi = Float(options.maximumF0)
        let periods = options.refinementWindowPeriods, passes = options.refinementPasses
        f0.withUnsafeMutableBufferPointer { fb in
          deviations.withUnsafeMutableBufferPointer { db in
            let fp = SharedPointer(fb.baseAddress!), dp = SharedPointer(db.baseAddress!)
            x.withUnsafeBufferPointer { xb in
                let xs = SharedPointer(UnsafeMutablePointer(mutating: xb.baseAddress!))
                let xlen = xb.count
                parallelRanges(frameCount, minimumPerJob: 64) { range in
                    let signal = UnsafeBufferPointer(start: xs.pointer, count: xlen)
                    // One transform size for all frames (the window at the lowest F0 fits): every distinct size
                    // would cost its own FFTW planning.
                    var n = 64
                    while n < 2 * Int((periods / 2 * rate / Double(lo) * 1.12).rounded()) + 1 { n *= 2 }
                    let main = RealFFT(size: n, measure: false), diff = RealFFT(size: n, measure: false)
                    let windows = BlackmanWindows()
                    for t in range where fp.pointer[t] > 0 && only?[t] ?? true {
                        var f = Double(fp.pointer[t])
                        let initial = f
                        var deviation = 1.0
                        // The first pass fixes the fundamental's bin, the others use up to 6 harmonics.
                        for pass in 0..<passes {
                            guard let g = InstantaneousFrequency.meanF0(signal, rate: rate, time: Double(t) * period, f0: f,
                                                                        harmonics: pass == 0 ? 2 : 6, windowPeriods: periods,
                                                                        main: main, diff: diff, windows: windows,
                                                                        deviation: &deviation) else { break }
                            f = g
                        }
                        // Keep the refinement only if it stayed near the decoded candidate (no jump to a harmonic).
                        if abs(f / initial - 1) < 0.1, Float(f) >= lo * 0.9, Float(f) <= hi * 1.1 {
                            fp.pointer[t] = Float(f)
                            dp.pointer[t] = Float(deviation)
                        }
                    }
                }
            }
          }
        }
        return deviations
    }
}

/// Blackman windows by half-length, each computed once: the refinement's window follows F0, so a take reuses a few
/// hundred lengths over thousands of frames and passes (the cosines were 10 % of a conversion's CPU time).
/// One per thread (not shared).
final class BlackmanWindows {
    private var store: [Int: [Double]] = [:]

    /// `2 * half + 3` values: 0, the window over −half…half (`0.42 + 0.5 cos(πp) + 0.08 cos(2πp)`,
    /// p = k / (half + 1)), 0.
    func window(half: Int) -> [Double] {
        if let w = store[half] { return w }
        var w = [Double](repeating: 0, count: 2 * half + 3)
        for k in -half...half {
            let p = Double(k) / Double(half + 1)
            w[k + half + 1] = 0.42 + 0.5 * cos(.pi * p) + 0.08 * cos(2 * .pi * p)
        }
        store[half] = w
        return w
    }
}

/// F0 from the instantaneous frequencies of the first harmonics (Morise's StoneMask): for a Blackman window `windowPeriods`
/// periods long, the instantaneous frequency at the bin nearest harmonic k is the bin frequency plus the phase
/// derivative obtained from the spectrum of the signal under the window's derivative; each harmonic votes
/// `IF_k / k`, weighted by its amplitude.
enum InstantaneousFrequency {
    static func meanF0(_ x: UnsafeBufferPointer<Float>, rate: Double, time: Double, f0: Double, harmonics: Int,
                       windowPeriods: Double, main: RealFFT, diff: RealFFT, windows: BlackmanWindows,
                       deviation: inout Double) -> Double? {
        let half = Int((windowPeriods / 2 * rate / f0).rounded())
        let length = 2 * half + 1
        let n = main.size
        guard length <= n else { return nil }
        let origin = Int((time * rate).rounded())
        let a = main.timeSamples, b = diff.timeSamples
        for j in length..<n { a[j] = 0; b[j] = 0 }
        // Blackman window over −half…half (zero at ±(half+1)) and its negated central-difference derivative.
        windows.window(half: half).withUnsafeBufferPointer { w in
            let last = x.count - 1
            for k in -half...half {
                let v = Double(x[max(0, min(last, origin + k))])
                a[k + half] = Float(v * w[k + half + 1])
                b[k + half] = Float(v * -(w[k + half + 2] - w[k + half]) / 2)
            }
        }
        main.transformForward(); diff.transformForward()
        let A = main.spectrumValues, B = diff.spectrumValues
        let count = min(harmonics, Int(rate / 2 / f0))
        guard count >= 1 else { return nil }
        var num = 0.0, den = 0.0
        // Each harmonic's vote, for the deviation (Harvest's reliability score, unweighted: a narrow resonance
        // has one accurate peak and noise at the other harmonics).
        let votes = UnsafeMutablePointer<Double>.allocate(capacity: count)
        defer { votes.deallocate() }
        var voteCount = 0
        for h in 1...count {
            let bin = Int((f0 * Double(h) * Double(n) / rate).rounded())
            guard bin > 0, bin < n / 2 else { break }
            let ar = Double(A[2 * bin]), ai = Double(A[2 * bin + 1])
            let br = Double(B[2 * bin]), bi = Double(B[2 * bin + 1])
            let power = ar * ar + ai * ai
            guard power > 0 else { continue }
            let inst = Double(bin) * rate / Double(n) + (ar * bi - ai * br) / power * rate / (2 * .pi)
            let amplitude = power.squareRoot()
            num += amplitude * inst / Double(h)
            den += amplitude
            votes[voteCount] = inst / Double(h)
            voteCount += 1
        }
        guard den > 0 else { return nil }
        let result = num / den
        guard result.isFinite && result > 0 else { return nil }
        var spread = 0.0
        for k in 0..<voteCount { spread += abs(votes[k] / result - 1) }
        deviation = spread / Double(max(1, voteCount))
        return result
    }
}
