import Foundation

/// The vocoder parameters of one voice on a regular frame grid (WORLD's decomposition): F0 with voicing and
/// confidence, the F0-adaptive spectral envelope, and band aperiodicity.
///
/// Frame `i` is centred at `i · framePeriod` seconds; there are `Int(sampleCount / sampleRate / framePeriod) + 1`
/// frames for a signal of `sampleCount` samples, and synthesis returns exactly `sampleCount` samples.
///
/// A value can also be one **block** of a stream (`StreamingVoiceAnalyzer`, `StreamingSynthesizer`): frames
/// `firstFrame ..< firstFrame + frameCount` of a longer signal. Then `sampleCount` is the signal's length as far
/// as it was known when the block was made; the stream's last block carries the whole length.
public struct VoiceFeatures: Sendable, Equatable {
    /// Sample rate of the analysed signal (Hz); the envelope's frequency axis ends at `sampleRate / 2`.
    public var sampleRate: Double
    /// Time between frames (s).
    public var framePeriod: Double
    /// Length of the signal these features describe (samples at `sampleRate`).
    public var sampleCount: Int
    /// F0 per frame (Hz); 0 in unvoiced frames.
    public var f0: [Float]
    /// Periodicity per frame in [0, 1] (see `PitchTrack.confidence`).
    public var confidence: [Float]
    /// FFT size of the envelope; `binCount = fftSize / 2 + 1` bins, bin `k` at `k · sampleRate / fftSize` Hz.
    public var fftSize: Int
    /// Power spectral envelope, `frameCount × binCount`, row-major (frame `i` is
    /// `envelope[i·binCount ..< (i+1)·binCount]`). Scaled as WORLD's CheapTrick: the power spectrum of the signal
    /// under a unit-energy window.
    public var envelope: [Float]
    /// Centre frequencies (Hz) of the aperiodicity bands, ascending, from 0 Hz to Nyquist.
    public var aperiodicityFrequencies: [Double]
    /// Band aperiodicity in dB (≤ 0; 0 = pure noise), `frameCount × aperiodicityFrequencies.count`, row-major.
    /// Between band centres it is interpolated linearly in dB; `aperiodicity(frame:)` expands one frame.
    public var bandAperiodicity: [Float]
    /// Index in the whole signal of this value's first frame: 0 for whole-signal features, the block's position
    /// for a block of a stream. Frame `i` here is frame `firstFrame + i` of the signal.
    public var firstFrame: Int

    public init(sampleRate: Double, framePeriod: Double, sampleCount: Int, f0: [Float], confidence: [Float],
                fftSize: Int, envelope: [Float], aperiodicityFrequencies: [Double], bandAperiodicity: [Float],
                firstFrame: Int = 0) {
        precondition(f0.count == confidence.count, "f0 and confidence need one value per frame")
        precondition(envelope.count == f0.count * (fftSize / 2 + 1), "envelope must be frames × (fftSize/2 + 1)")
        precondition(bandAperiodicity.count == f0.count * aperiodicityFrequencies.count, "aperiodicity must be frames × bands")
        self.sampleRate = sampleRate
        self.framePeriod = framePeriod
        self.sampleCount = sampleCount
        self.f0 = f0
        self.confidence = confidence
        self.fftSize = fftSize
        self.envelope = envelope
        self.aperiodicityFrequencies = aperiodicityFrequencies
        self.bandAperiodicity = bandAperiodicity
        self.firstFrame = firstFrame
    }

    public var frameCount: Int { f0.count }
    /// Envelope bins per frame: `fftSize / 2 + 1`.
    public var binCount: Int { fftSize / 2 + 1 }
    /// Aperiodicity bands per frame.
    public var bandCount: Int { aperiodicityFrequencies.count }
    /// Voicing decision per frame (`f0 > 0`).
    public var voiced: [Bool] { f0.map { $0 > 0 } }
    /// Duration of the described signal (s).
    public var duration: Double { Double(sampleCount) / sampleRate }
    /// Centre time of frame `i` (s).
    public func time(ofFrame i: Int) -> Double { Double(i) * framePeriod }
    /// The pitch part alone.
    public var pitch: PitchTrack { PitchTrack(framePeriod: framePeriod, f0: f0, confidence: confidence) }

