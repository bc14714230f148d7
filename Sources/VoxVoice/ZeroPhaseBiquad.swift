/// A biquad section (coefficients normalised by a0) run forward and then backward over a signal: zero phase, so
/// that filtering before F0 tracking moves nothing off the frame grid; the magnitude response is squared.
struct ZeroPhaseBiquad {
    var b0: Double, b1: Double, b2: Double, a1: Double, a2: Double

    func apply(_ y: inout [Double]) {
        let n = y.count
        y.withUnsafeMutableBufferPointer { buffer in
            for pass in 0..<2 {
                var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
                for k in 0..<n {
                    let i = pass == 0 ? k : n - 1 - k
                    let v = buffer[i]
                    let out = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
                    x2 = x1; x1 = v; y2 = y1; y1 = out
                    buffer[i] = out
                }
            }
        }
    }
}
