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

    /// Envelope above `hz` replaced, frame by frame, by its value at `hz` (aperiodicity unchanged).
    ///
    /// A take recorded at a lower rate than the voice model's and resampled up has no energy above its old Nyquist:
    /// its envelope falls by 60–100 dB there. Mapped against a full-band voice, that empty band reads as a steep
    /// spectral tilt: the cepstral change raises it by as much, and with the level (c0) kept, the rest of the band
    /// comes out 10–20 dB too quiet, with bursts at the band edge. Holding the envelope flat above the band edge
    /// makes the take look full band; the output is resampled back to the take's rate, which drops that band again.
    public func holdingEnvelope(above hz: Double) -> VoiceFeatures {
        let bins = binCount
        let edge = Int((hz * Double(fftSize) / sampleRate).rounded(.down))
        guard edge >= 0 && edge < bins - 1 else { return self }
        var out = self
        out.envelope.withUnsafeMutableBufferPointer { env in
            for i in 0..<frameCount {
                let row = env.baseAddress! + i * bins
                (row + edge + 1).update(repeating: row[edge], count: bins - edge - 1)
            }
        }
        return out
    }

    /// Features of the same voice `ratio` times as long (ratio > 1 slower): the frame sequence is resampled, so
    /// pitch and timbre stay; the synthesised length is `round(sampleCount · ratio)` samples exactly. See
    /// `TimeStretcher`, which does the same block by block.
    public func stretchingTime(ratio: Double) -> VoiceFeatures {
        precondition(ratio > 0, "time-stretch ratio must be positive")
        if ratio == 1 { return self }
        let stretcher = TimeStretcher(ratio: ratio)
        var out = stretcher.push(self)
        out.append(stretcher.finish(sampleCount: sampleCount))
        return out
    }
}
