import Foundation
import XCTest
import VoxAudio
import VoxSpectral
@testable import VoxVoice

/// The vocoder's optimised building blocks against straightforward references (one libm call per window
/// sample, per-bin integration), and CheapTrick built from those references against `SpectralEnvelope`: the
/// speed-ups may change results only by rounding.
final class VocoderDSPTests: XCTestCase {
    /// `windowedSegment` written the obvious way: cosines from libm, clamped reads, window-weighted mean removed.
    static func referenceSegment(_ x: [Float], origin: Int, half: Int, window: VocoderDSP.CosineWindow) -> (values: [Double], energy: Double) {
        let count = 2 * half + 1
        var w = [Double](repeating: 0, count: count), v = w
        for j in 0..<count {
            let c = cos(Double(j - half) * window.omega)
            w[j] = window.a0 + window.a1 * c + window.a2 * cos(2 * Double(j - half) * window.omega)
            v[j] = Double(x[max(0, min(x.count - 1, origin - half + j))]) * w[j]
        }
        let mean = v.reduce(0, +) / w.reduce(0, +)
        return ((0..<count).map { v[$0] - w[$0] * mean }, w.reduce(0) { $0 + $1 * $1 })
    }

    /// `linearSmoothing` written the obvious way: the mean, over `[f − width/2, f + width/2]`, of the spectrum as
    /// a step function (bin k covers `(k ± 0.5)·df`), mirrored at 0 Hz and at Nyquist.
    static func referenceSmoothing(_ s: [Double], width: Double, df: Double) -> [Double] {
        let half = s.count - 1
        func value(_ k: Int) -> Double { k < 0 ? s[min(half, -k)] : (k > half ? s[max(0, 2 * half - k)] : s[k]) }
        return (0...half).map { i in
            let lo = Double(i) * df - width / 2, hi = Double(i) * df + width / 2
            var sum = 0.0
            for k in Int((lo / df - 0.5).rounded(.down))...Int((hi / df + 0.5).rounded(.up)) {
                let a = max(lo, (Double(k) - 0.5) * df), b = min(hi, (Double(k) + 0.5) * df)
                if b > a { sum += (b - a) * value(k) }
            }
            return sum / width
        }
    }

    func testWindowedSegmentMatchesReference() {
        let noise = whiteNoise(3000, amplitude: 0.5)
        let x: [Float] = noise.indices.map { i in noise[i] + 0.2 + Float(i) * 1e-4 }
        let weights = UnsafeMutablePointer<Double>.allocate(capacity: 2048)
        let dst = UnsafeMutablePointer<Float>.allocate(capacity: 2048)
        defer { weights.deallocate(); dst.deallocate() }
        // Interior and both clamped ends; window lengths 1, 2 and 3 mod 4 and a multiple of 4 plus 1.
        for (origin, half) in [(1500, 1000), (1500, 160), (10, 221), (2990, 300), (0, 1), (2999, 2), (700, 3)] {
            for window in [VocoderDSP.CosineWindow.hann(omega: .pi / Double(half + 1)), .blackman(omega: .pi / Double(half + 1))] {
                let energy = x.withUnsafeBufferPointer {
                    VocoderDSP.windowedSegment($0, origin: origin, half: half, into: dst, window: window, weights: weights)
                }
                let ref = Self.referenceSegment(x, origin: origin, half: half, window: window)
                XCTAssertEqual(energy, ref.energy, accuracy: 1e-10 * ref.energy)
                // Float output: the rounding is relative to the windowed samples (|x·w| < 1) before the mean is removed.
                for j in 0..<(2 * half + 1) {
                    XCTAssertEqual(Double(dst[j]), ref.values[j], accuracy: 1e-6, "origin \(origin), half \(half), j \(j)")
                }
            }
        }
    }

    func testLinearSmoothingMatchesReference() {
        let n = 1024, fs = 16000.0, bins = n / 2 + 1
        let noise = whiteNoise(bins, amplitude: 1, seed: 3)
        let spectrum: [Double] = noise.indices.map { k in Double(noise[k]) + 2 + sin(Double(k) / 9) }
        var out = [Double](repeating: 0, count: bins)
        var scratch = [Double](repeating: 0, count: VocoderDSP.smoothingScratchCount(fftSize: n, sampleRate: fs, maxWidth: fs / 2))
        for width in [37.3, 100, 2 * 213.0 / 3, 500, 1234.5] {
            VocoderDSP.linearSmoothing(spectrum, width: width, sampleRate: fs, fftSize: n, output: &out, scratch: &scratch)
            let ref = Self.referenceSmoothing(spectrum, width: width, df: fs / Double(n))
            for k in 0..<bins { XCTAssertEqual(out[k], ref[k], accuracy: 1e-9, "width \(width), bin \(k)") }
        }
    }

