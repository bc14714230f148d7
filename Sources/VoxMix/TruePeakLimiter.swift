import Foundation
import VoxAudio

/// Settings of the true-peak limiter.
public struct LimiterOptions: Sendable, Equatable {
    /// The ceiling for the true (inter-sample) peak of the output, in dBTP. Default −1 (EBU R128 / streaming
    /// platforms' delivery limit).
    public var ceilingDBTP: Double = -1
    /// How far the limiter looks ahead (and how long the gain takes to come down), in seconds. Default 1.5 ms:
    /// short enough to keep transients, long enough that the gain ramps do not click.
    public var lookaheadSeconds: Double = 0.0015
    /// Time constant of the gain's recovery, in seconds. Default 30 ms: a longer release pumps and loses more
    /// loudness (pushing a dev song to −8 LUFS needed 14.7 dB of gain at 10 ms, 20.7 dB at 50 ms).
    public var releaseSeconds: Double = 0.03
    /// The detector holds this much below the ceiling (dB), for the difference between its 4× interpolator and other
    /// meters' (ffmpeg resamples to 192 kHz with its own filter) and for the small inter-sample effect of the gain's
    /// own movement. Default 0.1 dB.
    public var safetyMarginDB: Double = 0.1

    public init(ceilingDBTP: Double = -1) { self.ceilingDBTP = ceilingDBTP }
}

/// A look-ahead true-peak limiter (streaming).
///
/// Detection: each sample and the three points between it and the next are estimated by a 4-phase, 48-tap
/// Kaiser-windowed-sinc interpolator, as ITU-R BS.1770-4 Annex 2 measures true peak (4× oversampling); channels
/// are linked (one gain for all, so the stereo image does not move). Gain: the needed gain `r[n] = ceiling / peak`
/// (≤ 1) goes through a sliding minimum over the look-ahead window, a one-pole release, then a moving average over
/// the same window. Every value averaged for sample n was a minimum over a window that contains n, so the gain at a
/// peak is never above what that peak needs, while it ramps down smoothly over the look-ahead time (the design of
/// e.g. Giannoulis, Massberg & Reiss, "Digital dynamic range compressor design", JAES 2012, with a linear-phase
/// attack instead of a one-pole one). Where the signal is far enough below the ceiling that no interpolated value
/// can reach it (the input's peak times the interpolator's largest L1 norm), detection is skipped.
///
/// Output is delayed internally and compensated: `process` returns fewer frames at first, `finish` returns the rest,
/// and the total equals the input length, sample-aligned with the input.
public final class TruePeakLimiter {
    public let channelCount: Int
    public let sampleRate: Double
    public let options: LimiterOptions
    /// Linear gain applied to the input before limiting (the loudness gain of a mix).
    public let inputGain: Float
    /// Lowest gain applied so far (1 when the limiter never acted).
    public private(set) var minimumGain: Float = 1
    /// Frames whose gain was below 1.
    public private(set) var limitedFrames: Int64 = 0

    /// Interpolator: `phases[k][j]` weights `x[n - halfTaps + 1 + j]` for the point `n + (k+1)/4`.
    static let tapCount = 48
    static let halfTaps = 24
    static let phases: [[Float]] = makePhases()
    /// Largest sum of |weights| over the phases (≥ 1): no interpolated value exceeds this times the window's peak.
    static let interpolatorGainBound: Float = phases.map { $0.reduce(0) { $0 + abs($1) } }.max()!

    private let ceiling: Float
    private let lookahead: Int
    private let releaseCoefficient: Double

    // Input samples (gain applied), per channel, from absolute frame `xBase`.
    private var x: [[Float]]
    private var xBase = -halfTaps
    private var received = 0
    private var outputFrames = 0
    private var finished = false
    // Next frame whose needed gain r[n] is computed; the interpolated peak of the interval before it.
    private var nextR = 0
    private var previousIntervalPeak: Float = 0
    // Sliding minimum of r (monotonic deque of (frame, r)).
    private var dequeFrames: [Int]
    private var dequeValues: [Float]
    private var dequeHead = 0, dequeCount = 0
    // Next frame of h (the look-ahead minimum); frames before 0 only prime the averaging window.
    private var nextH: Int
    private var released: Double = 1
    // Moving average of the released gain over `lookahead` frames.
    private var boxRing: [Double]
    private var boxPosition = 0
    private var boxSum: Double
    // Gains of frames from `gainBase` (0 and up) not yet output.
    private var gains: [Float] = []
    private var gainBase = 0

