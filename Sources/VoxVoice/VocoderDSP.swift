import Foundation

// Building blocks shared by the F0-adaptive analyses (CheapTrick, D4C, StoneMask-style refinement) and the
// synthesiser. Spectra here are one-sided power spectra of `fftSize / 2 + 1` bins in Double, because the
// cumulative sums of the linear smoothing lose precision in Float.

/// A raw pointer handed to `concurrentPerform` workers that write disjoint regions.
struct SharedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Runs `body` over `count` items split into contiguous ranges, one range per job, on all cores.
///
/// Jobs get at least `minimumPerJob` items so that short inputs do not pay for thread hand-offs.
func parallelRanges(_ count: Int, minimumPerJob: Int = 16, _ body: @Sendable (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let jobs = max(1, min(2 * cores, count / max(1, minimumPerJob)))
    if jobs == 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: jobs) { j in
        body((count * j / jobs)..<(count * (j + 1) / jobs))
    }
}

/// A `frames × rowSize` matrix (row-major) filled by per-frame analyses running in parallel: `body` gets the
/// signal, the F0 contour, a range of frames and the matrix's base pointer, and writes rows in that range only.
func frameMatrix(samples: [Float], f0: [Float], rowSize: Int, minimumPerJob: Int,
                 _ body: @Sendable (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    let frames = f0.count
    return [Float](unsafeUninitializedCapacity: frames * rowSize) { out, count in
        let dst = SharedPointer(out.baseAddress!)
        samples.withUnsafeBufferPointer { xb in
            f0.withUnsafeBufferPointer { fb in
                let xs = SharedPointer(UnsafeMutablePointer(mutating: xb.baseAddress!)), xlen = xb.count
                let fp = SharedPointer(UnsafeMutablePointer(mutating: fb.baseAddress!))
                parallelRanges(frames, minimumPerJob: minimumPerJob) { range in
                    body(UnsafeBufferPointer(start: xs.pointer, count: xlen), UnsafeBufferPointer(start: fp.pointer, count: frames),
                         range, dst.pointer)
                }
            }
        }
        count = frames * rowSize
    }
}

/// Mean of all channels as one array (the vocoder analyses one voice).
func monoSamples(_ channels: [[Float]]) -> [Float] {
    if channels.count == 1 { return channels[0] }
    let n = channels[0].count
    let scale = 1 / Float(channels.count)
    return [Float](unsafeUninitializedCapacity: n) { dst, count in
        for i in 0..<n { dst[i] = 0 }
        for c in channels { c.withUnsafeBufferPointer { src in for i in 0..<n { dst[i] += src[i] * scale } } }
        count = n
    }
}

/// Number of analysis frames WORLD uses for `sampleCount` samples: frames at `i · framePeriod`, `i ≥ 0`, up to
/// and including the last one at or before the end.
func worldFrameCount(sampleCount: Int, sampleRate: Double, framePeriod: Double) -> Int {
    Int(Double(sampleCount) / sampleRate / framePeriod) + 1
}

enum VocoderDSP {
    /// Adds the mirror image of the band below `f0` onto itself (WORLD's DC correction): a window a few
    /// periods long leaks the fundamental's energy to negative frequencies; folding it back keeps the
    /// envelope flat towards 0 Hz instead of dipping.
    static func dcCorrection(_ spectrum: UnsafeMutablePointer<Double>, f0: Double, sampleRate fs: Double, fftSize: Int,
                             scratch: UnsafeMutablePointer<Double>) {
        let df = fs / Double(fftSize)
        let half = fftSize / 2
        let upper = min(half + 1, 2 + Int(f0 / df))
        // replica[i] = spectrum at frequency (f0 − i·df), linear interpolation between bins.
        for i in 0..<(upper - 1) {
            let pos = f0 / df - Double(i)
            let k = max(0, min(half - 1, Int(pos.rounded(.down))))
            let frac = pos - Double(k)
            scratch[i] = spectrum[k] + (spectrum[k + 1] - spectrum[k]) * frac
        }
        for i in 0..<(upper - 1) { spectrum[i] += scratch[i] }
    }

    /// Moving average of a one-sided spectrum over a rectangular window `width` Hz wide (WORLD's linear
    /// smoothing): the integral of the piecewise-constant spectrum, mirrored at 0 Hz and Nyquist, over
    /// `[f − width/2, f + width/2]`, divided by the width. In place is allowed (`output == input`).
    /// `scratch` holds at least `fftSize / 2 + 2 · (width · fftSize / fs + 1) + 1` values.
    static func linearSmoothing(_ input: UnsafePointer<Double>, width: Double, sampleRate fs: Double, fftSize: Int,
                                output: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>) {
        let half = fftSize / 2
        let df = fs / Double(fftSize)
        let boundary = Int(width / df) + 1
        let m = half + 2 * boundary + 1
        // scratch[i] is the integral up to the upper edge of mirrored bin i. Three branch-free runs (mirror below
        // 0 Hz, the spectrum, mirror above Nyquist) add the same terms in the same order as one loop would.
        var acc = 0.0
        for i in 0..<boundary {
            acc += input[boundary - i] * df
            scratch[i] = acc
        }
        for i in boundary..<(half + boundary) {
            acc += input[i - boundary] * df
            scratch[i] = acc
        }
        for i in (half + boundary)..<m {
            acc += input[max(0, 2 * half + boundary - i)] * df
            scratch[i] = acc
        }
        // scratch[i] sits at frequency (i − boundary + 0.5)·df, so output bin i reads the integral at positions
        // i + cLo and i + cHi: the same fractional offset for every bin (no per-bin floor).
        let cLo = -width / 2 / df + Double(boundary) - 0.5
        let cHi = cLo + width / df
        let kLo = Int(cLo.rounded(.down)), kHi = Int(cHi.rounded(.down))
        let fLo = cLo - Double(kLo), fHi = cHi - Double(kHi)
        let inv = 1 / width
        for i in 0...half {
            let a = i + kLo, b = i + kHi
            let lo = scratch[a] + (scratch[a + 1] - scratch[a]) * fLo
            let hi = scratch[b] + (scratch[b + 1] - scratch[b]) * fHi
            output[i] = (hi - lo) * inv
        }
    }

    /// Scratch size `linearSmoothing` needs for widths up to `maxWidth` Hz.
    static func smoothingScratchCount(fftSize: Int, sampleRate fs: Double, maxWidth: Double) -> Int {
        fftSize / 2 + 2 * (Int(maxWidth * Double(fftSize) / fs) + 2) + 2
    }

    /// A cosine-sum window `a0 + a1·cos(ω·k) + a2·cos(2ω·k)` for `k` in `−half…half` (Hann: 0.5, 0.5, 0;
    /// Blackman: 0.42, 0.5, 0.08), with `ω` in radians per sample.
    struct CosineWindow {
        var a0: Double, a1: Double, a2: Double, omega: Double
        static func hann(omega: Double) -> CosineWindow { CosineWindow(a0: 0.5, a1: 0.5, a2: 0, omega: omega) }
        static func blackman(omega: Double) -> CosineWindow { CosineWindow(a0: 0.42, a1: 0.5, a2: 0.08, omega: omega) }
    }

    /// Copies `2·half + 1` samples of `x` centred on sample `origin` (indices clamped at the ends, as WORLD
    /// does) times `window` into `dst`, then removes the window-weighted mean so that a DC offset does not leak
    /// into the low bins. Returns the window's energy `Σ w²`. `weights` is scratch for `2·half + 1` values
    /// (callers keep one per worker: no allocation per frame).
    ///
    /// The cosines come from the Chebyshev recurrence `cos((k+4)ω) = 2cos(4ω)·cos(kω) − cos((k−4)ω)` rather than
    /// one libm call per sample: four interleaved chains (one per SIMD lane) instead of the one-step recurrence,
    /// whose multiply–subtract latency per sample bounded the whole loop. The window values agree with libm's to
    /// ~1e-13 over 4000 samples.
    @discardableResult
    static func windowedSegment(_ x: UnsafeBufferPointer<Float>, origin: Int, half: Int, into dst: UnsafeMutablePointer<Float>,
                                window: CosineWindow, weights: UnsafeMutablePointer<Double>) -> Double {
        let last = x.count - 1
        let count = 2 * half + 1
        let omega = window.omega
        let first = origin - half
        let lanes = SIMD4<Double>(0, 1, 2, 3)
        var cur = (lanes - Double(half)) * omega, prev = cur - 4 * omega
        for r in 0..<4 { cur[r] = cos(cur[r]); prev[r] = cos(prev[r]) }
        let c4 = 2 * cos(4 * omega)
        let a0 = SIMD4<Double>(repeating: window.a0), a1 = SIMD4<Double>(repeating: window.a1)
        let a2 = SIMD4<Double>(repeating: window.a2)
        var sumX = SIMD4<Double>(), sumW = SIMD4<Double>(), energy = SIMD4<Double>()
        var j = 0
        while j < count {
            let w = a0 + a1 * cur + a2 * (2 * cur * cur - 1)
            var xs = SIMD4<Double>()
            let lanesHere = min(4, count - j)
            if lanesHere == 4 && first + j >= 0 && first + j + 3 <= last {
                let p = x.baseAddress! + first + j
                xs = SIMD4(Double(p[0]), Double(p[1]), Double(p[2]), Double(p[3]))
            } else {
                for r in 0..<lanesHere { xs[r] = Double(x[max(0, min(last, first + j + r))]) }
            }
            // Lanes past the end hold x = 0 and are masked out of the window sums.
            let live = lanes .< Double(lanesHere)
            let wl = SIMD4<Double>(repeating: 0).replacing(with: w, where: live)
            let v = xs * wl
            for r in 0..<lanesHere { weights[j + r] = w[r]; dst[j + r] = Float(v[r]) }
            sumX += v; sumW += wl; energy += wl * wl
            let next = c4 * cur - prev
            prev = cur; cur = next
            j += 4
        }
        let totalW = sumW.sum()
        let mean = totalW != 0 ? sumX.sum() / totalW : 0
        for j in 0..<count { dst[j] -= Float(weights[j] * mean) }
        return energy.sum()
    }
}

/// Deterministic Gaussian noise (SplitMix64 + Box–Muller), so that synthesis is reproducible.
struct GaussianNoise {
    private var state: UInt64
    private var spare: Double?

    init(seed: UInt64) { state = seed }

    private mutating func nextUniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / 9_007_199_254_740_992
    }

    mutating func next() -> Double {
        if let s = spare { spare = nil; return s }
        let u1 = nextUniform(), u2 = nextUniform()
        let r = (-2 * log(u1)).squareRoot()
        spare = r * sin(2 * .pi * u2)
        return r * cos(2 * .pi * u2)
    }
}
