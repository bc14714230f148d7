import COpenBLAS
import Foundation
import VoxAudio
import VoxSpectral

/// Parameters of the weights-free vocal separator. Defaults were chosen on the development songs.
public struct ClassicSeparationOptions: Sendable {
    /// REPET-SIM: how many most-similar frames model the repeating background of a frame (Rafii & Pardo 2012).
    /// Measured on the dev songs (whole-track vocals SDR, median): 10 → 3.6 dB, 20 → 4.0, 40 → 4.4, 80 → 5.1.
    public var similarFrames = 80
    /// Frames closer than this (seconds) are not taken as repetitions of each other.
    public var minimumRepeatDistanceSeconds = 1.0
    /// Harmonic/percussive median filter lengths (Fitzgerald 2010): frames along time, bins along frequency.
    public var harmonicFilterFrames = 17
    public var percussiveFilterBins = 17
    /// Vocal band (Hz): outside it the vocal mask fades out.
    public var vocalLowHz = 120.0
    public var vocalHighHz = 12000.0
    /// Weight of the stereo centre cue (0: ignore panning).
    public var centreWeight: Float = 0.5

    public init() {}
}

/// A vocals/accompaniment separator that needs no trained weights (`--model classic`).
///
/// Per window of STFT frames, on the channel-pooled magnitude `V(t, f)`:
/// 1. **Repeating background** (REPET-SIM, Rafii & Pardo, "Music/voice separation using the similarity matrix",
///    ISMIR 2012): frames are compared by cosine similarity of their log-band spectra; the background of frame t is
///    the element-wise median of its `similarFrames` most similar frames at least `minimumRepeatDistance` away,
///    clipped to `V`. The non-repeating part is the vocal candidate.
/// 2. **Percussion** (Fitzgerald, "Harmonic/percussive separation using median filtering", DAFx 2010): a median
///    along frequency against a median along time gives a percussive share, which is not vocal.
/// 3. **Centre cue** (stereo only): vocals are usually panned centre; the inter-channel coherence
///    `2·Re(L·R*)/(|L|² + |R|²)` in [−1, 1] scales the vocal mask.
/// The vocal mask is the product of the three soft cues, limited to the vocal band; the accompaniment is the
/// residual.
public final class ClassicMaskEstimator: MaskEstimator {
    public let stems = ["vocals", "accompaniment"]
    public let sampleRate = 44100
    public let stftConfiguration: STFTConfiguration
    public let segmentFrames: Int
    public let frameQuantum = 1
    public let options: ClassicSeparationOptions

    public init(options: ClassicSeparationOptions = ClassicSeparationOptions(), windowFrames: Int = 2048) throws {
        self.options = options
        segmentFrames = windowFrames
        stftConfiguration = try STFTConfiguration(fftSize: 4096, hopSize: 1024)
        BLASRuntime.prepare()
    }

    public func masks(for segment: ComplexSpectrogram) -> [[Float]] {
        let T = segment.frameCount, F = segment.binCount, C = segment.channelCount
        let o = options
        // Channel-pooled magnitude V[t·F + f] and stereo coherence.
        var V = [Float](repeating: 0, count: T * F)
        var centre = [Float](repeating: 1, count: T * F)
        segment.data.withUnsafeBufferPointer { d in
            for t in 0..<T {
                for f in 0..<F {
                    var p: Float = 0
                    for c in 0..<C {
                        let i = 2 * ((c * T + t) * F + f)
                        p += d[i] * d[i] + d[i + 1] * d[i + 1]
                    }
                    V[t * F + f] = (p / Float(C)).squareRoot()
                    if C == 2 {
                        let l = 2 * (t * F + f), r = 2 * ((T + t) * F + f)
                        let cross = d[l] * d[r] + d[l + 1] * d[r + 1]
                        let power = d[l] * d[l] + d[l + 1] * d[l + 1] + d[r] * d[r] + d[r + 1] * d[r + 1]
                        let coherence = power > 1e-12 ? 2 * cross / power : 1
                        centre[t * F + f] = 1 - o.centreWeight * (1 - max(0, coherence))
                    }
                }
            }
        }
        let repeating = repeatingBackground(V, T: T, F: F)
        let percussive = percussiveShare(V, T: T, F: F)
        let binHz = Double(sampleRate) / Double(stftConfiguration.fftSize)
        var vocal = [Float](repeating: 0, count: T * F)
        for f in 0..<F {
            let hz = Double(f) * binHz
            // Smooth edges of the vocal band (one octave below and above).
            let band: Float = hz < o.vocalLowHz ? Float(max(0, hz / o.vocalLowHz)) : hz > o.vocalHighHz ? Float(max(0, 2 - hz / o.vocalHighHz)) : 1
            for t in 0..<T {
                let i = t * F + f
                let v = V[i]
                let nonRepeating = v > 1e-9 ? max(0, 1 - repeating[i] / v) : 0
                vocal[i] = band * nonRepeating * (1 - percussive[i]) * centre[i]
            }
        }
        // Same mask on every channel.
        var out = [Float](repeating: 0, count: C * T * F)
        for c in 0..<C { out.replaceSubrange((c * T * F)..<((c + 1) * T * F), with: vocal) }
        return [out]
    }

