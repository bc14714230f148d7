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
    /// The detector holds this much below the ceiling (dB), for the difference between its interpolator and other
    /// meters' (ffmpeg's ebur128 resamples to 192 kHz with its own filter and read up to 0.12 dB higher on pushed
    /// masters of the shared songs with a 0.1 dB margin) and for the small inter-sample effect of the gain's own
    /// movement. Default 0.2 dB.
    public var safetyMarginDB: Double = 0.2

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
    /// The three phases one after the other.
    static let flatPhases: [Float] = phases.flatMap { $0 }
    static let detectorChunk = 256
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
    private var peakScratch = [Float](repeating: 0, count: detectorChunk)
    private var intervalScratch = [Float](repeating: 0, count: detectorChunk)
    private var accumulatorScratch = [Float](repeating: 0, count: detectorChunk)
    private var rScratch = [Float](repeating: 1, count: detectorChunk)

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
        rScratch[0] = 1
        pushR(firstFrame: -1, count: 1)
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
                        let src = xs.baseAddress! + (outputFrames - xBase), gain = g.baseAddress! + (outputFrames - gainBase)
                        for i in 0..<n { dst[i] = src[i] * gain[i] }
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
        let chunk = TruePeakLimiter.detectorChunk
        var n0 = nextR
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
                rScratch.withUnsafeMutableBufferPointer { r in for i in 0..<count { r[i] = 1 } }
                pushR(firstFrame: n0, count: count)
                previousIntervalPeak = 0
                n0 = n1
                continue
            }
            peakScratch.withUnsafeMutableBufferPointer { peaks in
                intervalScratch.withUnsafeMutableBufferPointer { intervals in
                    accumulatorScratch.withUnsafeMutableBufferPointer { acc in
                        TruePeakLimiter.flatPhases.withUnsafeBufferPointer { h in
                            for i in 0..<count { peaks[i] = 0; intervals[i] = 0 }
                            for c in 0..<channelCount {
                                x[c].withUnsafeBufferPointer { xs in
                                    // The points after sample n read x[n - half + 1 ... n + half].
                                    let start = n0 - half + 1 - xBase
                                    for i in 0..<count { peaks[i] = max(peaks[i], abs(xs[start + half - 1 + i])) }
                                    TruePeakLimiter.accumulateIntervalPeaks(xs, start: start, count: count, phases: h,
                                                                            into: intervals, scratch: acc)
                                }
                            }
                            var previous = previousIntervalPeak
                            let c = ceiling
                            rScratch.withUnsafeMutableBufferPointer { r in
                                for i in 0..<count {
                                    // A point between n and n+1 constrains the gain at both.
                                    let p = max(peaks[i], intervals[i], previous)
                                    previous = intervals[i]
                                    r[i] = p > c ? c / p : 1
                                }
                            }
                            previousIntervalPeak = previous
                        }
                    }
                }
            }
            pushR(firstFrame: n0, count: count)
            n0 = n1
        }
        nextR = end
    }

    /// Adds r[firstFrame ..< firstFrame + count] (from `rScratch`) to the sliding minimum and computes the gain of
    /// each frame `lookahead − 1` earlier: look-ahead minimum, release, moving average. State lives in locals during
    /// the loop (per-sample access to the object's arrays would pay exclusivity checks).
    private func pushR(firstFrame: Int, count: Int) {
        let capacity = dequeFrames.count
        let lookahead = self.lookahead, releaseCoefficient = self.releaseCoefficient
        var head = dequeHead, size = dequeCount, h0 = nextH
        var released = self.released, boxSum = self.boxSum, boxPosition = self.boxPosition
        var limited: Int64 = 0, minimum = minimumGain
        let received = self.received
        var newGains = [Float]()
        newGains.reserveCapacity(count)
        dequeFrames.withUnsafeMutableBufferPointer { frames in
            dequeValues.withUnsafeMutableBufferPointer { values in
                boxRing.withUnsafeMutableBufferPointer { ring in
                    rScratch.withUnsafeBufferPointer { r in
                        for i in 0..<count {
                            let frame = firstFrame + i, value = r[i]
                            // Drop larger values from the back: they can never be the minimum again.
                            while size > 0 {
                                let last = (head + size - 1) % capacity
                                if values[last] >= value { size -= 1 } else { break }
                            }
                            let slot = (head + size) % capacity
                            frames[slot] = frame
                            values[slot] = value
                            size += 1
                            let m = frame - lookahead + 1
                            guard m >= h0 else { continue }
                            while frames[head] < m { head = (head + 1) % capacity; size -= 1 }
                            let h = Double(values[head])
                            // Instant attack (the moving average ramps it), exponential release.
                            released = h < released ? h : h + (released - h) * releaseCoefficient
                            boxSum += released - ring[boxPosition]
                            ring[boxPosition] = released
                            boxPosition = boxPosition + 1 == lookahead ? 0 : boxPosition + 1
                            let gain = Float(min(1, boxSum / Double(lookahead)))
                            if m >= 0 {
                                newGains.append(gain)
                                if m < received && gain < 1 {
                                    limited += 1
                                    minimum = min(minimum, gain)
                                }
                            }
                            h0 = m + 1
                        }
                    }
                }
            }
        }
        gains.append(contentsOf: newGains)
        dequeHead = head
        dequeCount = size
        nextH = h0
        self.released = released
        self.boxSum = boxSum
        self.boxPosition = boxPosition
        limitedFrames += limited
        minimumGain = minimum
    }

    /// The largest 4×-interpolated absolute value of `buffer` (linear), with this limiter's interpolator.
    public static func interpolatedPeak(of buffer: AudioBuffer) -> Float {
        let meter = TruePeakMeter(channelCount: buffer.channelCount)
        meter.add(buffer)
        return meter.finish()
    }

    /// For i in 0..<count: `intervals[i]` = max(itself, |the 3 interpolated points after the sample whose window
    /// starts at xs[start + i]|). Taps outside, samples inside: the inner loop is a vectorisable axpy.
    @inline(__always)
    static func accumulateIntervalPeaks(_ xs: UnsafeBufferPointer<Float>, start: Int, count: Int,
                                        phases h: UnsafeBufferPointer<Float>, into intervals: UnsafeMutableBufferPointer<Float>,
                                        scratch acc: UnsafeMutableBufferPointer<Float>) {
        // Plain pointers offset once per row: no index arithmetic (overflow checks) in the inner loop, which then
        // vectorises.
        let a = acc.baseAddress!
        for phase in 0..<3 {
            for i in 0..<count { a[i] = 0 }
            for j in 0..<tapCount {
                let w = h[phase * tapCount + j]
                let src = xs.baseAddress! + (start + j)
                for i in 0..<count { a[i] += w * src[i] }
            }
            for i in 0..<count { intervals[i] = max(intervals[i], abs(a[i])) }
        }
    }

    private static func makePhases() -> [[Float]] {
        // Kaiser-windowed sinc (β = 8, ±24.5 samples). 48 taps keep the response flat to ~90 % of Nyquist (a
        // 16-tap one already reads 0.3 dB low on limited, bright material).
        (1...3).map { k in kaiserWindowedSinc(count: tapCount, centre: Double(halfTaps - 1) + Double(k) / 4) }
    }
}

