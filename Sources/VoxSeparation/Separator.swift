import Foundation
import VoxAudio
import VoxSpectral

/// Streams a mixture through a `MaskEstimator` into stems, in bounded memory, at the mixture's own sample rate.
///
/// Pipeline per block: resample to the estimator's rate (if needed) → streaming STFT → segments of
/// `segmentFrames` frames → masks → masked STFT of every stem but the last → streaming iSTFT → resample back. The
/// last stem is the mixture minus the others, sample by sample, so the stems sum to the input exactly (to float
/// rounding) whatever the masks. Memory: one segment of STFT frames plus resampler and overlap state.
public final class SeparationStream {
    public let estimator: MaskEstimator
    public let channelCount: Int
    public let sampleRate: Double

    private let inResampler: Resampler?
    private var outResamplers: [Resampler]
    private let stft: StreamingSTFT
    private var istfts: [StreamingISTFT]
    /// Pending STFT frames of the current segment, per channel, interleaved complex.
    private var pending: [[Float]]
    private var pendingFrames = 0
    /// Mixture samples (input rate) not yet matched by stem output.
    private var mixtureFIFO: [[Float]]
    /// Stem output (input rate) not yet matched, per non-last stem.
    private var stemFIFO: [[[Float]]]
    private var inputFrames = 0
    private var modelRateFrames = 0
    private var finished = false

    public init(estimator: MaskEstimator, channelCount: Int, sampleRate: Double) throws {
        self.estimator = estimator
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        let modelRate = Double(estimator.sampleRate)
        inResampler = modelRate == sampleRate ? nil : try Resampler(inputRate: sampleRate, outputRate: modelRate, channelCount: channelCount)
        let others = estimator.stems.count - 1
        outResamplers = modelRate == sampleRate ? [] : try (0..<others).map { _ in
            try Resampler(inputRate: modelRate, outputRate: sampleRate, channelCount: channelCount)
        }
        stft = StreamingSTFT(configuration: estimator.stftConfiguration, channelCount: channelCount, sampleRate: modelRate)
        istfts = (0..<others).map { _ in
            StreamingISTFT(configuration: estimator.stftConfiguration, channelCount: channelCount, sampleRate: modelRate)
        }
        pending = Array(repeating: [], count: channelCount)
        mixtureFIFO = Array(repeating: [], count: channelCount)
        stemFIFO = Array(repeating: Array(repeating: [], count: channelCount), count: others)
    }

    /// Adds mixture samples; returns the stem samples that are ready (same count for every stem).
    public func push(_ block: AudioBuffer) -> [AudioBuffer] {
        precondition(!finished && block.channelCount == channelCount)
        inputFrames += block.frameCount
        for c in 0..<channelCount { mixtureFIFO[c].append(contentsOf: block.channels[c]) }
        let modelBlock = inResampler?.process(block) ?? block
        modelRateFrames += modelBlock.frameCount
        addFrames(stft.push(modelBlock), final: false)
        return drain()
    }

    /// Ends the input; returns the remaining stem samples.
    public func finish() -> [AudioBuffer] {
        precondition(!finished)
        finished = true
        if let r = inResampler {
            let tail = r.finish()
            modelRateFrames += tail.frameCount
            addFrames(stft.push(tail), final: false)
        }
        for istft in istfts { istft.limit(length: modelRateFrames) }
        addFrames(stft.finish(), final: true)
        for (s, istft) in istfts.enumerated() { deliver(istft.finish(), stem: s, final: true) }
        return drain()
    }

    private func addFrames(_ spec: ComplexSpectrogram, final: Bool) {
        let rowFloats = 2 * spec.binCount
        var t = 0
        while t < spec.frameCount {
            let take = min(spec.frameCount - t, estimator.segmentFrames - pendingFrames)
            for c in 0..<channelCount {
                let start = spec.offset(channel: c, frame: t)
                pending[c].append(contentsOf: spec.data[start..<(start + take * rowFloats)])
            }
            pendingFrames += take
            t += take
            if pendingFrames == estimator.segmentFrames { processSegment() }
        }
        if final && pendingFrames > 0 { processSegment() }
    }

    private func processSegment() {
        let cfg = estimator.stftConfiguration
        let segment = ComplexSpectrogram(configuration: cfg, channelCount: channelCount, frameCount: pendingFrames,
                                         sampleRate: Double(estimator.sampleRate), data: pending.flatMap { $0 })
        let masks = estimator.masks(for: segment)
        for (s, mask) in masks.enumerated() {
            var masked = segment
            masked.data.withUnsafeMutableBufferPointer { d in
                mask.withUnsafeBufferPointer { m in
                    for i in 0..<m.count { d[2 * i] *= m[i]; d[2 * i + 1] *= m[i] }
                }
            }
            deliver(istfts[s].push(masked), stem: s, final: false)
        }
        for c in 0..<channelCount { pending[c].removeAll(keepingCapacity: true) }
        pendingFrames = 0
    }

