import Foundation
import VoxAudio

/// Audio delivered block by block: a file reader or an in-memory buffer.
protocol BlockSource: AnyObject {
    var sampleRate: Double { get }
    var channelCount: Int { get }
    /// The length the source declares (exact for PCM and FLAC files and buffers, an estimate for lossy files).
    var declaredFrames: Int64 { get }
    /// Integer bit depth of lossless PCM data, nil for float, lossy or in-memory audio.
    var integerBits: Int? { get }
    func read(maxFrames: Int) throws -> AudioBuffer?
}

final class FileBlockSource: BlockSource {
    let reader: AudioFileReader
    init(path: String) throws { reader = try AudioFileReader(path: path) }
    var sampleRate: Double { Double(reader.info.sampleRate) }
    var channelCount: Int { reader.info.channelCount }
    var declaredFrames: Int64 { reader.info.frameCount }
    var integerBits: Int? { reader.info.isLossy ? nil : reader.info.integerBits }
    func read(maxFrames: Int) throws -> AudioBuffer? { try reader.read(maxFrames: maxFrames) }
}

final class MemoryBlockSource: BlockSource {
    let buffer: AudioBuffer
    let name: String
    private var position = 0
    init(_ buffer: AudioBuffer, name: String) throws {
        guard buffer.frameCount > 0 else { throw AudioError(.empty, path: name, "contains no audio (0 frames)") }
        if let bad = buffer.firstNonFinite() {
            throw AudioError(.nonFinite, path: name, "sample \(bad.frame) of channel \(bad.channel + 1) is \(bad.value)")
        }
        self.buffer = buffer
        self.name = name
    }
    var sampleRate: Double { buffer.sampleRate }
    var channelCount: Int { buffer.channelCount }
    var declaredFrames: Int64 { Int64(buffer.frameCount) }
    var integerBits: Int? { nil }
    func read(maxFrames: Int) throws -> AudioBuffer? {
        guard position < buffer.frameCount else { return nil }
        let end = min(buffer.frameCount, position + maxFrames)
        defer { position = end }
        return buffer.slice(position..<end)
    }
}

/// A delay by a fraction of a sample: a 32-tap Kaiser-windowed sinc (β = 8), streaming.
///
/// The filter's own latency (15 frames) is removed, so the output is the input delayed by exactly `fraction`
/// frames; it is one frame longer than the input (the last sample's tail).
final class FractionalDelay {
    static let halfTaps = 16
    let fraction: Double
    let channelCount: Int
    private let taps: [Float]
    private var history: [[Float]]
    private var toDrop = halfTaps - 1

    init(fraction: Double, channelCount: Int) {
        precondition(fraction >= 0 && fraction < 1)
        self.fraction = fraction
        self.channelCount = channelCount
        let h = FractionalDelay.halfTaps
        // Tap j weights x[n - j]; its centre sits at j = h - 1 + fraction.
        taps = kaiserWindowedSinc(count: 2 * h, centre: Double(h - 1) + fraction)
        history = Array(repeating: [Float](repeating: 0, count: 2 * h - 1), count: channelCount)
    }

    func process(_ buffer: AudioBuffer) -> AudioBuffer {
        let n = buffer.frameCount
        let tapCount = taps.count
        var out = [[Float]]()
        for c in 0..<channelCount {
            var extended = history[c]
            extended.append(contentsOf: buffer.channels[c])
            let y = [Float](unsafeUninitializedCapacity: n) { dst, count in
                extended.withUnsafeBufferPointer { xs in
                    taps.withUnsafeBufferPointer { h in
                        // x[n - j] for output i sits at extended[i + tapCount - 1 - j]: taps outside, samples inside.
                        for i in 0..<n { dst[i] = 0 }
                        let out = dst.baseAddress!
                        for j in 0..<tapCount {
                            let w = h[j]
                            let src = xs.baseAddress! + (tapCount - 1 - j)
                            for i in 0..<n { out[i] += w * src[i] }
                        }
                    }
                }
                count = n
            }
            history[c] = Array(extended.suffix(tapCount - 1))
            out.append(y)
        }
        var result = AudioBuffer(channels: out, sampleRate: buffer.sampleRate)
        if toDrop > 0 {
            let d = min(toDrop, n)
            result = result.slice(d..<n)
            toDrop -= d
        }
        return result
    }

    /// The remaining output: the filter's latency plus one frame of tail.
    func finish(sampleRate: Double) -> AudioBuffer {
        process(AudioBuffer(frameCount: FractionalDelay.halfTaps, channelCount: channelCount, sampleRate: sampleRate))
    }
}

/// One track on its way to the bus: decoded, down-mixed to at most two channels, resampled to the bus rate,
/// shifted by its offset, weighted (gain and pan) onto the bus channels.
final class TrackStream: @unchecked Sendable {
    let track: MixTrack
    let source: BlockSource
    let busRate: Double
    let busChannels: Int
    /// Channels after the down-mix (1 or 2).
    let trackChannels: Int
    private let weights: [[Float]]
    private let resampler: Resampler?
    private let delay: FractionalDelay?
    /// Frames of silence before the track starts on the bus, and frames cut from its start (negative offset).
    private var leadingSilence: Int
    private var toCut: Int
    /// Bus frames the track covers (including its leading silence), as far as the source's header tells.
    let expectedBusFrames: Int64
    /// True when the track's samples land on the bus unchanged (no resampling, weights 0/1, whole-frame offset).
    let isBitTransparent: Bool

    /// The last block made by `produce`, how many of its frames are within the track, and any error.
    private(set) var produced: [[Float]]
    private(set) var producedFrames = 0
    private(set) var error: Error?

