import Foundation

/// Running sample peak and RMS over any number of blocks (all channels pooled).
public struct LevelMeter: Sendable {
    public private(set) var peak: Float = 0
    private var sumSquares: Double = 0
    public private(set) var sampleCount: Int64 = 0

    public init() {}

    /// Adds a block.
    public mutating func add(_ buffer: AudioBuffer) {
        for ch in buffer.channels {
            ch.withUnsafeBufferPointer { p in
                var pk = peak
                var acc: Float = 0
                var total: Double = 0
                for i in 0..<p.count {
                    let v = p[i]
                    pk = max(pk, abs(v))
                    acc += v * v
                    if i & 4095 == 4095 { total += Double(acc); acc = 0 }  // bounded float partial sums
                }
                peak = pk
                sumSquares += total + Double(acc)
            }
            sampleCount += Int64(ch.count)
        }
    }

    /// Sample peak in dBFS (−∞ for digital silence).
    public var peakDBFS: Double { 20 * log10(Double(peak)) }
    /// RMS level in dBFS, full-scale sine = −3.01 dBFS (−∞ for digital silence).
    public var rmsDBFS: Double {
        sampleCount == 0 ? -.infinity : 10 * log10(sumSquares / Double(sampleCount))
    }
}