/// Streaming true-peak meter with the limiter's 4× interpolator (48 taps per phase: flat to ~90 % of Nyquist,
/// closer to an ideal reconstruction than BS.1770-4's 12-tap example filter, and vectorised).
public final class TruePeakMeter {
    public let channelCount: Int
    private var history: [[Float]]
    private var peak: Float = 0
    private var intervals = [Float](repeating: 0, count: TruePeakLimiter.detectorChunk)
    private var scratch = [Float](repeating: 0, count: TruePeakLimiter.detectorChunk)

    public init(channelCount: Int) {
        self.channelCount = channelCount
        history = Array(repeating: [Float](repeating: 0, count: TruePeakLimiter.tapCount - 1), count: channelCount)
    }

    /// Adds a block (silence before the first one).
    public func add(_ buffer: AudioBuffer) {
        for c in 0..<channelCount {
            let samples = buffer.channels[c]
            peak = max(peak, samples.reduce(0) { max($0, abs($1)) })
            let extended = history[c] + samples
            peak = max(peak, interpolatedPeak(extended, atLeast: peak))
            history[c] = Array(extended.suffix(TruePeakLimiter.tapCount - 1))
        }
    }

    /// The largest interpolated value of `xs` over every complete window, skipping stretches that cannot beat
    /// `floor`.
    private func interpolatedPeak(_ extended: [Float], atLeast floor: Float) -> Float {
        let taps = TruePeakLimiter.tapCount
        let positions = extended.count - taps + 1
        var best = floor
        guard positions > 0 else { return best }
        extended.withUnsafeBufferPointer { xs in
            TruePeakLimiter.flatPhases.withUnsafeBufferPointer { h in
                intervals.withUnsafeMutableBufferPointer { iv in
                    scratch.withUnsafeMutableBufferPointer { acc in
                        let bound = TruePeakLimiter.interpolatorGainBound
                        var p0 = 0
                        while p0 < positions {
                            let count = min(TruePeakLimiter.detectorChunk, positions - p0)
                            var windowPeak: Float = 0
                            for i in p0..<(p0 + count + taps - 1) { windowPeak = max(windowPeak, abs(xs[i])) }
                            if windowPeak * bound > best {
                                for i in 0..<count { iv[i] = 0 }
                                TruePeakLimiter.accumulateIntervalPeaks(xs, start: p0, count: count, phases: h, into: iv, scratch: acc)
                                for i in 0..<count { best = max(best, iv[i]) }
                            }
                            p0 += count
                        }
                    }
                }
            }
        }
        return best
    }

    /// The true peak (linear) so far, counting silence after the last block (the filter's tail), without
    /// consuming anything.
    public var currentPeak: Float {
        var best = peak
        for c in 0..<channelCount {
            best = max(best, interpolatedPeak(history[c] + [Float](repeating: 0, count: TruePeakLimiter.tapCount - 1), atLeast: best))
        }
        return best
    }

    /// The true peak (linear) of everything added, with silence after it.
    public func finish() -> Float { currentPeak }
}
