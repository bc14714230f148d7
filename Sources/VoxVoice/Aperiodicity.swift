import Foundation
import VoxAudio
import VoxSpectral

/// Settings of the band-aperiodicity estimator.
public struct AperiodicityOptions: Sendable, Equatable {
    /// Spacing of the band centres (Hz). Default 3000 (D4C).
    public var bandSpacing = 3000.0
    /// Highest band centre (Hz). Default 15000 (D4C).
    public var upperFrequency = 15000.0
    /// Voicing check (D4C "LoveTrain"): a frame is treated as voiced only if at least this share of its
    /// 100–7900 Hz power lies below 4 kHz; otherwise it is fully aperiodic. Default 0.85 (pyworld's d4c).
    public var voicedThreshold = 0.85
    /// Lowest F0 the analysis windows are sized for (Hz). Default 47 (D4C).
    public var minimumF0 = 47.0

    public init() {}
}

/// Band aperiodicity (D4C, Morise 2016, Speech Communication 84).
///
/// D4C measures how far the group delay of a voiced frame departs from that of a periodic signal: the
/// "temporally static" group delay (the centroids of two Blackman windows four periods long, a quarter period
/// either side of the frame, over an F0-smoothed power spectrum) is smoothed at F0/2, its F0-smoothed trend is
/// removed, and for each band (a Nuttall window 2·spacing wide, centred on k·spacing) the share of the group
/// delay's "power" outside its strongest components gives the aperiodicity. A corrective term `(F0 − 100)/50`
/// dB follows the paper. Unvoiced frames, and frames failing the voicing check, are fully aperiodic.
public struct Aperiodicity: Sendable {
    public var options: AperiodicityOptions

    public init(options: AperiodicityOptions = AperiodicityOptions()) { self.options = options }

    /// Band centre frequencies for `sampleRate`: 0 Hz, the band centres, Nyquist.
    public func bandFrequencies(sampleRate fs: Double) -> [Double] {
        let count = Int(min(options.upperFrequency, fs / 2 - options.bandSpacing) / options.bandSpacing)
        return [0] + (0..<max(0, count)).map { Double($0 + 1) * options.bandSpacing } + [fs / 2]
    }

    /// Band aperiodicity in dB (`f0.count × bandFrequencies.count`, row-major) for the F0 contour `f0` (0 =
    /// unvoiced) at frames `i · framePeriod`.
    public func analyze(samples: [Float], sampleRate fs: Double, f0: [Float], framePeriod: Double) -> [Float] {
        let freqs = bandFrequencies(sampleRate: fs)
        let bands = freqs.count
        let inner = bands - 2
        let o = options
        let fftSize = 1 << (1 + Int(log2(4 * fs / o.minimumF0 + 1)))
        let loveSize = 1 << (1 + Int(log2(3 * fs / 40 + 1)))
        let windowLength = Int(o.bandSpacing * Double(fftSize) / fs) * 2 + 1
        // The windowed group delay of a band is windowLength samples long: a transform twice that length resolves
        // its spectrum as well as D4C's 4096-point one does (the statistic is a share of energy), 4× cheaper.
        var bandPow2 = 64
        while bandPow2 < 2 * windowLength { bandPow2 *= 2 }
        let bandSize = bandPow2
        let nuttall = (0..<windowLength).map { i -> Double in
            let x = Double(i) / Double(windowLength - 1)
            return 0.355768 - 0.487396 * cos(2 * .pi * x) + 0.144232 * cos(4 * .pi * x) - 0.012604 * cos(6 * .pi * x)
        }
        return frameMatrix(samples: samples, f0: f0, rowSize: bands, minimumPerJob: 16) { x, f0, range, dst in
            var work = Work(fftSize: fftSize, loveSize: loveSize, bandSize: bandSize, sampleRate: fs)
            defer { work.deallocate() }
            for i in range {
                let row = dst + i * bands
                for b in 0..<bands { row[b] = 0 }  // fully aperiodic
                let f = Double(f0[i])
                guard f > 0, inner > 0 else { continue }
                let position = Double(i) * framePeriod
                guard Self.voicedShare(x, fs: fs, f0: max(40, f), position: position, work: &work) > o.voicedThreshold
                else { continue }
                let current = max(o.minimumF0, f)
                Self.staticGroupDelay(x, fs: fs, f0: current, position: position, work: &work)
                row[0] = -60
                for b in 0..<inner {
                    let ap = Self.coarseAperiodicity(work.groupDelay, centre: Int(o.bandSpacing * Double(b + 1) * Double(fftSize) / fs),
                                                     window: nuttall, work: &work)
                    row[b + 1] = Float(min(0, ap + (current - 100) / 50))
                }
                row[bands - 1] = 0
            }
        }
    }

