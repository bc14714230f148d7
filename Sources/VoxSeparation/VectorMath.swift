import Foundation

/// Vectorised elementary functions for the network's activations.
///
/// glibc's `expf` is a scalar call (~10–20 ns): the mask layer's sigmoid over 2 × 2048 × 1024 values took longer than
/// the layer's convolution. This `exp` is Cephes' single-precision method (range reduction by ln 2 with a two-part
/// constant, a degree-6 polynomial, scaling by 2ⁿ through the exponent bits) on 8 lanes at a time, using only
/// SSE2-level operations; relative error < 2e-7 over the clamped range.
enum VectorMath {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func exp(_ x: V) -> V {
        // Masked selects: `clamped` goes through the stdlib's generic pointwiseMin/Max, which run out of line, lane by
        // lane.
        var xc = x.replacing(with: -87.3, where: x .< -87.3)
        xc.replace(with: 88.3, where: xc .> 88.3)
        // t = x / ln 2 + 1.5·2²³ rounds x / ln 2 to an integer n held in t's low mantissa bits: n = bits(t) − bits(magic)
        // (no SSE4.1 rounding nor a float-to-int conversion, which Swift's generic SIMD init does lane by lane).
        let magic = V(repeating: 12_582_912)
        let t = xc * 1.442_695_04 + magic
        let n = t - magic
        let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * r * r + r + 1
        let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self) &+ 127) &<< 23
        return y * unsafeBitCast(exponent, to: V.self)
    }

    /// `y[i] = scale[i] / (1 + exp(−x[i]))`: sigmoid gating of `scale`, over `count` elements.
    static func sigmoidGate(_ x: UnsafePointer<Float>, scale: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                            count: Int) {
        var i = 0
        let raw = UnsafeRawPointer(x), rawScale = UnsafeRawPointer(scale), rawY = UnsafeMutableRawPointer(y)
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            let s = rawScale.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            rawY.storeBytes(of: s / (1 + exp(-v)), toByteOffset: 4 * i, as: V.self)
            i += 8
        }
        while i < count { y[i] = scale[i] / (1 + Foundation.exp(-x[i])); i += 1 }
    }
}
