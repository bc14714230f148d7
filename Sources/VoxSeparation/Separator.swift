import Foundation
import VoxAudio
import VoxSpectral

/// Streams a mixture through a `MaskEstimator` into stems, in bounded memory, at the mixture's own sample rate.
///
/// Pipeline per block: resample to the estimator's rate (if needed) → streaming STFT → windows of `segmentFrames`
/// frames → masks → masked STFT of every stem but the last → streaming iSTFT → resample back. The last stem is the
/// mixture minus the others, sample by sample, so the stems sum to the input exactly (to float rounding) whatever
/// the masks. Memory: one window of STFT frames plus resampler and overlap state.
///
/// Consecutive windows overlap by `2C` frames (`C = contextFrames`): window k covers frames
/// `[k·H − C − offset, k·H − C − offset + T)` with hop `H = T − 2C`. In each overlap the two windows' masks are
/// cross-faded linearly, so a window's own edge frames (estimated with the least context) get weight near 0 and
/// there is no seam. `contextFrames = 0` gives Spleeter's own hard segmentation (windows at multiples of T, the
/// last zero-padded). The U-Net is shift-equivariant only for shifts that are multiples of its total stride
/// (2⁶ = 64 frames), so offsets between window grids are meaningful in those units.
public final class SeparationStream {
    public let estimator: MaskEstimator
    public let channelCount: Int
    public let sampleRate: Double

    private let inResampler: Resampler?
    private var outResamplers: [Resampler]
    private let stft: StreamingSTFT
    private var istfts: [StreamingISTFT]
    /// STFT frames from absolute frame `bufferStart` on, per channel, interleaved complex.
    private var frameBuffer: [[Float]]
    private var bufferStart = 0
    private var framesAnalysed = 0
    /// Next window to evaluate.
    private var nextWindow = 0
    private let contextFrames: Int
    private let windowOffset: Int
    /// Stem spectrograms of the previous window over its last `2C` frames, per non-last stem,
    /// `(channels, 2C, bins)` complex.
    private var overlapTail: [[Float]]? = nil
    private let wiener: WienerFilter?
    private let wienerWorkspace = WienerFilter.Workspace()
    private let scratch = ScratchPool()
    /// The window whose masks are being estimated on another thread (at most one: the estimator is not reentrant).
    private var inFlight: (window: PendingWindow, masks: BackgroundResult<[[Float]]>)? = nil
    /// Mixture samples (input rate) not yet matched by stem output.
    private var mixtureFIFO: [[Float]]
    /// Stem output (input rate) not yet matched, per non-last stem.
    private var stemFIFO: [[[Float]]]
    private var inputFrames = 0
    private var modelRateFrames = 0
    private var finished = false

    /// - Parameters:
    ///   - contextFrames: frames of context on each side of the part of a window that is used (0: hard segments).
    ///   - windowOffset: shifts the window grid by this many frames (for consistency checks).
    ///   - wienerIterations: EM iterations of the multichannel Wiener post-filter (0: soft masks only).
    public init(estimator: MaskEstimator, channelCount: Int, sampleRate: Double, contextFrames: Int = 64,
                windowOffset: Int = 0, wienerIterations: Int = 0) throws {
        wiener = wienerIterations > 0 ? {
            var w = WienerFilter(iterations: wienerIterations)
            // Overlapping windows: covariances local in time, so the window grid does not change them.
            // 64-frame blocks: the neighbourhood (block ± neighbours) must fit in the context frames.
            let block = 64
            if contextFrames > 0 { w.blockFrames = block; w.neighbourBlocks = max(0, contextFrames / block - 1) }
            return w
        }() : nil
        precondition(contextFrames >= 0 && 2 * contextFrames < estimator.segmentFrames)
        precondition(windowOffset >= 0 && windowOffset < estimator.segmentFrames - 2 * contextFrames)
        self.contextFrames = contextFrames
        self.windowOffset = windowOffset
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
        frameBuffer = Array(repeating: [], count: channelCount)
        mixtureFIFO = Array(repeating: [], count: channelCount)
        stemFIFO = Array(repeating: Array(repeating: [], count: channelCount), count: others)
    }