    /// - Parameters:
    ///   - gainDB: gain applied before limiting.
    /// - Throws: `.invalidArgument` for a ceiling above 0 dBTP or a non-positive rate.
    public init(channelCount: Int, sampleRate: Double, gainDB: Double = 0, options: LimiterOptions = LimiterOptions()) throws {
        guard channelCount >= 1, sampleRate > 0 else {
            throw AudioError(.invalidArgument, "limiter: \(channelCount) channels at \(sampleRate) Hz")
        }
        guard options.ceilingDBTP <= 0, options.ceilingDBTP > -60 else {
            throw AudioError(.invalidArgument, "true-peak ceiling \(options.ceilingDBTP) dBTP is out of range (-60 to 0)")
        }
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        self.options = options
        inputGain = Float(pow(10, gainDB / 20))
        ceiling = Float(pow(10, (options.ceilingDBTP - options.safetyMarginDB) / 20))
        lookahead = max(TruePeakLimiter.halfTaps + 1, Int((options.lookaheadSeconds * sampleRate).rounded()))
        releaseCoefficient = exp(-1 / max(1, options.releaseSeconds * sampleRate))
        x = Array(repeating: [Float](repeating: 0, count: TruePeakLimiter.halfTaps), count: channelCount)
        dequeFrames = [Int](repeating: 0, count: lookahead + 1)
        dequeValues = [Float](repeating: 1, count: lookahead + 1)
        nextH = -(lookahead - 1)
        boxRing = [Double](repeating: 1, count: lookahead)
        boxSum = Double(lookahead)
        // r = 1 before the signal starts.
        pushR(frame: -1, value: 1)
    }

    /// Frames of delay inside the limiter (compensated: the output is aligned with the input).
    public var latencyFrames: Int { lookahead - 1 + TruePeakLimiter.halfTaps + 1 }

    /// Limits the next block; returns the frames that are ready (aligned with the input, fewer at first).
    public func process(_ buffer: AudioBuffer) -> AudioBuffer {
        precondition(!finished, "process after finish")
        precondition(buffer.channelCount == channelCount, "channel count differs from the limiter's")
        append(buffer.channels, count: buffer.frameCount, gain: inputGain)
        received += buffer.frameCount
        return run(limit: received)
    }

    /// Flushes the look-ahead; the frames returned so far plus these equal the input's length.
    public func finish() -> AudioBuffer {
        precondition(!finished, "finish called twice")
        finished = true
        let padding = latencyFrames + TruePeakLimiter.halfTaps + 1
        append(Array(repeating: [Float](repeating: 0, count: padding), count: channelCount), count: padding, gain: 1)
        return run(limit: received)
    }

    private func append(_ channels: [[Float]], count: Int, gain: Float) {
        for c in 0..<channelCount {
            if gain == 1 {
                x[c].append(contentsOf: channels[c])
            } else {
                channels[c].withUnsafeBufferPointer { src in
                    x[c].append(contentsOf: src.lazy.map { $0 * gain })
                }
            }
        }
    }

    /// Advances every stage as far as the buffered input allows and returns output frames below `limit`.
    private func run(limit: Int) -> AudioBuffer {
        let available = xBase + x[0].count  // frames [xBase, available) are buffered
        // r[n] needs x up to n + halfTaps; each r pushed completes the gain of frame n - lookahead + 1.
        let rEnd = available - TruePeakLimiter.halfTaps
        if rEnd > nextR { computeNeededGain(upTo: rEnd) }
        let outEnd = min(limit, nextH)
        let n = max(0, outEnd - outputFrames)
        var out = [[Float]]()
        out.reserveCapacity(channelCount)
        for c in 0..<channelCount {
            out.append([Float](unsafeUninitializedCapacity: n) { dst, written in
                x[c].withUnsafeBufferPointer { xs in
                    gains.withUnsafeBufferPointer { g in
                        let xo = outputFrames - xBase, go = outputFrames - gainBase
                        for i in 0..<n { dst[i] = xs[xo + i] * g[go + i] }
                    }
                }
                written = n
            })
        }
        outputFrames += n
        // Drop what is no longer needed: input before min(next output, next r - halfTaps), gains before the output.
        let keepFrom = min(outputFrames, nextR - TruePeakLimiter.halfTaps)
        if keepFrom - xBase > 1 << 15 {
            let drop = keepFrom - xBase
            for c in 0..<channelCount { x[c].removeFirst(drop) }
            xBase += drop
        }
        if outputFrames - gainBase > 1 << 15 {
            let drop = outputFrames - gainBase
            gains.removeFirst(drop)
            gainBase += drop
        }
        return AudioBuffer(channels: out, sampleRate: sampleRate)
    }