    /// Per-worker buffers.
    struct Work {
        let fft: RealFFT
        let love: RealFFT
        let band: RealFFT
        let fs: Double
        let centroid1: UnsafeMutablePointer<Double>
        let centroid2: UnsafeMutablePointer<Double>
        let smoothPower: UnsafeMutablePointer<Double>
        let groupDelay: UnsafeMutablePointer<Double>
        let trend: UnsafeMutablePointer<Double>
        let scratch: UnsafeMutablePointer<Double>
        let sorted: UnsafeMutablePointer<Double>
        /// The plain spectrum of a centroid's window (interleaved complex, Double).
        let pair: UnsafeMutablePointer<Double>
        /// Window weights for `VocoderDSP.windowedSegment` (every window here is at most one transform long).
        let weights: UnsafeMutablePointer<Double>

        init(fftSize: Int, loveSize: Int, bandSize: Int, sampleRate: Double) {
            fft = RealFFT(size: fftSize, measure: false)
            love = RealFFT(size: loveSize, measure: false)
            band = RealFFT(size: bandSize, measure: false)
            fs = sampleRate
            let bins = fftSize / 2 + 1
            centroid1 = .allocate(capacity: bins)
            centroid2 = .allocate(capacity: bins)
            smoothPower = .allocate(capacity: bins)
            groupDelay = .allocate(capacity: bins)
            trend = .allocate(capacity: bins)
            scratch = .allocate(capacity: VocoderDSP.smoothingScratchCount(fftSize: fftSize, sampleRate: sampleRate, maxWidth: sampleRate / 2))
            sorted = .allocate(capacity: bins)
            pair = .allocate(capacity: 2 * bins)
            weights = .allocate(capacity: max(fftSize, loveSize) + 1)
        }

        func deallocate() {
            for p in [centroid1, centroid2, smoothPower, groupDelay, trend, scratch, sorted, pair, weights] { p.deallocate() }
        }
    }

    /// The `2·half + 1` samples centred at `position` (s), windowed, zero-padded to `fft`'s size and transformed.
    static func transformWindowed(_ x: UnsafeBufferPointer<Float>, fs: Double, position: Double, half h: Int,
                                  window: VocoderDSP.CosineWindow, fft: RealFFT, weights: UnsafeMutablePointer<Double>) {
        let t = fft.timeSamples
        VocoderDSP.windowedSegment(x, origin: Int((position * fs + 0.001).rounded()), half: h, into: t.baseAddress!,
                                   window: window, weights: weights)
        for j in min(fft.size, 2 * h + 1)..<fft.size { t[j] = 0 }
        fft.transformForward()
    }

    /// Share of the 100–7900 Hz power below 4 kHz, Blackman window three periods long (D4C's LoveTrain).
    static func voicedShare(_ x: UnsafeBufferPointer<Float>, fs: Double, f0: Double, position: Double, work: inout Work) -> Double {
        let fft = work.love
        let n = fft.size
        let half = n / 2
        let h = Int((1.5 * fs / f0).rounded())
        transformWindowed(x, fs: fs, position: position, half: h, window: .blackman(omega: .pi * f0 / (1.5 * fs)),
                          fft: fft, weights: work.weights)
        let s = fft.spectrumValues
        let b0 = Int((100 * Double(n) / fs).rounded(.up))
        let b1 = min(half, Int((4000 * Double(n) / fs).rounded(.up)))
        let b2 = min(half, Int((7900 * Double(n) / fs).rounded(.up)))
        var low = 0.0, all = 0.0
        for k in (b0 + 1)...b2 {
            let p = Double(s[2 * k]) * Double(s[2 * k]) + Double(s[2 * k + 1]) * Double(s[2 * k + 1])
            all += p
            if k <= b1 { low += p }
        }
        return all > 0 ? low / all : 0
    }

    /// Group-delay centroid of a Blackman window four periods long centred at `position`, into `out`.
    static func centroid(_ x: UnsafeBufferPointer<Float>, fs: Double, f0: Double, position: Double, fft: RealFFT,
                         scratch: UnsafeMutablePointer<Double>, weights: UnsafeMutablePointer<Double>,
                         into out: UnsafeMutablePointer<Double>) {
        let n = fft.size
        let half = n / 2
        let h = Int((2 * fs / f0).rounded())
        let length = min(n, 2 * h + 1)
        let t = fft.timeSamples
        VocoderDSP.windowedSegment(x, origin: Int((position * fs + 0.001).rounded()), half: h, into: t.baseAddress!,
                                   window: .blackman(omega: .pi * f0 / (2 * fs)), weights: weights)
        var power = 0.0
        for j in 0..<length { power += Double(t[j]) * Double(t[j]) }
        let norm = power > 0 ? Float(1 / power.squareRoot()) : 0
        for j in 0..<length { t[j] *= norm }
        for j in length..<n { t[j] = 0 }
        fft.transformForward()
        let s = fft.spectrumValues
        // Keep the plain spectrum, then the spectrum of the time-weighted signal (n·x[n]: the frequency derivative).
        for k in 0...half { scratch[2 * k] = Double(s[2 * k]); scratch[2 * k + 1] = Double(s[2 * k + 1]) }
        for j in 0..<length { t[j] *= Float(j + 1) }
        fft.transformForward()
        for k in 0...half {
            out[k] = Double(s[2 * k]) * scratch[2 * k] + Double(s[2 * k + 1]) * scratch[2 * k + 1]
        }
    }