    /// Adds mixture samples; returns the stem samples that are ready (same count for every stem).
    public func push(_ block: AudioBuffer) -> [AudioBuffer] {
        precondition(!finished && block.channelCount == channelCount)
        inputFrames += block.frameCount
        for c in 0..<channelCount { mixtureFIFO[c].append(contentsOf: block.channels[c]) }
        let frames = StageTrace.measure("stft") { () -> ComplexSpectrogram in
            let modelBlock = inResampler?.process(block) ?? block
            modelRateFrames += modelBlock.frameCount
            return stft.push(modelBlock)
        }
        addFrames(frames, final: false)
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
        if let last = inFlight {
            inFlight = nil
            finishWindow(last.window, masks: StageTrace.measure("wait", window: last.window.index) { last.masks.wait() })
        }
        for (s, istft) in istfts.enumerated() { deliver(istft.finish(), stem: s, final: true) }
        return drain()
    }

    /// Window hop in frames.
    private var hopFrames: Int { estimator.segmentFrames - 2 * contextFrames }
    /// First frame of window k (absolute; negative at the start).
    private func windowStart(_ k: Int) -> Int { k * hopFrames - contextFrames - windowOffset }

    private func addFrames(_ spec: ComplexSpectrogram, final: Bool) {
        let rowFloats = 2 * spec.binCount
        for c in 0..<channelCount {
            let start = spec.offset(channel: c, frame: 0)
            frameBuffer[c].append(contentsOf: spec.data[start..<(start + spec.frameCount * rowFloats)])
        }
        framesAnalysed += spec.frameCount
        // Window k emits frames up to the start of window k+1. Evaluate every window whose frames have all arrived;
        // at the end, every window that starts before the last frame.
        while true {
            let start = windowStart(nextWindow)
            if final ? start >= framesAnalysed : start + estimator.segmentFrames > framesAnalysed { break }
            // Pipeline: while the estimator works on window k (both cores for a U-Net pair), this thread finishes
            // window k−1 (Wiener filter, iSTFT) and goes on reading and analysing the input.
            let window = assembleWindow(nextWindow, binCount: spec.binCount, final: final)
            let previous = inFlight
            let previousMasks = StageTrace.measure("wait", window: nextWindow - 1) { previous?.masks.wait() }
            let estimator = UnsafeSendable(self.estimator), spectrogram = UnsafeSendable(window.spectrogram)
            let k = nextWindow
            inFlight = (window, BackgroundResult { StageTrace.measure("masks", window: k) { estimator.value.masks(for: spectrogram.value) } })
            if let previous, let previousMasks { finishWindow(previous.window, masks: previousMasks) }
            nextWindow += 1
        }
    }

    /// Copies window k's STFT frames out of the frame buffer (zeros outside the signal) and drops the frames that no
    /// later window needs.
    private func assembleWindow(_ k: Int, binCount bins: Int, final: Bool) -> PendingWindow {
        let cfg = estimator.stftConfiguration
        let rowFloats = 2 * bins, C = contextFrames
        let first = windowStart(k)
        // The last window of an overlapping grid only needs to reach the end (rounded up to the estimator's
        // quantum); Spleeter's hard segments always have full length, as in Spleeter.
        var T = estimator.segmentFrames
        if final && C > 0 && first + T > framesAnalysed {
            let q = estimator.frameQuantum
            T = min(T, max(q, (framesAnalysed - first + q - 1) / q * q))
        }
        // Assemble T frames; frames before 0 or past the end are zero.
        var data = scratch.take("window\(k % 2)", count: channelCount * T * rowFloats, zeroed: false)
        data.withUnsafeMutableBufferPointer { d in
            for c in 0..<channelCount {
                frameBuffer[c].withUnsafeBufferPointer { f in
                    for t in 0..<T {
                        let a = first + t
                        guard a >= bufferStart && a < framesAnalysed else {
                            (d.baseAddress! + (c * T + t) * rowFloats).update(repeating: 0, count: rowFloats)
                            continue
                        }
                        (d.baseAddress! + (c * T + t) * rowFloats).update(from: f.baseAddress! + (a - bufferStart) * rowFloats, count: rowFloats)
                    }
                }
            }
        }
        let window = ComplexSpectrogram(configuration: cfg, channelCount: channelCount, frameCount: T,
                                        sampleRate: Double(estimator.sampleRate), data: data)
        data = []  // `window` holds the storage now
        // Drop frames no later window needs.
        let keepFrom = max(bufferStart, min(framesAnalysed, windowStart(k + 1)))
        if keepFrom > bufferStart {
            for c in 0..<channelCount { frameBuffer[c].removeFirst((keepFrom - bufferStart) * rowFloats) }
            bufferStart = keepFrom
        }
        return PendingWindow(index: k, first: first, final: final, spectrogram: window)
    }

