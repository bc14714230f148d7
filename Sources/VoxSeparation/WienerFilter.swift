import Dispatch
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

    /// Spatial covariances local in time: `R_j` is estimated per block of this many frames, on the absolute frame
    /// grid, from the block and `neighbourBlocks` blocks on each side (nil: one `R_j` per call, norbert's rule).
    /// A separator that filters overlapping windows gets the same `R_j` for a frame whatever the window grid, as long
    /// as the neighbourhood stays inside the window's context. Default nil.
    public var blockFrames: Int? = nil
    /// Blocks on each side of a frame's block that its `R_j` also covers. Default 2.
    public var neighbourBlocks = 2

    public init(iterations: Int) { self.iterations = iterations }

    /// Refines complex source estimates for every stem.
    ///
    /// - Parameters:
    ///   - mixture: `(C, T, bins)` complex.
    ///   - sources: per stem (all stems, summing to the mixture), `(C, T, bins)` complex interleaved; updated in place.
    public func refine(mixture: ComplexSpectrogram, sources: inout [[Float]]) {
        refine(mixture: mixture, sources: &sources, workspace: Workspace())
    }

    /// Buffers for `refine`, kept between calls by a caller that filters window after window: a window's power
    /// spectra take tens of megabytes, and fresh pages cost more to fault in than the arithmetic on them.
    final class Workspace {
        /// Per source and bin: power spectral density `v`, then the spatial covariances `R`.
        var v: [Float] = []
        var R: [Float] = []
    }

    /// - Parameter firstFrame: absolute index of the mixture's first frame (places the blocks; see `blockFrames`).
    func refine(mixture: ComplexSpectrogram, sources: inout [[Float]], workspace: Workspace, firstFrame: Int = 0) {
        guard iterations > 0 else { return }
        let C = mixture.channelCount, T = mixture.frameCount, F = mixture.binCount
        // norbert scales the signals so that λ and ε mean the same whatever the level; scaling λ and ε by the
        // square of that factor instead is equivalent (v ∝ |y|², R is scale-free) and copies nothing.
        var peak: Float = 0
        mixture.data.withUnsafeBufferPointer { d in
            // Eight running maxima, so the loop vectorises (a single one is a serial dependency). Masked selects, not
            // `pointwiseMax`: that stdlib generic ran out of line, lane by lane (4-5 % of a separation's CPU time).
            var m = SIMD8<Float>()
            var i = 0
            while i + 8 <= d.count {
                let v = UnsafeRawPointer(d.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                let magnitude = v.replacing(with: -v, where: v .< 0)
                m.replace(with: magnitude, where: magnitude .> m)
                i += 8
            }
            peak = m.max()
            while i < d.count { peak = max(peak, abs(d[i])); i += 1 }
        }
        let scale = max(1, peak / 10)
        let power = scale * scale
        if C == 2 {
            // Block of each frame (0…blocks−1), counted from the block that holds the first frame; one block without
            // `blockFrames`.
            var blockOf = [Int](repeating: 0, count: T)
            if let blockFrames {
                let B = max(1, blockFrames)
                func floorDiv(_ a: Int) -> Int { a >= 0 ? a / B : -((-a + B - 1) / B) }
                blockOf = (0..<T).map { floorDiv(firstFrame + $0) - floorDiv(firstFrame) }
            }
            stereo(x: mixture.data, T: T, F: F, sources: &sources, lambda: regularization * power, eps: epsilon * power,
                   v: &workspace.v, R: &workspace.R, blockOf: blockOf, blocks: (blockOf.last ?? 0) + 1,
                   reach: blockFrames == nil ? 0 : neighbourBlocks)
        } else {
            mono(x: mixture.data, C: C, T: T, F: F, sources: &sources, lambda: regularization * power)
        }
    }

    /// Full-rank 2×2 model. The M step runs one source per core, the E step splits frames between cores.
    private func stereo(x: [Float], T: Int, F: Int, sources y: inout [[Float]], lambda: Float, eps: Float,
                        v: inout [Float], R: inout [Float], blockOf: [Int], blocks NB: Int, reach: Int) {
        let S = y.count
        let plane = T * F  // complex values per channel
        // v[s·plane + i]; R per source, block and bin: r11, r22, r12 (re, im) at [((s·NB + b)·F + f)·4 + k]. Both are
        // written in full by every M step before the E step reads them, so reused buffers need no clearing.
        if v.count != S * plane { v = [Float](repeating: 0, count: S * plane) }
        if R.count != S * NB * F * 4 { R = [Float](repeating: 0, count: S * NB * F * 4) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var yPointers = [UnsafeMutablePointer<Float>]()
        for s in 0..<S { yPointers.append(y[s].withUnsafeMutableBufferPointer { $0.baseAddress! }) }
        // The arrays in `y` are not resized or copied below, so their storage stays put.
        withExtendedLifetime(y) {
            x.withUnsafeBufferPointer { xb in
                v.withUnsafeMutableBufferPointer { vb in
                    R.withUnsafeMutableBufferPointer { rb in
                        let X = UnsafeSendable(xb.baseAddress!), V = UnsafeSendable(vb.baseAddress!)
                        let RR = UnsafeSendable(rb.baseAddress!), Y = UnsafeSendable(yPointers)
                        let blockOfFrame = UnsafeSendable(blockOf)
                        for _ in 0..<iterations {
                            // M step.
                            DispatchQueue.concurrentPerform(iterations: S) { s in
                                let ys = Y.value[s], vs = V.value + s * plane
                                // Per block and bin: |l|², |r|², l·r* (re, im), v; Double so long windows do not lose
                                // precision.
                                let acc = UnsafeMutablePointer<Double>.allocate(capacity: 5 * F * NB)
                                acc.initialize(repeating: 0, count: 5 * F * NB)
                                defer { acc.deallocate() }
                                for t in 0..<T {
                                    let blockSums = acc + 5 * F * blockOfFrame.value[t]
                                    let a = blockSums, d = blockSums + F, bre = blockSums + 2 * F, bim = blockSums + 3 * F
                                    let w = blockSums + 4 * F
                                    for f in 0..<F {
                                        let i = t * F + f
                                        let l = 2 * i, r = 2 * (plane + i)
                                        let lre = ys[l], lim = ys[l + 1], rre = ys[r], rim = ys[r + 1]
                                        let pl = lre * lre + lim * lim, pr = rre * rre + rim * rim
                                        let vv = 0.5 * (pl + pr)
                                        vs[i] = vv
                                        a[f] += Double(pl); d[f] += Double(pr)
                                        bre[f] += Double(lre * rre + lim * rim); bim[f] += Double(lim * rre - lre * rim)
                                        w[f] += Double(vv)
                                    }
                                }
                                // Each block's R from the sums over its neighbourhood.
                                for b in 0..<NB {
                                    let rs = RR.value + (s * NB + b) * F * 4
                                    let lo = max(0, b - reach), hi = min(NB - 1, b + reach)
                                    for f in 0..<F {
                                        var sa = 0.0, sd = 0.0, sre = 0.0, sim = 0.0, sw = 0.0
                                        for nb in lo...hi {
                                            let q = acc + 5 * F * nb + f
                                            sa += q[0]; sd += q[F]; sre += q[2 * F]; sim += q[3 * F]; sw += q[4 * F]
                                        }
                                        let n = Double(eps) + sw
                                        rs[4 * f] = Float(sa / n); rs[4 * f + 1] = Float(sd / n)
                                        rs[4 * f + 2] = Float(sre / n); rs[4 * f + 3] = Float(sim / n)
                                    }
                                }
                            }
                            // E step.
                            DispatchQueue.concurrentPerform(iterations: cores) { job in
                                let x = X.value, v = V.value, R = RR.value
                                let ptrs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: S)
                                defer { ptrs.deallocate() }
                                for s in 0..<S { ptrs[s] = Y.value[s] }
                                for t in (T * job / cores)..<(T * (job + 1) / cores) {
                                    let b = blockOfFrame.value[t]
                                    for f in 0..<F {
                                        let i = t * F + f
                                        var ca = lambda, cd = lambda, cbre: Float = 0, cbim: Float = 0
                                        for s in 0..<S {
                                            let vv = v[s * plane + i], r = R + ((s * NB + b) * F + f) * 4
                                            ca += vv * r[0]; cd += vv * r[1]; cbre += vv * r[2]; cbim += vv * r[3]
                                        }
                                        // Inverse of the Hermitian [[ca, cb], [cb*, cd]].
                                        let det = max(ca * cd - (cbre * cbre + cbim * cbim), eps)
                                        let ia = cd / det, id = ca / det, ibre = -cbre / det, ibim = -cbim / det
                                        let l = 2 * i, rI = 2 * (plane + i)
                                        let xlre = x[l], xlim = x[l + 1], xrre = x[rI], xrim = x[rI + 1]
                                        // z = C⁻¹ x, with C⁻¹ = [[ia, ib], [ib*, id]].
                                        let zlre = ia * xlre + (ibre * xrre - ibim * xrim)
                                        let zlim = ia * xlim + (ibre * xrim + ibim * xrre)
                                        let zrre = (ibre * xlre + ibim * xlim) + id * xrre
                                        let zrim = (ibre * xlim - ibim * xlre) + id * xrim
                                        for s in 0..<S {
                                            // y_s = v_s R_s z, R = [[r11, r12], [r12*, r22]].
                                            let vv = v[s * plane + i], r = R + ((s * NB + b) * F + f) * 4
                                            let a11 = r[0], a22 = r[1], bre = r[2], bim = r[3]
                                            let ys = ptrs[s]
                                            ys[l] = vv * (a11 * zlre + (bre * zrre - bim * zrim))
                                            ys[l + 1] = vv * (a11 * zlim + (bre * zrim + bim * zrre))
                                            ys[rI] = vv * ((bre * zlre + bim * zlim) + a22 * zrre)
                                            ys[rI + 1] = vv * ((bre * zlim - bim * zlre) + a22 * zrim)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Channel-by-channel model (a 1×1 "spatial covariance" is 1): y_j = v_j / (Σ v + λ) · x.
    private func mono(x: [Float], C: Int, T: Int, F: Int, sources y: inout [[Float]], lambda: Float) {
        let S = y.count
        var v = [Float](repeating: 0, count: S)
        for _ in 0..<iterations {
            for i in 0..<(C * T * F) {
                var total = lambda
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