    /// Temporally static group delay of the frame at `position`, into `work.groupDelay`.
    static func staticGroupDelay(_ x: UnsafeBufferPointer<Float>, fs: Double, f0: Double, position: Double, work: inout Work) {
        let fft = work.fft
        let n = fft.size
        let half = n / 2
        centroid(x, fs: fs, f0: f0, position: position - 0.25 / f0, fft: fft, scratch: work.pair, weights: work.weights,
                 into: work.centroid1)
        centroid(x, fs: fs, f0: f0, position: position + 0.25 / f0, fft: fft, scratch: work.pair, weights: work.weights,
                 into: work.centroid2)
        for k in 0...half { work.centroid1[k] += work.centroid2[k] }
        VocoderDSP.dcCorrection(work.centroid1, f0: f0, sampleRate: fs, fftSize: n, scratch: work.scratch)
        // F0-smoothed power spectrum, Hann window four periods long.
        let h = Int((2 * fs / f0).rounded())
        transformWindowed(x, fs: fs, position: position, half: h, window: .hann(omega: .pi * f0 / (2 * fs)),
                          fft: fft, weights: work.weights)
        let s = fft.spectrumValues
        let p = work.smoothPower
        for k in 0...half { p[k] = Double(s[2 * k]) * Double(s[2 * k]) + Double(s[2 * k + 1]) * Double(s[2 * k + 1]) }
        VocoderDSP.dcCorrection(p, f0: f0, sampleRate: fs, fftSize: n, scratch: work.scratch)
        VocoderDSP.linearSmoothing(p, width: f0, sampleRate: fs, fftSize: n, output: p, scratch: work.scratch)
        let g = work.groupDelay
        for k in 0...half { g[k] = work.centroid1[k] / max(p[k], 1e-30) }
        VocoderDSP.linearSmoothing(g, width: f0 / 2, sampleRate: fs, fftSize: n, output: g, scratch: work.scratch)
        VocoderDSP.linearSmoothing(g, width: f0, sampleRate: fs, fftSize: n, output: work.trend, scratch: work.scratch)
        for k in 0...half { g[k] -= work.trend[k] }
    }

    /// Aperiodicity (dB) of one band: the share of the windowed group delay's power spectrum left after its
    /// strongest components.
    static func coarseAperiodicity(_ g: UnsafeMutablePointer<Double>, centre: Int, window: [Double], work: inout Work) -> Double {
        let fft = work.band
        let n = fft.size
        let half = n / 2
        let gdHalf = work.fft.size / 2
        let hw = window.count / 2
        let boundary = Int((Double(n) * 8 / Double(window.count)).rounded())
        let t = fft.timeSamples
        for j in 0..<window.count {
            let k = centre - hw + j
            t[j] = k >= 0 && k <= gdHalf ? Float(g[k] * window[j]) : 0
        }
        for j in window.count..<n { t[j] = 0 }
        fft.transformForward()
        let s = fft.spectrumValues
        let v = work.sorted
        var total = 0.0
        for k in 0...half {
            v[k] = Double(s[2 * k]) * Double(s[2 * k]) + Double(s[2 * k + 1]) * Double(s[2 * k + 1])
            total += v[k]
        }
        guard total > 0 else { return 0 }
        // Sum of the largest (boundary + 1) values by partial selection (no full sort).
        let top = Self.sumOfLargest(v, count: half + 1, k: boundary + 1)
        return 10 * log10(max(total - top, 1e-300) / total)
    }

    /// Sum of the `k` largest of `count` values (reorders them), by quickselect.
    static func sumOfLargest(_ v: UnsafeMutablePointer<Double>, count: Int, k: Int) -> Double {
        guard k < count else { return (0..<count).reduce(0) { $0 + v[$1] } }
        // Put the k largest in v[0..<k].
        var lo = 0, hi = count - 1
        let target = k - 1
        while lo < hi {
            let pivot = v[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while v[i] > pivot { i += 1 }
                while v[j] < pivot { j -= 1 }
                if i <= j { let tmp = v[i]; v[i] = v[j]; v[j] = tmp; i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { break }
        }
        var sum = 0.0
        for i in 0..<k { sum += v[i] }
        return sum
    }
}
