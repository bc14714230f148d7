import Foundation

/// Analysis/synthesis windows for the STFT.
public enum WindowFunction: String, Sendable, CaseIterable {
    /// Periodic Hann (`0.5 − 0.5·cos(2πn/N)`): sums to a constant at hops N/2, N/4, …
    case hann
    /// Periodic Hamming (`0.54 − 0.46·cos(2πn/N)`).
    case hamming
    /// Periodic Blackman (3-term).
    case blackman
    /// All ones (no tapering).
    case rectangular

    /// The `size`-point periodic window.
    public func samples(size: Int) -> [Float] {
        (0..<size).map { n in
            let x = 2 * Double.pi * Double(n) / Double(size)
            switch self {
            case .hann: return Float(0.5 - 0.5 * cos(x))
            case .hamming: return Float(0.54 - 0.46 * cos(x))
            case .blackman: return Float(0.42 - 0.5 * cos(x) + 0.08 * cos(2 * x))
            case .rectangular: return 1
            }
        }
    }
}

/// Overlap-add properties of a window at a hop size.
public struct WindowOverlap: Sendable {
    /// Smallest and largest value of `Σₜ w²[n − t·hop]` over one period (the weighted overlap-add envelope).
    public let minimumEnvelope: Double
    public let maximumEnvelope: Double

    /// Computes the envelope of `window` at `hop`.
    public init(window: [Float], hop: Int) {
        var envelope = [Double](repeating: 0, count: hop)
        for (i, w) in window.enumerated() { envelope[i % hop] += Double(w) * Double(w) }
        minimumEnvelope = envelope.min() ?? 0
        maximumEnvelope = envelope.max() ?? 0
    }

    /// Relative ripple `(max − min) / max`: 0 when the window satisfies the constant-overlap-add condition for
    /// weighted overlap-add (analysis and synthesis both windowed), so the envelope is a constant.
    public var colaDeviation: Double { maximumEnvelope > 0 ? (maximumEnvelope - minimumEnvelope) / maximumEnvelope : 1 }

    /// True when the inverse STFT can divide by the envelope safely everywhere between the edges.
    public var isInvertible: Bool { minimumEnvelope > 1e-6 * max(maximumEnvelope, 1e-30) }
}