    /// Envelope of frame `i` (power, `binCount` values).
    public func envelope(frame i: Int) -> ArraySlice<Float> { envelope[(i * binCount)..<((i + 1) * binCount)] }

    /// Aperiodicity of frame `i` at every envelope bin, as an amplitude ratio in (0, 1] (WORLD's full-resolution
    /// aperiodicity: the noise share of the amplitude spectrum).
    public func aperiodicity(frame i: Int) -> [Float] {
        var out = [Float](repeating: 0, count: binCount)
        out.withUnsafeMutableBufferPointer { o in
            bandAperiodicity.withUnsafeBufferPointer { b in
                Self.expandAperiodicity(bands: UnsafeBufferPointer(rebasing: b[(i * bandCount)..<((i + 1) * bandCount)]),
                                        frequencies: aperiodicityFrequencies, sampleRate: sampleRate, fftSize: fftSize,
                                        into: o.baseAddress!)
            }
        }
        return out
    }

    /// Frames `range` (indices into this value, not the signal) as a block starting at `firstFrame + range.lowerBound`.
    public func frames(_ range: Range<Int>) -> VoiceFeatures {
        precondition(range.lowerBound >= 0 && range.upperBound <= frameCount, "frame range out of bounds")
        if range == 0..<frameCount { return self }  // no copy
        let bins = binCount, bands = bandCount
        return VoiceFeatures(sampleRate: sampleRate, framePeriod: framePeriod, sampleCount: sampleCount,
                             f0: Array(f0[range]), confidence: Array(confidence[range]), fftSize: fftSize,
                             envelope: Array(envelope[(range.lowerBound * bins)..<(range.upperBound * bins)]),
                             aperiodicityFrequencies: aperiodicityFrequencies,
                             bandAperiodicity: Array(bandAperiodicity[(range.lowerBound * bands)..<(range.upperBound * bands)]),
                             firstFrame: firstFrame + range.lowerBound)
    }

    /// Appends the block that follows this one (`block.firstFrame == firstFrame + frameCount`, same rate, frame
    /// period, FFT size and bands); `sampleCount` becomes the block's.
    public mutating func append(_ block: VoiceFeatures) {
        precondition(block.firstFrame == firstFrame + frameCount, "blocks must follow one another")
        precondition(block.sampleRate == sampleRate && block.framePeriod == framePeriod && block.fftSize == fftSize
                     && block.aperiodicityFrequencies == aperiodicityFrequencies, "blocks of one stream share their analysis settings")
        f0 += block.f0
        confidence += block.confidence
        envelope += block.envelope
        bandAperiodicity += block.bandAperiodicity
        sampleCount = block.sampleCount
    }

    /// The blocks of a stream joined into one value (the first block's `firstFrame`, the last one's `sampleCount`).
    public static func joining(_ blocks: [VoiceFeatures]) -> VoiceFeatures? {
        guard var out = blocks.first else { return nil }
        for b in blocks.dropFirst() { out.append(b) }
        return out
    }

    /// Linear-in-dB interpolation of band values to `fftSize / 2 + 1` bins, as amplitude ratios.
    static func expandAperiodicity(bands: UnsafeBufferPointer<Float>, frequencies: [Double], sampleRate: Double, fftSize: Int,
                                   into out: UnsafeMutablePointer<Float>) {
        let df = sampleRate / Double(fftSize)
        var b = 0
        let last = frequencies.count - 1
        for k in 0...(fftSize / 2) {
            let f = Double(k) * df
            while b < last - 1 && f > frequencies[b + 1] { b += 1 }
            let f0 = frequencies[b], f1 = frequencies[min(last, b + 1)]
            let w = f1 > f0 ? max(0, min(1, (f - f0) / (f1 - f0))) : 0
            let db = Double(bands[b]) * (1 - w) + Double(bands[min(last, b + 1)]) * w
            out[k] = Float(exp(min(0, db) * (M_LN10 / 20)))  // 10^(dB/20)
        }
    }
}
