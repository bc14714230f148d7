import Foundation
import VoxAudio
@testable import VoxVoice

/// A harmonic tone (sawtooth-like, 1/k amplitudes, all harmonics below Nyquist) following `f0(t)` in Hz, with
/// its phase integrated sample by sample so sweeps and vibrato are exact.
func harmonicTone(seconds: Double, sampleRate: Double, amplitude: Double = 0.3, harmonics: Int = 30,
                  f0: (Double) -> Double) -> [Float] {
    let n = Int(seconds * sampleRate)
    var phase = 0.0
    var out = [Float](repeating: 0, count: n)
    for i in 0..<n {
        let f = f0(Double(i) / sampleRate)
        var v = 0.0
        if f > 0 {
            for k in 1...harmonics where Double(k) * f < sampleRate / 2 { v += sin(Double(k) * phase) / Double(k) }
        }
        out[i] = Float(amplitude * v * 0.6)
        phase += 2 * .pi * f / sampleRate
        if phase > 2 * .pi * 1000 { phase -= 2 * .pi * 1000 }
    }
    return out
}

/// Deterministic white noise in [−amplitude, amplitude].
func whiteNoise(_ n: Int, amplitude: Float, seed: UInt64 = 7) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return (Float(s >> 40) / 16_777_216 * 2 - 1) * amplitude
    }
}

/// Signed error in cents of `estimate` against `truth`.
func cents(_ estimate: Double, _ truth: Double) -> Double { 1200 * log2(estimate / truth) }

/// Median of a non-empty array.
func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// RMS in dB of a signal range.
func rmsDB(_ x: ArraySlice<Float>) -> Double {
    let e = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, x.count))
    return 10 * log10(max(e, 1e-20))
}
