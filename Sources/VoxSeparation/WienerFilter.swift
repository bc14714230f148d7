import Foundation
import VoxSpectral

/// Multichannel Wiener filtering with expectation-maximisation (Duong, Vincent & Gribonval, "Under-determined
/// reverberant audio source separation using a full-rank spatial covariance model", IEEE TASLP 2010; as in
/// Open-Unmix's `norbert.wiener`).
///
/// Each source j is modelled per time–frequency bin as a zero-mean complex Gaussian with covariance
/// `v_j(t,f) · R_j(f)`: a power spectral density `v_j` (mean over channels of |y_j|²) and a spatial covariance
/// matrix `R_j(f) = Σ_t y_j y_jᴴ / Σ_t v_j`. Starting from the soft-mask estimates `y_j = m_j · x`, each iteration
/// re-estimates `v_j`, `R_j` (M step) and then `y_j = v_j R_j (Σ_k v_k R_k + λI)⁻¹ x` (E step). Stereo uses the
/// full 2×2 model; other channel counts are filtered channel by channel. Statistics are taken over the frames given
/// (one separation window), so memory stays bounded.
public struct WienerFilter: Sendable {
    /// EM iterations (0 leaves the soft-mask estimates unchanged).
    public var iterations: Int
    /// Regularisation λ added to the mixture covariance, relative to the scaled signal (norbert: √ε of float32).
    public var regularization: Float = 3.4527e-4
    /// Floor for divisions.
    public var epsilon: Float = 1.1920929e-7

    public init(iterations: Int) { self.iterations = iterations }

    /// Refines complex source estimates for every stem.
    ///
    /// - Parameters:
    ///   - mixture: `(C, T, bins)` complex.
    ///   - sources: per stem (all stems, summing to the mixture), `(C, T, bins)` complex interleaved; updated in place.
    public func refine(mixture: ComplexSpectrogram, sources: inout [[Float]]) {
        guard iterations > 0 else { return }
        let C = mixture.channelCount, T = mixture.frameCount, F = mixture.binCount, S = sources.count
        // Scale as norbert does, so that λ and ε mean the same whatever the level.
        var peak: Float = 0
        for v in mixture.data { peak = max(peak, abs(v)) }
        let scale = max(1, peak / 10)
        let x = mixture.data.map { $0 / scale }
        for s in 0..<S { for i in 0..<sources[s].count { sources[s][i] /= scale } }
        if C == 2 {
            stereo(x: x, T: T, F: F, sources: &sources)
        } else {
            mono(x: x, C: C, T: T, F: F, sources: &sources)
        }
        for s in 0..<S { for i in 0..<sources[s].count { sources[s][i] *= scale } }
    }

    /// Full-rank 2×2 model.
    private func stereo(x: [Float], T: Int, F: Int, sources y: inout [[Float]]) {
        let S = y.count
        let plane = T * F  // complex values per channel
        var v = [[Float]](repeating: [Float](repeating: 0, count: plane), count: S)
        // R_j(f): r11, r22 (real), r12 (complex) per bin.
        var r11 = [[Float]](repeating: [Float](repeating: 0, count: F), count: S)
        var r22 = r11, r12re = r11, r12im = r11
        for _ in 0..<iterations {
            // M step.
            for s in 0..<S {
                var a = [Double](repeating: 0, count: F), d = a, bre = a, bim = a, vs = a
                y[s].withUnsafeBufferPointer { ys in
                    for t in 0..<T {
                        for f in 0..<F {
                            let i = t * F + f
                            let l = 2 * i, r = 2 * (plane + i)
                            let lre = ys[l], lim = ys[l + 1], rre = ys[r], rim = ys[r + 1]
                            let pl = lre * lre + lim * lim, pr = rre * rre + rim * rim
                            let vv = 0.5 * (pl + pr)
                            v[s][i] = vv
                            a[f] += Double(pl); d[f] += Double(pr)
                            // y_l · conj(y_r)
                            bre[f] += Double(lre * rre + lim * rim); bim[f] += Double(lim * rre - lre * rim)
                            vs[f] += Double(vv)
                        }
                    }
                }
                for f in 0..<F {
                    let n = Double(epsilon) + vs[f]
                    r11[s][f] = Float(a[f] / n); r22[s][f] = Float(d[f] / n)
                    r12re[s][f] = Float(bre[f] / n); r12im[s][f] = Float(bim[f] / n)
                }
            }
            // E step.
            for t in 0..<T {
                for f in 0..<F {
                    let i = t * F + f
                    var ca = regularization, cd = regularization, cbre: Float = 0, cbim: Float = 0
                    for s in 0..<S {
                        let vv = v[s][i]
                        ca += vv * r11[s][f]; cd += vv * r22[s][f]
                        cbre += vv * r12re[s][f]; cbim += vv * r12im[s][f]
                    }
                    // Inverse of the Hermitian [[ca, cb], [cb*, cd]].
                    let det = max(ca * cd - (cbre * cbre + cbim * cbim), epsilon)
                    let ia = cd / det, id = ca / det, ibre = -cbre / det, ibim = -cbim / det
                    let l = 2 * i, r = 2 * (plane + i)
                    let xlre = x[l], xlim = x[l + 1], xrre = x[r], xrim = x[r + 1]
                    // z = C⁻¹ x, with C⁻¹ = [[ia, ib], [ib*, id]].
                    let zlre = ia * xlre + (ibre * xrre - ibim * xrim)
                    let zlim = ia * xlim + (ibre * xrim + ibim * xrre)
                    let zrre = (ibre * xlre + ibim * xlim) + id * xrre
                    let zrim = (ibre * xlim - ibim * xlre) + id * xrim
                    for s in 0..<S {
                        // y_s = v_s R_s z, R = [[r11, r12], [r12*, r22]].
                        let vv = v[s][i]
                        let a11 = r11[s][f], a22 = r22[s][f], bre = r12re[s][f], bim = r12im[s][f]
                        y[s][l] = vv * (a11 * zlre + (bre * zrre - bim * zrim))
                        y[s][l + 1] = vv * (a11 * zlim + (bre * zrim + bim * zrre))
                        y[s][r] = vv * ((bre * zlre + bim * zlim) + a22 * zrre)
                        y[s][r + 1] = vv * ((bre * zlim - bim * zlre) + a22 * zrim)
                    }
                }
            }
        }
    }

    /// Channel-by-channel model (a 1×1 "spatial covariance" is 1): y_j = v_j / (Σ v + λ) · x.
    private func mono(x: [Float], C: Int, T: Int, F: Int, sources y: inout [[Float]]) {
        let S = y.count
        var v = [Float](repeating: 0, count: S)
        for _ in 0..<iterations {
            for i in 0..<(C * T * F) {
                var total = regularization
                for s in 0..<S {
                    v[s] = y[s][2 * i] * y[s][2 * i] + y[s][2 * i + 1] * y[s][2 * i + 1]
                    total += v[s]
                }
                for s in 0..<S {
                    let g = v[s] / total
                    y[s][2 * i] = g * x[2 * i]; y[s][2 * i + 1] = g * x[2 * i + 1]
                }
            }
        }
    }
}