    /// Applies window k's masks (and the Wiener filter), cross-fades with the previous window and emits its frames.
    private func finishWindow(_ pending: PendingWindow, masks: [[Float]]) {
        let cfg = estimator.stftConfiguration, C = contextFrames
        let window = pending.spectrogram, first = pending.first, final = pending.final
        let T = window.frameCount, rowFloats = 2 * window.binCount
        // Complex spectrogram of every non-last stem over the window: masked mixture, optionally Wiener-refined.
        var outputs = [[Float]]()
        for (s, m) in masks.enumerated() {
            var y = scratch.take("output\(s)", count: m.count * 2, zeroed: false)  // all written
            y.withUnsafeMutableBufferPointer { yp in
                window.data.withUnsafeBufferPointer { d in
                    m.withUnsafeBufferPointer { mp in
                        for i in 0..<mp.count { yp[2 * i] = d[2 * i] * mp[i]; yp[2 * i + 1] = d[2 * i + 1] * mp[i] }
                    }
                }
            }
            outputs.append(y)
        }
        if let wiener {
            // The filter models every stem, the residual one included.
            var residual = scratch.take("residual", count: window.data.count, zeroed: false)
            residual.withUnsafeMutableBufferPointer { r in
                window.data.withUnsafeBufferPointer { d in for i in 0..<d.count { r[i] = d[i] } }
                for y in outputs { y.withUnsafeBufferPointer { yp in for i in 0..<yp.count { r[i] -= yp[i] } } }
            }
            outputs.append(residual)
            residual = []  // `outputs` must hold the only reference, or the filter's first write copies it
            StageTrace.measure("wiener", window: pending.index) {
                wiener.refine(mixture: window, sources: &outputs, workspace: wienerWorkspace, firstFrame: first)
            }
            scratch.give("residual", outputs.removeLast())
        }
        let planeFloats = T * rowFloats
        // Cross-fade the first 2C frames with the previous window's tail.
        if C > 0, let previous = overlapTail {
            for s in 0..<outputs.count {
                for c in 0..<channelCount {
                    for j in 0..<min(2 * C, T) {
                        let phase = (Float(j) + 0.5) / Float(2 * C)
                        let wCurrent = phase * phase * (3 - 2 * phase)  // smoothstep: edge frames get little weight
                        let cur = c * planeFloats + j * rowFloats, prev = (c * 2 * C + j) * rowFloats
                        for b in 0..<rowFloats { outputs[s][cur + b] = wCurrent * outputs[s][cur + b] + (1 - wCurrent) * previous[s][prev + b] }
                    }
                }
            }
        }
        // Keep this window's last 2C frames for the next one; emit the rest (all of it if this is the last window).
        let emitWindowFrames = final && first + T >= framesAnalysed ? T : T - 2 * C
        if C > 0 && T >= 2 * C {
            // Overwrites the previous tails (already cross-faded in above) in place: no fresh pages per window.
            var tails = overlapTail ?? []
            overlapTail = nil
            let tailFloats = 2 * C * rowFloats
            for (s, y) in outputs.enumerated() {
                if s == tails.count { tails.append([]) }
                if tails[s].count != channelCount * tailFloats { tails[s] = [Float](repeating: 0, count: channelCount * tailFloats) }
                for c in 0..<channelCount {
                    let src = c * planeFloats + (T - 2 * C) * rowFloats
                    tails[s].replaceSubrange((c * tailFloats)..<((c + 1) * tailFloats), with: y[src..<(src + tailFloats)])
                }
            }
            overlapTail = tails
        }
        let lo = max(0, first), hi = min(framesAnalysed, first + emitWindowFrames)
        let count = max(0, hi - lo)
        for (s, y) in outputs.enumerated() {
            var part = ComplexSpectrogram(configuration: cfg, channelCount: channelCount, frameCount: count,
                                          sampleRate: Double(estimator.sampleRate),
                                          data: scratch.take("part\(s)", count: channelCount * count * rowFloats, zeroed: false))
            for c in 0..<channelCount {
                let src = c * planeFloats + (lo - first) * rowFloats
                part.data.replaceSubrange((c * count * rowFloats)..<((c + 1) * count * rowFloats), with: y[src..<(src + count * rowFloats)])
            }
            let audio = StageTrace.measure("istft", window: pending.index) { istfts[s].push(part) }
            deliver(audio, stem: s, final: false)
            scratch.give("part\(s)", part.data)
        }
        for (s, y) in outputs.enumerated() { scratch.give("output\(s)", y) }
        scratch.give("window\(pending.index % 2)", window.data)
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
    /// Default window for U-Net estimators in seamless mode: 2048 frames (47.6 s at 44.1 kHz / hop 1024)…
    public static let seamlessWindowFrames = 2048
    /// …with 192 frames of context on each side, about the reach of the deepest U-Net layer, so that no mask frame
    /// depends much on where windows fall.
    public static let seamlessContextFrames = 192

    public let estimator: MaskEstimator
    /// Context frames on each side of each window's used part (see `SeparationStream`); 0 = hard segments.
    public var contextFrames: Int
    /// EM iterations of the multichannel Wiener post-filter (0: soft masks only).
    public var wienerIterations: Int

    public init(estimator: MaskEstimator, contextFrames: Int = 64, wienerIterations: Int = 0) {
        self.estimator = estimator
        self.contextFrames = contextFrames
        self.wienerIterations = wienerIterations
    }

    /// Stems of an in-memory mixture, by name, each the mixture's length, rate and channel count.
    public func separate(_ mixture: AudioBuffer) throws -> [String: AudioBuffer] {
        try separate(mixture, windowOffset: 0)
    }

    /// As `separate(_:)`, with the window grid shifted by `windowOffset` frames.
    public func separate(_ mixture: AudioBuffer, windowOffset: Int) throws -> [String: AudioBuffer] {
        let stream = try SeparationStream(estimator: estimator, channelCount: mixture.channelCount, sampleRate: mixture.sampleRate,
                                          contextFrames: contextFrames, windowOffset: windowOffset,
                                          wienerIterations: wienerIterations)
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
        let stream = try SeparationStream(estimator: estimator, channelCount: info.channelCount, sampleRate: Double(info.sampleRate),
                                          contextFrames: contextFrames, wienerIterations: wienerIterations)
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
            while let block = try StageTrace.measure("read", { try reader.read(maxFrames: blockFrames) }) {
                try StageTrace.measure("write") { try Self.write(stream.push(block), to: writers) }
                progress(reader.framesRead, info.frameCount)
            }
            let outs = stream.finish()
            try StageTrace.measure("write") { try Self.write(outs, to: writers) }
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

extension Separator {
    /// Writes each stem's block to its writer, the stems in parallel: quantising with dither and encoding cost about
    /// as much as the Wiener filter, and after the last window nothing else is left to overlap them with.
    static func write(_ stems: [AudioBuffer], to writers: [AudioFileWriter]) throws {
        let failures = UnsafeMutableBufferPointer<Error?>.allocate(capacity: writers.count)
        failures.initialize(repeating: nil)
        defer { failures.deinitialize(); failures.deallocate() }
        let slots = UnsafeSendable(failures), targets = UnsafeSendable(writers), blocks = UnsafeSendable(stems)
        DispatchQueue.concurrentPerform(iterations: writers.count) { s in
            do { try targets.value[s].write(blocks.value[s]) } catch { slots.value[s] = error }
        }
        if let error = failures.compactMap({ $0 }).first { throw error }
    }
}

/// A window of mixture frames on its way through the estimator.
private struct PendingWindow {
    let index: Int
    /// Absolute index of its first frame (negative at the start).
    let first: Int
    /// Whether it was cut at the end of the input.
    let final: Bool
    let spectrogram: ComplexSpectrogram
}

/// A value computed on a global-queue thread; `wait()` blocks until it is there.
final class BackgroundResult<Value>: @unchecked Sendable {
    private var value: Value?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global(qos: .userInitiated).async {
            self.value = work()
            self.done.signal()
        }
    }

    /// The value (waits for it; any number of calls).
    func wait() -> Value {
        done.wait()
        done.signal()
        return value!
    }
}
