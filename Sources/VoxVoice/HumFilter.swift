import Foundation
import VoxSpectral

/// Finds stationary narrow-band tones below the voice's upper harmonics (mains hum at 50/60 Hz and its harmonics,
/// a fan's whine) and removes them with zero-phase notches before F0 tracking.
///
/// A hum is periodic: under a weak or low voice the difference function dips at the hum's period, or at a
/// compromise lag between hum and voice, and the tracker follows the hum (LibriSpeech 2609 has 60 Hz hum 25 dB
/// above the noise floor; under a 130 Hz voice Vox reported 64 Hz). Voice harmonics move, a hum does not: a tone
/// that stands out of the low percentile of the spectrogram (present even in the quietest frames) is hum.
struct HumFilter {
    /// Spectrogram frame length (s); long, for ~2 Hz resolution. Default 0.512.
    var frameSeconds = 0.512
    /// Percentile over frames of each bin's power: a hum must be there in all but the quietest few frames. Default 0.2.
    var percentile = 0.2
    /// How far (dB) a tone must stand above the percentile spectrum's median within ±`neighbourhoodHz`. Default 12.
    var prominenceDB = 12.0
    var neighbourhoodHz = 20.0
    /// Tones searched from `lowestHz` to `highestHz`. Default 45–500 Hz (hum and its first harmonics; above
    /// that a tone no longer sits between the voice's periods in the difference function).
    var lowestHz = 45.0, highestHz = 500.0
    /// The loudest spectrogram frame must be this much (dB) above the `percentile` frame: only a signal with quiet
    /// stretches (pauses) shows which tones are there regardless of the voice; a note held throughout is not hum.
    /// Default 6.
    var minimumDynamicRangeDB = 6.0
    /// A hum's level is steady: the 1 − `percentile` quantile of its bin's power over frames may exceed the
    /// `percentile` one by at most this (dB). A sung note that recurs through a phrase comes and goes and wavers
    /// across bins with vibrato (parallel set us2: 164/170 Hz spread far more). Default 10.
    var maximumSpreadDB = 10.0
    /// −3 dB bandwidth of each notch (Hz). Default 4.
    var notchBandwidthHz = 4.0

    /// Fewest spectrogram frames (half-overlapping) for a decision: a short signal has no quiet frames to tell a
    /// held note from a hum. Default 8 (about 2.3 s).
    var minimumFrames = 8

    /// Frequencies (Hz) of the hum tones in `x`; empty when there is none or `x` is shorter than `minimumFrames`.
    func tones(_ x: [Float], rate: Double) -> [Double] {
        var n = 256
        while Double(n) < frameSeconds * rate { n *= 2 }
        let hop = n / 2
        guard x.count >= n + (minimumFrames - 1) * hop else { return [] }
        let frames = (x.count - n) / hop + 1
        let bins = n / 2 + 1
        let fft = RealFFT(size: n, measure: false)
        var power = [[Float]](repeating: [], count: bins)
        for b in 0..<bins { power[b].reserveCapacity(frames) }
        var frameEnergy = [Double]()
        let window = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
        x.withUnsafeBufferPointer { xs in
            for f in 0..<frames {
                let a = fft.timeSamples
                for j in 0..<n { a[j] = xs[f * hop + j] * window[j] }
                fft.transformForward()
                let s = fft.spectrumValues
                var total: Float = 0
                for b in 0..<bins {
                    let p = s[2 * b] * s[2 * b] + s[2 * b + 1] * s[2 * b + 1]
                    power[b].append(p); total += p
                }
                frameEnergy.append(Double(total))
            }
        }
        let k = min(frames - 1, Int(percentile * Double(frames)))
        let energies = frameEnergy.sorted()
        guard energies[frames - 1] >= energies[k] * pow(10, minimumDynamicRangeDB / 10) else { return [] }
        // Low percentile of each bin over frames, in dB.
        var floorDB = [Double](), spreadDB = [Double]()
        for p in power {
            let q = p.sorted()
            floorDB.append(10 * log10(Double(q[k]) + 1e-30))
            spreadDB.append(10 * log10((Double(q[frames - 1 - k]) + 1e-30) / (Double(q[k]) + 1e-30)))
        }
        let binHz = rate / Double(n)
        let reach = max(3, Int(neighbourhoodHz / binHz))
        var found = [Double]()
        let lo = max(reach + 1, Int(lowestHz / binHz)), hi = min(bins - reach - 2, Int(highestHz / binHz))
        guard lo < hi else { return [] }
        for b in lo...hi where floorDB[b] > floorDB[b - 1] && floorDB[b] >= floorDB[b + 1] {
            // Neighbourhood median without the peak's own main lobe (±2 bins).
            var around = [Double]()
            for j in (b - reach)...(b + reach) where abs(j - b) > 2 { around.append(floorDB[j]) }
            around.sort()
            guard floorDB[b] - around[around.count / 2] >= prominenceDB, spreadDB[b] <= maximumSpreadDB else { continue }
            let y0 = floorDB[b - 1], y1 = floorDB[b], y2 = floorDB[b + 1]
            let den = y0 - 2 * y1 + y2
            let shift = den < 0 ? max(-0.5, min(0.5, 0.5 * (y0 - y2) / den)) : 0
            found.append((Double(b) + shift) * binHz)
        }
        return found
    }

    /// `x` with a zero-phase notch (a biquad run forward and backward) at each of `frequencies`.
    func removing(_ frequencies: [Double], from x: [Float], rate: Double) -> [Float] {
        guard !frequencies.isEmpty else { return x }
        var y = x.map(Double.init)
        for f in frequencies {
            let w0 = 2 * Double.pi * f / rate
            let alpha = sin(w0) / (2 * (f / notchBandwidthHz))
            let a0 = 1 + alpha
            let b = 1 / a0, a1 = -2 * cos(w0) / a0
            ZeroPhaseBiquad(b0: b, b1: a1, b2: b, a1: a1, a2: (1 - alpha) / a0).apply(&y)
        }
        return y.map { Float($0) }
    }
}
