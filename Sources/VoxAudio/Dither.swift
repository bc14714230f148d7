/// Triangular-PDF dither and quantisation to integer PCM.
///
/// Requantising to fewer bits without dither turns the rounding error into distortion correlated with the signal;
/// adding the sum of two independent uniform variables of ±½ LSB each (TPDF, ±1 LSB peak) decorrelates it into a
/// constant white noise floor (Vanderkooy & Lipshitz, "Dither in digital audio", JAES 1987). The generator is a
/// fixed-seed xorshift so that the same input always gives the same file.
public struct TPDFDither: Sendable {
    private var state: UInt64

    public init(seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        state = seed == 0 ? 1 : seed
    }

    /// A uniform value in [0, 1).
    @inline(__always)
    private mutating func uniform() -> Float {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state >> 40) * (1.0 / 16_777_216.0)
    }

    /// A triangular value in (-1, 1) LSB.
    @inline(__always)
    public mutating func next() -> Float { uniform() - uniform() }
}

/// Converts float samples to left-justified 32-bit integers at `bits` of resolution, as libsndfile's integer
/// writers expect. Values beyond full scale are clipped; the number of clipped samples is returned.
///
/// - Parameters:
///   - source: samples in [-1, 1].
///   - destination: same count; receives `round(x·2^(bits−1) + d) << (32 − bits)`.
///   - bits: 16 or 24.
///   - dither: TPDF generator, or nil for plain rounding (exact when the input is already on the grid).
@discardableResult
public func quantize(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Int32>,
                     bits: Int, dither: inout TPDFDither?) -> Int {
    precondition(bits >= 8 && bits <= 24 && destination.count >= source.count)
    let scale = Float(1 << (bits - 1))
    let hi = scale - 1, lo = -scale
    let shift = Int32(32 - bits)
    var clipped = 0
    for i in 0..<source.count {
        var v = source[i] * scale
        if dither != nil { v += dither!.next() }
        v = v.rounded(.toNearestOrEven)
        if v > hi { v = hi; clipped += 1 } else if v < lo { v = lo; clipped += 1 }
        destination[i] = Int32(v) << shift
    }
    return clipped
}
