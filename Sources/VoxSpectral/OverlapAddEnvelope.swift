/// The weighted overlap-add envelope `e[n] = Σₜ w²[n − start(t)]` of an STFT, by which the inverse STFT divides.
///
/// Away from the signal's edges every sample is covered by the same set of window offsets, so `e` is periodic with
/// period `hop`; those values are computed once. Every value, edge or interior, is the same ascending-`t` sum, so
/// the whole-signal and streaming inverses get identical envelopes.
struct OverlapAddEnvelope: Sendable {
    let configuration: STFTConfiguration
    private let squaredWindow: [Float]
    /// Interior envelope by `(n − start(0)) mod hop`.
    private let period: [Float]

    init(configuration: STFTConfiguration, window: [Float]) {
        self.configuration = configuration
        let sq = window.map { $0 * $0 }
        squaredWindow = sq
        let fft = configuration.fftSize, hop = configuration.hopSize, s0 = configuration.frameStart(0)
        // First interior sample with each residue; a frame count large enough that none is clipped at the end.
        period = (0..<hop).map { j in
            let n = s0 + fft - 1 + ((j - (fft - 1)) % hop + hop) % hop
            return OverlapAddEnvelope.directSum(sq, n: n, frameCount: Int.max / 2, configuration: configuration)
        }
    }

    /// `Σₜ w²[n − start(t)]` over the frames `0..<frameCount` covering `n`, in ascending `t`.
    @inline(__always)
    private static func directSum(_ sq: [Float], n: Int, frameCount: Int, configuration cfg: STFTConfiguration) -> Float {
        let hop = cfg.hopSize, fft = cfg.fftSize, s0 = cfg.frameStart(0)
        let rel = n - s0
        let tLo = max(0, floorDiv(rel - fft + 1 + hop - 1, hop))
        let tHi = min(frameCount - 1, floorDiv(rel, hop))
        var s: Float = 0
        if tLo <= tHi {
            for t in tLo...tHi { s += sq[rel - t * hop] }
        }
        return s
    }

    /// Writes `e[n]` for `n` in `first ..< first + out.count`, for a transform with `frameCount` frames.
    func fill(_ out: UnsafeMutableBufferPointer<Float>, first: Int, frameCount: Int) {
        let cfg = configuration
        let hop = cfg.hopSize, s0 = cfg.frameStart(0)
        // Interior: every covering frame exists.
        let interiorLo = s0 + cfg.fftSize - 1
        let interiorHi = s0 + frameCount * hop  // exclusive
        period.withUnsafeBufferPointer { p in
            var j = ((first - s0) % hop + hop) % hop
            for i in 0..<out.count {
                let n = first + i
                if n >= interiorLo && n < interiorHi {
                    out[i] = p[j]
                } else {
                    out[i] = OverlapAddEnvelope.directSum(squaredWindow, n: n, frameCount: frameCount, configuration: cfg)
                }
                j += 1
                if j == hop { j = 0 }
            }
        }
    }
}

/// Floor division for possibly negative numerators.
@inline(__always)
func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