    /// Moves model-rate stem samples (back to the input rate) into the stem FIFOs.
    private func deliver(_ audio: AudioBuffer, stem s: Int, final: Bool) {
        var out = outResamplers.isEmpty ? audio : outResamplers[s].process(audio)
        if final && !outResamplers.isEmpty { out.append(outResamplers[s].finish()) }
        for c in 0..<channelCount { stemFIFO[s][c].append(contentsOf: out.channels[c]) }
    }

    /// Emits as many samples as every stem has, with the last stem as the residual.
    private func drain() -> [AudioBuffer] {
        let ready = min(mixtureFIFO[0].count, stemFIFO.map { $0[0].count }.min() ?? 0)
        var stems = [AudioBuffer]()
        var residual = (0..<channelCount).map { Array(mixtureFIFO[$0][0..<ready]) }
        for s in 0..<stemFIFO.count {
            var chans = [[Float]]()
            for c in 0..<channelCount {
                let part = Array(stemFIFO[s][c][0..<ready])
                for i in 0..<ready { residual[c][i] -= part[i] }
                chans.append(part)
                stemFIFO[s][c].removeFirst(ready)
            }
            stems.append(AudioBuffer(channels: chans, sampleRate: sampleRate))
        }
        for c in 0..<channelCount { mixtureFIFO[c].removeFirst(ready) }
        stems.append(AudioBuffer(channels: residual, sampleRate: sampleRate))
        return stems
    }
}

/// Separates files and buffers with a `MaskEstimator`.
public struct Separator {
    public let estimator: MaskEstimator

    public init(estimator: MaskEstimator) { self.estimator = estimator }

    /// Stems of an in-memory mixture, by name, each the mixture's length, rate and channel count.
    public func separate(_ mixture: AudioBuffer) throws -> [String: AudioBuffer] {
        let stream = try SeparationStream(estimator: estimator, channelCount: mixture.channelCount, sampleRate: mixture.sampleRate)
        var outs = stream.push(mixture)
        let tail = stream.finish()
        for s in 0..<outs.count { outs[s].append(tail[s]) }
        return Dictionary(uniqueKeysWithValues: zip(estimator.stems, outs))
    }

    /// What `separateFile` wrote.
    public struct FileSummary: Encodable, Sendable {
        public var input: String
        public var outputs: [String: String]
        public var sampleRate: Int
        public var channels: Int
        public var frames: Int64
        public var seconds: Double
    }

    /// Streams `inputPath` into `outputDirectory/<stem>.<ext>`; all stems appear together, or none do.
    public func separateFile(inputPath: String, outputDirectory: String, format: AudioFileFormat,
                             blockFrames: Int = 1 << 17, progress: (Int64, Int64) -> Void = { _, _ in }) throws -> FileSummary {
        let reader = try AudioFileReader(path: inputPath)
        let info = reader.info
        let stream = try SeparationStream(estimator: estimator, channelCount: info.channelCount, sampleRate: Double(info.sampleRate))
        var writers = [AudioFileWriter]()
        var paths = [String: String]()
        do {
            for stem in estimator.stems {
                let path = outputDirectory + "/" + stem + "." + format.container.rawValue
                paths[stem] = path
                writers.append(try AudioFileWriter(path: path, format: format, sampleRate: info.sampleRate,
                                                   channelCount: info.channelCount, dither: format.encoding.integerBits != nil,
                                                   inputs: [inputPath], expectedFrames: info.frameCount))
            }
            while let block = try reader.read(maxFrames: blockFrames) {
                for (w, out) in zip(writers, stream.push(block)) { try w.write(out) }
                progress(reader.framesRead, info.frameCount)
            }
            for (w, out) in zip(writers, stream.finish()) { try w.write(out) }
        } catch {
            for w in writers { w.cancel() }
            throw error
        }
        var placed = [String]()
        do {
            for w in writers { try w.finish(); placed.append(w.path) }
        } catch {
            for w in writers { w.cancel() }
            for p in placed { unlink(p) }
            throw error
        }
        return FileSummary(input: inputPath, outputs: paths, sampleRate: info.sampleRate, channels: info.channelCount,
                           frames: reader.framesRead, seconds: Double(reader.framesRead) / Double(info.sampleRate))
    }
}
