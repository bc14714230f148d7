import Foundation

/// Taps of a Kaiser-windowed sinc interpolator (cut-off at Nyquist), normalised to unit DC gain.
///
/// Tap `j` of `count` weights the sample at distance `j − centre` from the point being interpolated; the window spans
/// ±(count/2 + 0.5) samples. Used for the true-peak detector's 4× phases and for fractional-sample delays
/// (`centre = count/2 − 1 + fraction`).
func kaiserWindowedSinc(count: Int, centre: Double, beta: Double = 8) -> [Float] {
    func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-12 * sum { term *= (x / (2 * k)) * (x / (2 * k)); sum += term; k += 1 }
        return sum
    }
    let span = Double(count / 2) + 0.5
    let h = (0..<count).map { j -> Double in
        let t = Double(j) - centre
        let sinc = t == 0 ? 1 : sin(Double.pi * t) / (Double.pi * t)
        let r = t / span
        return sinc * besselI0(beta * max(0, 1 - r * r).squareRoot()) / besselI0(beta)
    }
    let sum = h.reduce(0, +)
    return h.map { Float($0 / sum) }
}
