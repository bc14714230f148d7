/// Up- and down-mixing between channel counts.
///
/// Rules (a demanding user's expectations, ITU-R BS.775 for 5.1):
/// - N → 1: the mean of all channels (no clipping on correlated material).
/// - 1 → N: the mono signal on the first two channels (on the only one when N = 1), silence on the rest.
/// - 6 (5.1: L R C LFE Ls Rs) → 2: L' = L + 0.7071·C + 0.7071·Ls, R' likewise; LFE dropped; the result is
///   scaled by 1/(1 + 2·0.7071) so full-scale input cannot clip.
/// - other N → 2: even-indexed channels averaged to the left, odd-indexed to the right.
/// - 2 → N (N > 2): L and R on the first two channels, silence on the rest.
/// - other M → N: channels kept by index, missing ones silent.
public enum ChannelMixer {
    /// `buffer` remixed to `channelCount` channels (returned unchanged when it already has that many).
    public static func remix(_ buffer: AudioBuffer, to channelCount: Int) -> AudioBuffer {
        precondition(channelCount > 0)
        let m = buffer.channelCount
        if m == channelCount { return buffer }
        let n = buffer.frameCount
        let silent = [Float](repeating: 0, count: n)
        func weighted(_ terms: [(Int, Float)], scale: Float) -> [Float] {
            [Float](unsafeUninitializedCapacity: n) { dst, count in
                for i in 0..<n { dst[i] = 0 }
                for (c, w) in terms {
                    buffer.channels[c].withUnsafeBufferPointer { src in
                        let g = w * scale
                        for i in 0..<n { dst[i] += g * src[i] }
                    }
                }
                count = n
            }
        }
        var out: [[Float]]
        if channelCount == 1 {
            out = [weighted((0..<m).map { ($0, 1) }, scale: 1 / Float(m))]
        } else if m == 1 {
            out = (0..<channelCount).map { $0 < 2 ? buffer.channels[0] : silent }
        } else if channelCount == 2 && m == 6 {
            let k: Float = 0.70710678
            let norm = 1 / (1 + 2 * k)
            out = [weighted([(0, 1), (2, k), (4, k)], scale: norm), weighted([(1, 1), (2, k), (5, k)], scale: norm)]
        } else if channelCount == 2 {
            let evens = stride(from: 0, to: m, by: 2).map { ($0, Float(1)) }
            let odds = stride(from: 1, to: m, by: 2).map { ($0, Float(1)) }
            out = [weighted(evens, scale: 1 / Float(evens.count)), weighted(odds, scale: 1 / Float(odds.count))]
        } else {
            out = (0..<channelCount).map { $0 < m ? buffer.channels[$0] : silent }
        }
        return AudioBuffer(channels: out, sampleRate: buffer.sampleRate)
    }
}
