import Foundation

/// Feature-level edits: pitch shift, formant (envelope frequency) warp, time stretch. Each returns new
/// features; synthesis of the result keeps the formant-preserving properties of the vocoder (a pitch shift
/// alone leaves the envelope, hence the vowel and the speaker's timbre, in place).
extension VoiceFeatures {
    /// F0 multiplied by `2^(semitones/12)` in voiced frames; envelope and aperiodicity unchanged.
    public func shiftingPitch(semitones: Double) -> VoiceFeatures {
        var out = self
        out.f0 = Self.shiftedF0(f0, semitones: semitones)
        return out
    }

    /// F0 multiplied by `2^(semitones/12)` where voiced (0 stays 0).
    public static func shiftedF0(_ f0: [Float], semitones: Double) -> [Float] {
        let r = Float(pow(2, semitones / 12))
        return f0.map { $0 * r }
    }

    /// Envelope with its frequency axis scaled by `ratio`: the value at `f` becomes the old value at `f / ratio`
    /// (ratio > 1 moves formants up, a smaller vocal tract; < 1 down). Above the old Nyquist the last bin is held.
    public func warpingFormants(ratio: Double) -> VoiceFeatures {
        precondition(ratio > 0, "formant ratio must be positive")
        var out = self
        if ratio == 1 { return out }
        let bins = binCount
        envelope.withUnsafeBufferPointer { src in
            out.envelope.withUnsafeMutableBufferPointer { dst in
                for i in 0..<frameCount {
                    Self.warpEnvelope(UnsafeBufferPointer(rebasing: src[(i * bins)..<((i + 1) * bins)]), ratio: ratio,
                                      into: UnsafeMutableBufferPointer(rebasing: dst[(i * bins)..<((i + 1) * bins)]))
                }
            }
        }
        return out
    }

    /// One envelope frame warped by `ratio` (see `warpingFormants`), linear interpolation between bins.
    public static func warpEnvelope(_ src: UnsafeBufferPointer<Float>, ratio: Double, into dst: UnsafeMutableBufferPointer<Float>) {
        let last = src.count - 1
        for k in 0..<dst.count {
            let pos = Double(k) / ratio
            let j = Int(pos)
            if j >= last { dst[k] = src[last]; continue }
            let w = Float(pos - Double(j))
            dst[k] = src[j] * (1 - w) + src[j + 1] * w
        }
    }

    /// Features of the same voice `ratio` times as long (ratio > 1 slower): the frame sequence is resampled, so
    /// pitch and timbre stay; the synthesised length is `round(sampleCount · ratio)` samples exactly.
    public func stretchingTime(ratio: Double) -> VoiceFeatures {
        precondition(ratio > 0, "time-stretch ratio must be positive")
        if ratio == 1 { return self }
        let newCount = Int((Double(sampleCount) * ratio).rounded())
        let frames = worldFrameCount(sampleCount: newCount, sampleRate: sampleRate, framePeriod: framePeriod)
        let bins = binCount, bands = bandCount, T = frameCount
        var f0 = [Float](repeating: 0, count: frames), conf = [Float](repeating: 0, count: frames)
        var env = [Float](repeating: 0, count: frames * bins)
        var ap = [Float](repeating: 0, count: frames * bands)
        for j in 0..<frames {
            let pos = Double(j) / ratio
            let i0 = min(T - 1, Int(pos)), i1 = min(T - 1, i0 + 1)
            let w = Float(i0 == i1 ? 0 : pos - Double(i0))
            let a = self.f0[i0], b = self.f0[i1]
            // Voicing from the nearer frame; F0 interpolated in log between voiced neighbours.
            let nearVoiced = w < 0.5 ? a > 0 : b > 0
            if nearVoiced {
                f0[j] = a > 0 && b > 0 ? exp(log(a) * (1 - w) + log(b) * w) : max(a, b)
            }
            conf[j] = confidence[i0] * (1 - w) + confidence[i1] * w
            for k in 0..<bins { env[j * bins + k] = envelope[i0 * bins + k] * (1 - w) + envelope[i1 * bins + k] * w }
            for k in 0..<bands {
                ap[j * bands + k] = bandAperiodicity[i0 * bands + k] * (1 - w) + bandAperiodicity[i1 * bands + k] * w
            }
        }
        return VoiceFeatures(sampleRate: sampleRate, framePeriod: framePeriod, sampleCount: newCount, f0: f0, confidence: conf,
                             fftSize: fftSize, envelope: env, aperiodicityFrequencies: aperiodicityFrequencies,
                             bandAperiodicity: ap)
    }
}