    private var fifo: [[Float]]
    private var fifoStart = 0
    private var sourceDone = false
    private(set) var exhausted = false

    init(track: MixTrack, busRate: Double, busChannels: Int) throws {
        self.track = track
        switch track.source {
        case .file(let path): source = try FileBlockSource(path: path)
        case .buffer(let b, let name): source = try MemoryBlockSource(b, name: name)
        }
        self.busRate = busRate
        self.busChannels = busChannels
        trackChannels = min(2, source.channelCount)
        weights = track.busWeights(trackChannels: trackChannels, busChannels: busChannels)
        resampler = source.sampleRate == busRate ? nil
            : try Resampler(inputRate: source.sampleRate, outputRate: busRate, channelCount: trackChannels)
        let offset = track.offsetFrames ?? track.offsetSeconds * busRate
        var whole = offset.rounded(.down)
        var fraction = offset - whole
        // Offsets within a millionth of a frame of a whole frame are whole (ms values rarely land exactly).
        if fraction > 1 - 1e-6 { whole += 1; fraction = 0 }
        if fraction < 1e-6 { fraction = 0 }
        delay = fraction > 0 ? FractionalDelay(fraction: fraction, channelCount: trackChannels) : nil
        leadingSilence = max(0, Int(whole))
        toCut = max(0, -Int(whole))
        let resampled = resampler?.expectedOutputFrames(forInputFrames: source.declaredFrames) ?? source.declaredFrames
        expectedBusFrames = max(0, Int64(whole) + resampled + (delay == nil ? 0 : 1))
        let unitWeights = weights.allSatisfy { row in row.allSatisfy { $0 == 0 || $0 == 1 } }
        isBitTransparent = resampler == nil && delay == nil && unitWeights && source.channelCount == trackChannels
        fifo = Array(repeating: [], count: busChannels)
        produced = Array(repeating: [], count: busChannels)
    }

    /// Makes the next `count` bus frames into `produced` (for a worker thread: errors are kept, not thrown).
    func produce(count: Int) {
        do {
            producedFrames = try next(count: count, into: &produced)
        } catch {
            self.error = error
            producedFrames = 0
        }
    }

    /// Writes the track's next `count` bus frames into `destination` (overwriting; zeros where it is silent or over).
    /// Returns how many of them are within the track (fewer than `count` only at its end).
    @discardableResult
    func next(count: Int, into destination: inout [[Float]]) throws -> Int {
        for c in 0..<busChannels {
            if destination[c].count != count { destination[c] = [Float](repeating: 0, count: count) }
        }
        var filled = 0
        if leadingSilence > 0 {
            let z = min(leadingSilence, count)
            for c in 0..<busChannels { destination[c].withUnsafeMutableBufferPointer { d in for i in 0..<z { d[i] = 0 } } }
            leadingSilence -= z
            filled = z
        }
        while filled < count {
            let ready = fifo[0].count - fifoStart
            if ready == 0 {
                if sourceDone || track.muted {
                    for c in 0..<busChannels {
                        destination[c].withUnsafeMutableBufferPointer { d in for i in filled..<count { d[i] = 0 } }
                    }
                    exhausted = true
                    return filled
                }
                try refill(atLeast: count - filled)
                continue
            }
            let take = min(ready, count - filled)
            for c in 0..<busChannels {
                fifo[c].withUnsafeBufferPointer { f in
                    destination[c].withUnsafeMutableBufferPointer { d in
                        (d.baseAddress! + filled).update(from: f.baseAddress! + fifoStart, count: take)
                    }
                }
            }
            fifoStart += take
            filled += take
        }
        if fifoStart > 1 << 16 {
            for c in 0..<busChannels { fifo[c].removeFirst(fifoStart) }
            fifoStart = 0
        }
        return count
    }

    /// Pulls source blocks through the chain until at least `frames` bus frames are queued or the source ends.
    private func refill(atLeast frames: Int) throws {
        let blockFrames = max(4096, frames)
        while fifo[0].count - fifoStart < frames && !sourceDone {
            var block: AudioBuffer
            if let b = try source.read(maxFrames: blockFrames) {
                block = source.channelCount > 2 ? ChannelMixer.remix(b, to: 2) : b
                if let r = resampler { block = r.process(block) }
                if let d = delay { block = d.process(block) }
            } else {
                sourceDone = true
                var tail = AudioBuffer(frameCount: 0, channelCount: trackChannels, sampleRate: busRate)
                if let r = resampler { tail = r.finish() }
                if let d = delay {
                    tail = d.process(tail)
                    tail.append(d.finish(sampleRate: busRate))
                }
                block = tail
            }
            if toCut > 0 {
                let cut = min(toCut, block.frameCount)
                block = block.slice(cut..<block.frameCount)
                toCut -= cut
            }
            enqueue(block)
        }
    }

    /// Applies the bus weights and queues the frames.
    private func enqueue(_ block: AudioBuffer) {
        let n = block.frameCount
        if n == 0 { return }
        for b in 0..<busChannels {
            let row = weights[b]
            let start = fifo[b].count
            fifo[b].append(contentsOf: repeatElement(0, count: n))
            fifo[b].withUnsafeMutableBufferPointer { whole in
                let dst = whole.baseAddress! + start
                for (c, w) in row.enumerated() where w != 0 {
                    block.channels[c].withUnsafeBufferPointer { src in
                        if w == 1 {
                            for i in 0..<n { dst[i] += src[i] }
                        } else {
                            for i in 0..<n { dst[i] += w * src[i] }
                        }
                    }
                }
            }
        }
    }
}
