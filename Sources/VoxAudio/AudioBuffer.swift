/// Planar Float32 audio: one contiguous array of samples per channel, at a given sample rate.
///
/// Shape: `channels[c][n]` for channel `c` in `0..<channelCount` and frame `n` in `0..<frameCount`.
/// Samples are nominally in [-1, 1] (full scale); values outside are kept (no clipping in memory).
public struct AudioBuffer: Equatable, Sendable {
    /// Samples per channel; every channel has the same length.
    public var channels: [[Float]]
    /// Frames per second (Hz).
    public var sampleRate: Double

    /// Creates a buffer from per-channel sample arrays (all the same length).
    public init(channels: [[Float]], sampleRate: Double) {
        precondition(!channels.isEmpty, "an audio buffer needs at least one channel")
        let n = channels[0].count
        precondition(channels.allSatisfy { $0.count == n }, "all channels must have the same length")
        self.channels = channels
        self.sampleRate = sampleRate
    }

    /// Creates a silent buffer of `frameCount` frames and `channelCount` channels.
    public init(frameCount: Int, channelCount: Int, sampleRate: Double) {
        self.init(channels: Array(repeating: [Float](repeating: 0, count: frameCount), count: channelCount),
                  sampleRate: sampleRate)
    }

    /// Creates a buffer from interleaved samples (`frame0ch0, frame0ch1, …`).
    public init(interleaved: UnsafeBufferPointer<Float>, channelCount: Int, sampleRate: Double) {
        let frames = interleaved.count / channelCount
        var chans = [[Float]]()
        chans.reserveCapacity(channelCount)
        for c in 0..<channelCount {
            chans.append([Float](unsafeUninitializedCapacity: frames) { dst, count in
                var i = c
                for n in 0..<frames { dst[n] = interleaved[i]; i += channelCount }
                count = frames
            })
        }
        self.init(channels: chans, sampleRate: sampleRate)
    }

    public var channelCount: Int { channels.count }
    public var frameCount: Int { channels[0].count }
    /// Duration in seconds.
    public var duration: Double { Double(frameCount) / sampleRate }

    /// Writes the samples interleaved into `destination`, which must hold `frameCount * channelCount` floats.
    public func interleave(into destination: UnsafeMutableBufferPointer<Float>) {
        let cc = channelCount
        precondition(destination.count >= frameCount * cc)
        for c in 0..<cc {
            channels[c].withUnsafeBufferPointer { src in
                var i = c
                for n in 0..<src.count { destination[i] = src[n]; i += cc }
            }
        }
    }

    /// The samples interleaved (`frame0ch0, frame0ch1, …`).
    public func interleaved() -> [Float] {
        [Float](unsafeUninitializedCapacity: frameCount * channelCount) { dst, count in
            interleave(into: dst)
            count = frameCount * channelCount
        }
    }

    /// Frames `range` of every channel.
    public func slice(_ range: Range<Int>) -> AudioBuffer {
        AudioBuffer(channels: channels.map { Array($0[range]) }, sampleRate: sampleRate)
    }

    /// Appends the frames of `other` (same channel count) to this buffer.
    public mutating func append(_ other: AudioBuffer) {
        precondition(other.channelCount == channelCount, "channel counts differ")
        for c in 0..<channelCount { channels[c].append(contentsOf: other.channels[c]) }
    }

    /// The index and value of the first sample that is NaN or infinite, if any.
    public func firstNonFinite() -> (channel: Int, frame: Int, value: Float)? {
        for c in 0..<channelCount {
            let hit: (Int, Float)? = channels[c].withUnsafeBufferPointer { p in
                for n in 0..<p.count where !p[n].isFinite { return (n, p[n]) }
                return nil
            }
            if let hit { return (c, hit.0, hit.1) }
        }
        return nil
    }
}