    /// Computes r[n] for n in [nextR, end), and the gains it completes.
    private func computeNeededGain(upTo end: Int) {
        let half = TruePeakLimiter.halfTaps
        let bound = TruePeakLimiter.interpolatorGainBound
        let chunk = 64
        var n0 = nextR
        var peaks = [Float](repeating: 0, count: chunk)
        var intervalPeaks = [Float](repeating: 0, count: chunk)
        while n0 < end {
            let n1 = min(end, n0 + chunk)
            let count = n1 - n0
            // Window of input the interpolators read (and the interval before): x[n0 - half ..< n1 + half].
            let lo = max(0, n0 - half - xBase), hi = n1 + half - xBase
            var windowPeak: Float = 0
            for c in 0..<channelCount {
                x[c].withUnsafeBufferPointer { xs in
                    for i in lo..<hi { windowPeak = max(windowPeak, abs(xs[i])) }
                }
            }
            if windowPeak * bound < ceiling {
                // Nothing in this stretch can reach the ceiling.
                for i in 0..<count { pushR(frame: n0 + i, value: 1) }
                previousIntervalPeak = 0
            } else {
                for i in 0..<count { peaks[i] = 0; intervalPeaks[i] = 0 }
                for c in 0..<channelCount {
                    x[c].withUnsafeBufferPointer { xs in
                        for i in 0..<count {
                            let base = n0 + i - half + 1 - xBase
                            var ip: Float = 0
                            for phase in TruePeakLimiter.phases {
                                phase.withUnsafeBufferPointer { h in
                                    var acc: Float = 0
                                    for j in 0..<TruePeakLimiter.tapCount { acc += h[j] * xs[base + j] }
                                    ip = max(ip, abs(acc))
                                }
                            }
                            peaks[i] = max(peaks[i], abs(xs[base + half - 1]))
                            intervalPeaks[i] = max(intervalPeaks[i], ip)
                        }
                    }
                }
                for i in 0..<count {
                    // A point between n and n+1 constrains the gain at both.
                    let p = max(peaks[i], intervalPeaks[i], previousIntervalPeak)
                    previousIntervalPeak = intervalPeaks[i]
                    pushR(frame: n0 + i, value: p > ceiling ? ceiling / p : 1)
                }
            }
            n0 = n1
        }
        nextR = end
    }

    /// Adds r[frame] to the sliding minimum and computes the gain of frame `frame - lookahead + 1`:
    /// look-ahead minimum, release, moving average.
    private func pushR(frame: Int, value: Float) {
        let capacity = dequeFrames.count
        // Drop larger values from the back: they can never be the minimum again.
        while dequeCount > 0 {
            let last = (dequeHead + dequeCount - 1) % capacity
            if dequeValues[last] >= value { dequeCount -= 1 } else { break }
        }
        let slot = (dequeHead + dequeCount) % capacity
        dequeFrames[slot] = frame
        dequeValues[slot] = value
        dequeCount += 1
        let m = frame - lookahead + 1
        guard m >= nextH else { return }
        while dequeFrames[dequeHead] < m { dequeHead = (dequeHead + 1) % capacity; dequeCount -= 1 }
        let h = Double(dequeValues[dequeHead])
        // Instant attack (the moving average ramps it), exponential release.
        released = h < released ? h : h + (released - h) * releaseCoefficient
        boxSum += released - boxRing[boxPosition]
        boxRing[boxPosition] = released
        boxPosition = boxPosition + 1 == lookahead ? 0 : boxPosition + 1
        let gain = Float(min(1, boxSum / Double(lookahead)))
        if m >= 0 {
            gains.append(gain)
            if m < received && gain < 1 {
                limitedFrames += 1
                minimumGain = min(minimumGain, gain)
            }
        }
        nextH = m + 1
    }

    /// The largest 4×-interpolated absolute value of `buffer` (linear), with this limiter's interpolator.
    public static func interpolatedPeak(of buffer: AudioBuffer) -> Float {
        var peak: Float = 0
        for channel in buffer.channels {
            peak = max(peak, channel.reduce(0) { max($0, abs($1)) })
            // Sample i sits at padded[i + halfTaps]; the points after it read padded[i + 1 ..< i + 1 + tapCount].
            let padded = [Float](repeating: 0, count: halfTaps) + channel + [Float](repeating: 0, count: halfTaps)
            padded.withUnsafeBufferPointer { xs in
                for base in 0...(padded.count - tapCount) {
                    for phase in phases {
                        var acc: Float = 0
                        for j in 0..<tapCount { acc += phase[j] * xs[base + j] }
                        peak = max(peak, abs(acc))
                    }
                }
            }
        }
        return peak
    }

    private static func makePhases() -> [[Float]] {
        // Kaiser-windowed sinc (β = 8, ±24.5 samples). 48 taps keep the response flat to ~90 % of Nyquist (a
        // 16-tap one already reads 0.3 dB low on limited, bright material).
        (1...3).map { k in kaiserWindowedSinc(count: tapCount, centre: Double(halfTaps - 1) + Double(k) / 4) }
    }
}
