import Foundation

/// Time stretch of voice features, block by block: the frame sequence is resampled at `1 / ratio` frames per
/// frame (F0 interpolated in log between voiced neighbours, voicing from the nearer frame, envelope, aperiodicity
/// and confidence linearly), so pitch and timbre stay and only the timing changes. The stretched signal is
/// `round(sampleCount · ratio)` samples long exactly.
///
/// Blocks may be of any size: output frame `j` is made as soon as input frames `⌊j / ratio⌋` and the one after
/// have been pushed, with the same arithmetic as for the whole signal, so the joined output equals
/// `VoiceFeatures.stretchingTime(ratio:)` bit for bit. Only the frames still needed are kept.
public final class TimeStretcher {
    /// Output duration / input duration (> 1: slower).
    public let ratio: Double
    private var window: VoiceFeatures?  // input frames from the one the next output frame needs
    private var framesPushed = 0
    private var nextOutput = 0

    public init(ratio: Double) {
        precondition(ratio > 0, "time-stretch ratio must be positive")
        self.ratio = ratio
    }

    /// Length of the stretched signal for `sampleCount` input samples.
    public func stretchedSampleCount(_ sampleCount: Int) -> Int { Int((Double(sampleCount) * ratio).rounded()) }

    /// Adds the next input block (`firstFrame` = frames pushed so far) and returns the output frames now
    /// complete (possibly none), as a block of the stretched stream.
    public func push(_ block: VoiceFeatures) -> VoiceFeatures {
        precondition(block.firstFrame == framesPushed, "blocks must follow one another")
        if var w = window {
            window = nil
            w.append(block)
            window = w
        } else {
            window = block
        }
        framesPushed += block.frameCount
        return emit(until: nil, sampleCount: stretchedSampleCount(block.sampleCount))
    }

    /// Ends the stream (`sampleCount`: the input signal's length) and returns the remaining output frames; the
    /// block's `sampleCount` is the stretched length.
    public func finish(sampleCount: Int) -> VoiceFeatures {
        precondition(framesPushed > 0, "no frames to stretch")
        let newCount = stretchedSampleCount(sampleCount)
        let w = window!
        let frames = worldFrameCount(sampleCount: newCount, sampleRate: w.sampleRate, framePeriod: w.framePeriod)
        return emit(until: frames, sampleCount: newCount)
    }

    /// Output frames from `nextOutput` up to `until` (the end of the stream) or, before the end, as far as the
    /// pushed frames reach.
    private func emit(until total: Int?, sampleCount: Int) -> VoiceFeatures {
        let src = window!
        let T = framesPushed, first = src.firstFrame
        let bins = src.binCount, bands = src.bandCount
        var end = nextOutput
        if let total { end = max(end, total) } else {
            // Frames j with ⌊j/ratio⌋ + 1 pushed; one frame more is held back so that an early frame never passes
            // the stretched signal's last one (whose count depends on the rounded total length).
            while Int(Double(end) / ratio) + 2 < T { end += 1 }
        }
        let count = end - nextOutput
        var f0 = [Float](repeating: 0, count: count), conf = [Float](repeating: 0, count: count)
        var env = [Float](repeating: 0, count: count * bins)
        var ap = [Float](repeating: 0, count: count * bands)
        for o in 0..<count {
            let pos = Double(nextOutput + o) / ratio
            let g0 = min(T - 1, Int(pos)), g1 = min(T - 1, g0 + 1)
            let w = Float(g0 == g1 ? 0 : pos - Double(g0))
            let i0 = g0 - first, i1 = g1 - first
            let a = src.f0[i0], b = src.f0[i1]
            // Voicing from the nearer frame; F0 interpolated in log between voiced neighbours.
            let nearVoiced = w < 0.5 ? a > 0 : b > 0
            if nearVoiced {
                f0[o] = a > 0 && b > 0 ? exp(log(a) * (1 - w) + log(b) * w) : max(a, b)
            }
            conf[o] = src.confidence[i0] * (1 - w) + src.confidence[i1] * w
            for k in 0..<bins { env[o * bins + k] = src.envelope[i0 * bins + k] * (1 - w) + src.envelope[i1 * bins + k] * w }
            for k in 0..<bands {
                ap[o * bands + k] = src.bandAperiodicity[i0 * bands + k] * (1 - w) + src.bandAperiodicity[i1 * bands + k] * w
            }
        }
        let out = VoiceFeatures(sampleRate: src.sampleRate, framePeriod: src.framePeriod, sampleCount: sampleCount, f0: f0,
                                confidence: conf, fftSize: src.fftSize, envelope: env,
                                aperiodicityFrequencies: src.aperiodicityFrequencies, bandAperiodicity: ap,
                                firstFrame: nextOutput)
        nextOutput = end
        // Keep the input frames from the one the next output frame starts at.
        let keep = min(T - 1, Int(Double(nextOutput) / ratio))
        if keep > first { window = src.frames((keep - first)..<src.frameCount) }
        return out
    }
}
