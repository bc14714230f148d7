import Foundation
import VoxAudio
import VoxSpectral

/// Settings of the spectral-envelope estimator.
public struct SpectralEnvelopeOptions: Sendable, Equatable {
    /// q1 of the spectral recovery lifter (Morise 2015, "CheapTrick"): −0.15.
    public var q1 = -0.15
    /// Lowest F0 the FFT must resolve (Hz); it sets `fftSize = 2^(1 + ⌊log2(3·fs/minimumF0 + 1)⌋)` (WORLD:
    /// 2048 at 44.1 kHz, 1024 at 16 kHz). Default 71.
    public var minimumF0 = 71.0
    /// F0 assumed in unvoiced frames (Hz), which sets their smoothing width. Default 500 (WORLD).
    public var unvoicedF0 = 500.0
    /// Explicit FFT size (a power of two ≥ 3·fs/F0 for every F0 analysed), or nil for the size from `minimumF0`.
    public var fftSize: Int? = nil

    public init() {}

    /// The FFT size for `sampleRate`.
    public func fftSize(sampleRate: Double) -> Int {
        if let n = fftSize { return n }
        return 1 << (1 + Int(log2(3 * sampleRate / minimumF0 + 1)))
    }
}

/// F0-adaptive spectral envelope (CheapTrick, Morise 2015, Speech Communication 67).
///
/// Per frame: a Hann window three periods long (so the power spectrum of a periodic signal is temporally
/// stable), the power spectrum folded at 0 Hz below F0, smoothed by a rectangle 2F0/3 wide, then liftered in the
/// cepstral domain by `sinc(F0·q)` (removes the harmonic ripple) times `(1 − 2q1) + 2q1·cos(2π·F0·q)` (recovers
/// the peaks the smoothing flattened). Frames are independent and computed in parallel.
public struct SpectralEnvelope: Sendable {
    public var options: SpectralEnvelopeOptions

    public init(options: SpectralEnvelopeOptions = SpectralEnvelopeOptions()) { self.options = options }

    /// Envelope frames (`f0.count × (fftSize/2 + 1)`, power) of `samples` for the F0 contour `f0` (0 = unvoiced)
    /// at frames `i · framePeriod`.
    public func analyze(samples: [Float], sampleRate fs: Double, f0: [Float], framePeriod: Double) -> (fftSize: Int, envelope: [Float]) {
        let n = options.fftSize(sampleRate: fs)
        let bins = n / 2 + 1
        let opts = options
        let floorF0 = max(opts.minimumF0, 3 * fs / Double(n))
        let envelope = frameMatrix(samples: samples, f0: f0, rowSize: bins, minimumPerJob: 32) { x, f0, range, dst in
            let fft = RealFFT(size: n, measure: false)
            let power = UnsafeMutablePointer<Double>.allocate(capacity: bins)
            let scratchCount = VocoderDSP.smoothingScratchCount(fftSize: n, sampleRate: fs, maxWidth: fs / 2)
            let scratch = UnsafeMutablePointer<Double>.allocate(capacity: scratchCount)
            let weights = UnsafeMutablePointer<Double>.allocate(capacity: n + 1)  // a window is at most n + 1 long
            defer { power.deallocate(); scratch.deallocate(); weights.deallocate() }
            for i in range {
                let raw = Double(f0[i])
                let current = raw > floorF0 ? raw : opts.unvoicedF0
                Self.frame(x, fs: fs, f0: current, position: Double(i) * framePeriod, q1: opts.q1, fft: fft,
                           power: power, scratch: scratch, weights: weights, into: dst + i * bins)
            }
        }
        return (n, envelope)
    }

    /// One frame of CheapTrick into `out` (`fft.size / 2 + 1` values).
    static func frame(_ x: UnsafeBufferPointer<Float>, fs: Double, f0: Double, position: Double, q1: Double, fft: RealFFT,
                      power: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>, weights: UnsafeMutablePointer<Double>,
                      into out: UnsafeMutablePointer<Float>) {
        let n = fft.size
        let half = n / 2
        // Hann window 3 periods long, unit energy.
        let h = Int((1.5 * fs / f0).rounded())
        let t = fft.timeSamples
        let origin = Int((position * fs + 0.001).rounded())
        let energy = VocoderDSP.windowedSegment(x, origin: origin, half: h, into: t.baseAddress!,
                                                window: .hann(omega: .pi * f0 / (1.5 * fs)), weights: weights)
        let norm = Float(1 / energy.squareRoot())
        for j in 0..<(2 * h + 1) { t[j] *= norm }
        for j in (2 * h + 1)..<n { t[j] = 0 }
        fft.transformForward()
        let s = fft.spectrumValues
        for k in 0...half {
            let re = Double(s[2 * k]), im = Double(s[2 * k + 1])
            power[k] = re * re + im * im
        }
        VocoderDSP.dcCorrection(power, f0: f0, sampleRate: fs, fftSize: n, scratch: scratch)
        VocoderDSP.linearSmoothing(power, width: 2 * f0 / 3, sampleRate: fs, fftSize: n, output: power, scratch: scratch)
        // Log spectrum, mirrored → real cepstrum (the forward FFT of an even sequence is real).
        for k in 0...half { t[k] = logf(Float(power[k]) + 1e-30) }
        for k in 1..<half { t[n - k] = t[k] }
        fft.transformForward()
        let scale = 1 / Double(n)
        // Lifters sin(πF0q)/(πF0q) and (1 − 2q1) + 2q1·cos(2πF0q), q = index/fs; the sines and cosines of
        // multiples of πF0/fs by rotation.
        let step = Double.pi * f0 / fs
        let sr = sin(step), cr = cos(step)
        var sinA = 0.0, cosA = 1.0  // sin, cos of q·step
        s[0] = Float(Double(s[0]) * scale)
        s[1] = 0
        for q in 1...half {
            let ns = sinA * cr + cosA * sr
            cosA = cosA * cr - sinA * sr
            sinA = ns
            let arg = step * Double(q)
            let cos2 = cosA * cosA - sinA * sinA  // cos(2·arg)
            let lifter = sinA / arg * ((1 - 2 * q1) + 2 * q1 * cos2)
            s[2 * q] = Float(Double(s[2 * q]) * lifter * scale)
            s[2 * q + 1] = 0
        }
        fft.transformInverse()
        for k in 0...half { out[k] = expf(t[k]) }
    }
}
