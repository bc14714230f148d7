import Foundation

/// Low-order mel-frequency cepstrum of a power spectral envelope, and its inverse as a log-envelope correction.
///
/// The natural-log envelope is averaged onto `pointCount` points evenly spaced on the mel scale
/// (`mel = 1127·ln(1 + f/700)`, 0 Hz to Nyquist), then an orthonormal DCT-II keeps the first `order`
/// coefficients (c0 = √pointCount × mean log power: the frame's level; c1… the shape). This is the
/// representation voice conversion matches and averages in: distances between the c1… are perceptually
/// weighted (mel) and insensitive to the harmonic ripple the envelope estimator already removed.
/// `logDifference` maps a cepstral difference back to every envelope bin (linear, so the envelope detail
/// beyond `order` coefficients is kept when only the difference is applied).
public struct MelCepstrum: Sendable {
    /// Coefficients per frame (c0 included).
    public let order: Int
    /// Mel-spaced points the log envelope is averaged onto.
    public let pointCount: Int
    /// Envelope bins per frame (`fftSize / 2 + 1`).
    public let binCount: Int
    /// Basis, `pointCount × order`, row-major: DCT-II (orthonormal) of point `j`, coefficient `m`.
    let basis: [Float]
    /// For each bin, its point (for averaging) and its fractional point position (for interpolation back).
    let binPoint: [Int32]
    let binPosition: [Float]
    /// 1 / number of bins averaged into each point (0 where none fell: such points are interpolated).
    let pointWeight: [Float]

    /// - Parameters: `order` coefficients (default 40), `pointCount` mel points (default 128), for an envelope of
    ///   `fftSize` at `sampleRate`.
    public init(order: Int = 40, pointCount: Int = 128, fftSize: Int, sampleRate: Double) {
        precondition(order >= 2 && order <= pointCount, "need 2 ≤ order ≤ pointCount")
        self.order = order
        self.pointCount = pointCount
        let bins = fftSize / 2 + 1
        binCount = bins
        let melMax = 1127 * log(1 + sampleRate / 2 / 700)
        var bp = [Int32](repeating: 0, count: bins), pos = [Float](repeating: 0, count: bins)
        var counts = [Int](repeating: 0, count: pointCount)
        for k in 0..<bins {
            let f = Double(k) * sampleRate / Double(fftSize)
            // Points sit at the centres of pointCount equal mel bands.
            let p = 1127 * log(1 + f / 700) / melMax * Double(pointCount) - 0.5
            pos[k] = Float(max(0, min(Double(pointCount - 1), p)))
            let j = max(0, min(pointCount - 1, Int(p.rounded())))
            bp[k] = Int32(j)
            counts[j] += 1
        }
        binPoint = bp
        binPosition = pos
        pointWeight = counts.map { $0 > 0 ? 1 / Float($0) : 0 }
        var b = [Float](repeating: 0, count: pointCount * order)
        let P = Double(pointCount)
        for j in 0..<pointCount {
            for m in 0..<order {
                let scale = m == 0 ? (1 / P).squareRoot() : (2 / P).squareRoot()
                b[j * order + m] = Float(scale * cos(Double.pi * Double(m) * (Double(j) + 0.5) / P))
            }
        }
        basis = b
    }

    /// Scratch for one frame (`pointCount` floats).
    public var scratchCount: Int { pointCount }

    /// Cepstrum (`order` values into `out`) of one power-envelope frame (`binCount` values).
    public func analyze(envelope: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let P = pointCount, M = order
        for j in 0..<P { scratch[j] = 0 }
        binPoint.withUnsafeBufferPointer { bp in
            for k in 0..<binCount { scratch[Int(bp[k])] += logf(envelope[k] + 1e-30) }
        }
        pointWeight.withUnsafeBufferPointer { w in
            // Average; a point no bin fell into (only possible near 0 Hz at coarse FFT sizes) takes its neighbour.
            for j in 0..<P { scratch[j] *= w[j] }
            for j in 0..<P where w[j] == 0 { scratch[j] = j > 0 ? scratch[j - 1] : scratch[min(P - 1, j + 1)] }
        }
        for m in 0..<M { out[m] = 0 }
        basis.withUnsafeBufferPointer { b in
            for j in 0..<P {
                let v = scratch[j]
                let row = b.baseAddress! + j * M
                for m in 0..<M { out[m] += v * row[m] }
            }
        }
    }

    /// Natural-log envelope change at every bin (`binCount` values into `out`) for the cepstral change `delta`
    /// (`order` values): inverse DCT onto the mel points, then linear interpolation to the bins.
    public func logDifference(_ delta: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let P = pointCount, M = order
        basis.withUnsafeBufferPointer { b in
            for j in 0..<P {
                let row = b.baseAddress! + j * M
                var s: Float = 0
                for m in 0..<M { s += delta[m] * row[m] }
                scratch[j] = s
            }
        }
        binPosition.withUnsafeBufferPointer { pos in
            for k in 0..<binCount {
                let p = pos[k]
                let j = min(P - 2, Int(p))
                let w = p - Float(j)
                out[k] = scratch[j] * (1 - w) + scratch[j + 1] * w
            }
        }
    }

    /// Cepstra of every frame of `features` (`frameCount × order`, row-major).
    public func analyze(_ features: VoiceFeatures) -> [Float] {
        precondition(features.binCount == binCount, "envelope size does not match this cepstrum's FFT size")
        let T = features.frameCount, M = order, bins = binCount
        var out = [Float](repeating: 0, count: T * M)
        let me = self
        out.withUnsafeMutableBufferPointer { ob in
            let o = SharedPointer(ob.baseAddress!)
            features.envelope.withUnsafeBufferPointer { eb in
                let e = SharedPointer(UnsafeMutablePointer(mutating: eb.baseAddress!))
                parallelRanges(T, minimumPerJob: 256) { range in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: me.scratchCount)
                    defer { scratch.deallocate() }
                    for i in range { me.analyze(envelope: e.pointer + i * bins, scratch: scratch, into: o.pointer + i * M) }
                }
            }
        }
        return out
    }
}