    /// REPET-SIM background `W[t·F + f] ≤ V`.
    func repeatingBackground(_ V: [Float], T: Int, F: Int) -> [Float] {
        // Log-spaced bands for the similarity (robust and cheap): 96 bands from 60 Hz to 11 kHz.
        let bandsCount = 96
        let binHz = Double(sampleRate) / Double(stftConfiguration.fftSize)
        let edges = (0...bandsCount).map { b in min(F - 1, max(1, Int((60 * pow(11000.0 / 60, Double(b) / Double(bandsCount))) / binHz))) }
        var features = [Float](repeating: 0, count: T * bandsCount)
        for t in 0..<T {
            var norm: Float = 0
            for b in 0..<bandsCount {
                var s: Float = 0
                for f in edges[b]...max(edges[b], edges[b + 1] - 1) { s += V[t * F + f] }
                let v = log1p(1000 * s / Float(max(1, edges[b + 1] - edges[b])))
                features[t * bandsCount + b] = v
                norm += v * v
            }
            let inv = norm > 0 ? 1 / norm.squareRoot() : 0
            for b in 0..<bandsCount { features[t * bandsCount + b] *= inv }
        }
        // Cosine similarity matrix S = X·Xᵀ (T × T).
        var similarity = [Float](repeating: 0, count: T * T)
        features.withUnsafeBufferPointer { x in
            similarity.withUnsafeMutableBufferPointer { s in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(T), Int32(bandsCount), 1,
                            x.baseAddress, Int32(bandsCount), x.baseAddress, Int32(bandsCount), 0, s.baseAddress, Int32(T))
            }
        }
        let minDistance = Int(options.minimumRepeatDistanceSeconds * Double(sampleRate) / Double(stftConfiguration.hopSize))
        let k = options.similarFrames
        var W = [Float](repeating: 0, count: T * F)
        var column = [Float](repeating: 0, count: k)
        for t in 0..<T {
            // The k most similar frames at least minDistance away.
            var candidates = [(Float, Int)]()
            candidates.reserveCapacity(T)
            for u in 0..<T where abs(u - t) >= minDistance { candidates.append((similarity[t * T + u], u)) }
            if candidates.count < 3 {
                for f in 0..<F { W[t * F + f] = 0 }
                continue
            }
            candidates.sort { $0.0 > $1.0 }
            let chosen = candidates.prefix(k).map { $0.1 }
            for f in 0..<F {
                for (j, u) in chosen.enumerated() { column[j] = V[u * F + f] }
                W[t * F + f] = min(V[t * F + f], median(&column, count: chosen.count))
            }
        }
        return W
    }

    /// Percussive share `P²/(H² + P²)` from median filters across frequency (P) and time (H).
    func percussiveShare(_ V: [Float], T: Int, F: Int) -> [Float] {
        let ht = options.harmonicFilterFrames / 2, pf = options.percussiveFilterBins / 2
        var out = [Float](repeating: 0, count: T * F)
        var buffer = [Float](repeating: 0, count: 2 * max(ht, pf) + 1)
        for t in 0..<T {
            for f in 0..<F {
                var n = 0
                for u in max(0, t - ht)...min(T - 1, t + ht) { buffer[n] = V[u * F + f]; n += 1 }
                let h = median(&buffer, count: n)
                n = 0
                for g in max(0, f - pf)...min(F - 1, f + pf) { buffer[n] = V[t * F + g]; n += 1 }
                let p = median(&buffer, count: n)
                let h2 = h * h, p2 = p * p
                out[t * F + f] = h2 + p2 > 1e-18 ? p2 / (h2 + p2) : 0
            }
        }
        return out
    }
}

/// Median of the first `count` values (reorders them).
@inline(__always)
func median(_ values: inout [Float], count: Int) -> Float {
    precondition(count > 0)
    values.withUnsafeMutableBufferPointer { v in
        // Insertion sort: counts here are small (≤ 40).
        for i in 1..<max(1, count) {
            let x = v[i]
            var j = i - 1
            while j >= 0 && v[j] > x { v[j + 1] = v[j]; j -= 1 }
            v[j + 1] = x
        }
    }
    return count % 2 == 1 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2])
}