    /// One CheapTrick frame from the references and plain libm/FFT calls (log power spectrum).
    static func referenceEnvelopeFrame(_ x: [Float], fs: Double, f0: Double, position: Double, n: Int, q1: Double) -> [Double] {
        let half = n / 2
        let h = Int((1.5 * fs / f0).rounded())
        let seg = referenceSegment(x, origin: Int((position * fs + 0.001).rounded()), half: h,
                                   window: .hann(omega: .pi * f0 / (1.5 * fs)))
        let fft = RealFFT(size: n, measure: false)
        var t = [Float](repeating: 0, count: n)
        for j in 0..<(2 * h + 1) { t[j] = Float(seg.values[j] / seg.energy.squareRoot()) }
        let s = fft.forward(t)
        var p = [Double](repeating: 0, count: half + 1)
        for k in 0...half {
            let re = Double(s[2 * k]), im = Double(s[2 * k + 1])
            p[k] = re * re + im * im
        }
        // DC correction: the spectrum at f0 − f (linear interpolation) added below f0.
        let df = fs / Double(n)
        let folded = (0...half).map { k -> Double in
            let f = Double(k) * df
            guard f < f0 + df else { return 0 }
            let pos = (f0 - f) / df, k0 = max(0, min(half - 1, Int(pos.rounded(.down))))
            return p[k0] + (p[k0 + 1] - p[k0]) * (pos - Double(k0))
        }
        let upper = min(half + 1, 2 + Int(f0 / df))
        for k in 0..<(upper - 1) { p[k] += folded[k] }
        p = referenceSmoothing(p, width: 2 * f0 / 3, df: df)
        // Real cepstrum of the log spectrum, liftered, back to a log spectrum (direct cosine sums).
        let logP = p.map { Double(logf(Float($0) + 1e-30)) }
        let cepstrum = (0...half).map { q -> Double in
            var c = logP[0] + (q % 2 == 0 ? logP[half] : -logP[half])
            for k in 1..<half { c += 2 * logP[k] * cos(2 * .pi * Double(k * q) / Double(n)) }
            return c / Double(n)
        }
        let liftered = (0...half).map { q -> Double in
            guard q > 0 else { return cepstrum[0] }
            let arg = .pi * f0 * Double(q) / fs
            return cepstrum[q] * sin(arg) / arg * ((1 - 2 * q1) + 2 * q1 * cos(2 * arg))
        }
        return (0...half).map { k in
            var v = liftered[0] + (k % 2 == 0 ? liftered[half] : -liftered[half])
            for q in 1..<half { v += 2 * liftered[q] * cos(2 * .pi * Double(k * q) / Double(n)) }
            return v
        }
    }

    func testSpectralEnvelopeMatchesReferenceOnAVoice() {
        let fs = 16000.0
        let x = harmonicTone(seconds: 0.3, sampleRate: fs, harmonics: 60) { 150 * pow(2, 0.5 / 12 * sin(2 * .pi * 5 * $0)) }
        let frames = [10, 31, 55]  // 5 ms frames
        let f0: [Float] = (0..<60).map { i in
            frames.contains(i) ? Float(150 * pow(2, 0.5 / 12 * sin(2 * .pi * 5 * Double(i) * 0.005))) : 0
        }
        let options = SpectralEnvelopeOptions()
        let (n, envelope) = SpectralEnvelope(options: options).analyze(samples: x, sampleRate: fs, f0: f0, framePeriod: 0.005)
        let bins = n / 2 + 1
        for i in frames {
            let ref = Self.referenceEnvelopeFrame(x, fs: fs, f0: Double(f0[i]), position: Double(i) * 0.005, n: n, q1: options.q1)
            // Bins more than 60 dB under the frame's peak hold Float FFT round-off, not the voice.
            let floor = ref.max()! - 60 / (10 / log(10))
            for k in 0..<bins where ref[k] > floor {
                let dB = 10 * log10(Double(envelope[i * bins + k])) - 10 * ref[k] / log(10)
                XCTAssertEqual(dB, 0, accuracy: 0.01, "frame \(i), bin \(k)")
            }
        }
    }
}
