import Foundation
import VoxAudio

/// Settings of streaming (block-wise) voice analysis.
public struct StreamingAnalysisOptions: Sendable, Equatable {
    /// Frames per block handed out (rounded up to the frame-alignment step, e.g. 2 frames at 44.1 kHz). Memory
    /// grows with it (a 44.1 kHz envelope frame is 4 KB); each block costs the F0 tracker 2 × `pitchContext` of
    /// extra signal. Default 8000 (40 s at 5 ms): a typical take or vocal stem is one block, analysed exactly as
    /// a whole, and longer files pay 5 % more F0 tracking.
    public var blockFrames = 8000
    /// Signal tracked either side of a block by the F0 tracker (s): its Viterbi decoding sees whole-signal
    /// context through it, and its resampling, candidate windows (45 ms), refinement windows (3 periods at the
    /// lowest F0) and smoothing reach past the frame. Default 1.0.
    public var pitchContext = 1.0
    /// Signal either side of a block's frames for the envelope and aperiodicity windows (s). Default 0.1: the
    /// longest, D4C's four periods at 47 Hz plus its quarter-period offset, reaches 48 ms from the frame.
    public var windowContext = 0.1

    public init() {}
}

/// F0 of one block of a stream: frames `firstFrame ..< firstFrame + track.frameCount` of the signal.
public struct PitchBlock: Sendable, Equatable {
    public var firstFrame: Int
    public var track: PitchTrack
}

/// Voice analysis of a signal of any length in bounded memory: samples go in as they are read, feature blocks of
/// `blockFrames` frames come out, on the whole signal's frame grid (`VoiceFeatures.firstFrame`).
///
/// Each block is analysed from a stretch of signal around it: the F0 tracker runs on the block plus
/// `pitchContext` either side, the envelope and aperiodicity on the block plus `windowContext`. Stretches start
/// on samples where both the frame grid and the tracker's 16 kHz grid fall on whole samples (every 441 samples
/// at 44.1 kHz), and the tracker's 16 kHz copy is made once for the whole stream, so every window sees the same
/// samples as in the whole-signal analysis. F0 is then identical wherever the tracker's best path through the
/// context agrees with the whole-signal one (a second of context makes that all but certain), and so are the
/// envelope and aperiodicity computed from it.
///
/// The tracker's silence gate is relative to the loudest frame of the signal it is given. For the whole file's
/// gate, measure the file's loudest frame first (`LoudestFrameMeter`, a cheap pass) and set
/// `loudestFrameEnergy`: each stretch the tracker sees then carries, outside the block and its context, a short
/// smooth DC plateau of exactly that frame energy (after the stretch, or before it for the file's last stretch).
/// Without it, the gate is relative to the loudest frame within a block and its context, so near-silent frames
/// (more than 50 dB below the file's loudest but not below the local loudest) can be voiced.
///
/// Memory: the stretch being analysed (block + contexts) and one block of features. A rate whose frame grid
/// never falls on whole samples is analysed in one piece.
public final class StreamingVoiceAnalyzer {
    /// Rate of the signal (Hz).
    public let sampleRate: Double
    public let options: StreamingAnalysisOptions
    /// Time between frames (s).
    public var framePeriod: Double { tracker.options.framePeriod }

    /// The whole signal's loudest frame energy as the F0 tracker measures it (`LoudestFrameMeter`), for its
    /// silence gate; nil: each stretch's own. Set before the first push.
    public var loudestFrameEnergy: Double?

    private let tracker: PitchTracker
    private let analyzer: VoiceAnalyzer?   // nil: F0 only
    private let chunker: AnalysisChunker

    /// A meter for `loudestFrameEnergy` with this analyser's tracker settings.
    public func makeLoudestFrameMeter() throws -> LoudestFrameMeter {
        try LoudestFrameMeter(tracker: tracker.options, sampleRate: sampleRate)
    }

    /// Sets `loudestFrameEnergy` from a first pass over the file at `path` (the file about to be pushed), unless
    /// it fits in one block, which is analysed whole anyway.
    public func measureLoudestFrame(path: String) throws {
        let reader = try AudioFileReader(path: path)
        let blockSamples = Double(chunker.blockFrames) * framePeriod * sampleRate
        guard Double(reader.info.frameCount) > blockSamples else { return }
        let meter = try makeLoudestFrameMeter()
        while let block = try reader.read(maxFrames: 1 << 16) { meter.push(block) }
        loudestFrameEnergy = meter.finish()
    }

    /// Full analysis (F0, envelope, aperiodicity) with `analyzer`'s settings, as `VoiceAnalyzer.analyze`.
    /// - Throws: `.invalidArgument` for a rate below 8 kHz or invalid options.
    public init(analyzer: VoiceAnalyzer = VoiceAnalyzer(), sampleRate: Double,
                options: StreamingAnalysisOptions = StreamingAnalysisOptions()) throws {
        guard sampleRate >= 8000 else {
            throw AudioError(.invalidArgument, "sample rate \(Int(sampleRate)) Hz is too low for voice analysis (at least 8000 Hz)")
        }
        var pitchOptions = analyzer.options.pitch
        // As VoiceAnalyzer.analyze: a low rate caps the highest trackable F0 (4 samples per period).
        pitchOptions.maximumF0 = min(pitchOptions.maximumF0, min(sampleRate, pitchOptions.analysisRate) / 4)
        self.sampleRate = sampleRate
        self.options = options
        self.analyzer = analyzer
        tracker = PitchTracker(options: pitchOptions)
        chunker = try AnalysisChunker(sampleRate: sampleRate, pitch: pitchOptions, options: options)
    }

    /// F0 only, with `tracker`'s settings (as `PitchTracker.track`); blocks come from `pushPitch` / `finishPitch`.
    public init(tracker: PitchTracker, sampleRate: Double, options: StreamingAnalysisOptions = StreamingAnalysisOptions()) throws {
        self.sampleRate = sampleRate
        self.options = options
        self.tracker = tracker
        analyzer = nil
        chunker = try AnalysisChunker(sampleRate: sampleRate, pitch: tracker.options, options: options)
    }

    /// Adds samples (mean of the channels) and returns the feature blocks now complete.
    /// - Throws: `.nonFinite` for NaN/∞ samples, tracker errors.
    public func push(_ audio: AudioBuffer) throws -> [VoiceFeatures] {
        try chunker.push(audio)
        return try chunker.ready(final: false).map(features)
    }

    /// Ends the signal and returns the remaining feature blocks (the last carries the whole length).
    /// - Throws: `.empty` when no samples were pushed.
    public func finish() throws -> [VoiceFeatures] { try chunker.ready(final: true).map(features) }

    /// Adds samples and returns the F0 blocks now complete.
    public func pushPitch(_ audio: AudioBuffer) throws -> [PitchBlock] {
        try chunker.push(audio)
        return try chunker.ready(final: false).map { try pitch($0).block }
    }

    /// Ends the signal and returns the remaining F0 blocks.
    public func finishPitch() throws -> [PitchBlock] { try chunker.ready(final: true).map { try pitch($0).block } }

    /// The block's F0, and the stretch's whole track (for the envelope's own frames).
    private func pitch(_ c: AnalysisChunker.Chunk) throws -> (block: PitchBlock, stretch: PitchTrack) {
        let rate = chunker.trackerRate
        var x = c.trackerSamples ?? c.samples
        // At the end of the signal, the stretch's own frame count can round one short of the signal's.
        let frames = c.frames.upperBound - c.firstFrame
        if worldFrameCount(sampleCount: x.count, sampleRate: rate, framePeriod: framePeriod) < frames {
            x += [Float](repeating: 0, count: Int((framePeriod * rate).rounded(.up)))
        }
        var track: PitchTrack
        if let energy = loudestFrameEnergy, !(c.startSample == 0 && c.isLast) {
            // The gate's reference: a plateau of the loudest frame energy, kept clear of the file's ends.
            let plateau = gatePlateau(energy: energy)
            if c.isLast {
                track = try tracker.track(samples: plateau + x, sampleRate: rate)
                let skip = plateau.count / chunker.trackerStep * chunker.step.frames
                track = Self.fitted(track, skip..<track.frameCount)
            } else {
                track = try tracker.track(samples: x + plateau, sampleRate: rate)
            }
        } else {
            track = try tracker.track(samples: x, sampleRate: rate)
        }
        let local = (c.frames.lowerBound - c.firstFrame)..<(c.frames.upperBound - c.firstFrame)
        let block = Self.fitted(track, local)
        return (PitchBlock(firstFrame: c.frames.lowerBound, track: block), track)
    }

    /// Silence, a raised-cosine rise, a DC plateau whose frame energy is `energy` (long enough for the tracker's
    /// window), a fall and silence, at the tracker's rate; a whole number of alignment steps long. No frame of it
    /// is louder than the plateau.
    private func gatePlateau(energy: Double) -> [Float] {
        let fs = chunker.trackerRate
        let gap = Int(0.05 * fs), ramp = Int(0.01 * fs), flat = Int(0.15 * fs)
        let level = energy.squareRoot()
        var x = [Float](repeating: 0, count: gap)
        for i in 0..<ramp { x.append(Float(level * 0.5 * (1 - cos(.pi * Double(i) / Double(ramp))))) }
        x += [Float](repeating: Float(level), count: flat)
        for i in 0..<ramp { x.append(Float(level * 0.5 * (1 + cos(.pi * Double(i) / Double(ramp))))) }
        let step = chunker.trackerStep
        x += [Float](repeating: 0, count: (x.count + gap + step - 1) / step * step - x.count)
        return x
    }

    /// Frames `range` of `track`; frames past its end (the last frame of a signal whose frame count rounds
    /// differently at another offset) repeat its last frame.
    static func fitted(_ track: PitchTrack, _ range: Range<Int>) -> PitchTrack {
        let idx = range.map { min($0, track.frameCount - 1) }
        return PitchTrack(framePeriod: track.framePeriod, f0: idx.map { track.f0[$0] }, confidence: idx.map { track.confidence[$0] })
    }

    private func features(_ c: AnalysisChunker.Chunk) throws -> VoiceFeatures {
        guard let analyzer else { preconditionFailure("F0-only analyser: use pushPitch / finishPitch") }
        let (_, stretch) = try pitch(c)
        // Envelope and aperiodicity from the block plus the window context (aligned as the stretch is).
        let q = chunker.step
        let context = Int((options.windowContext * sampleRate / Double(q.samples)).rounded(.up)) * q.samples
        let blockStart = c.frames.lowerBound / q.frames * q.samples
        let lastSample = Int((Double(c.frames.upperBound - 1) * framePeriod * sampleRate).rounded(.up))
        let lo = max(c.startSample, blockStart - context)
        let hi = min(c.startSample + c.samples.count, lastSample + context + 1)
        let x = Array(c.samples[(lo - c.startSample)..<(hi - c.startSample)])
        let firstFrame = (lo / q.samples) * q.frames
        let frames = worldFrameCount(sampleCount: x.count, sampleRate: sampleRate, framePeriod: framePeriod)
        let offset = firstFrame - c.firstFrame
        let sub = Self.fitted(stretch, offset..<(offset + frames))
        let all = try analyzer.features(samples: x, sampleRate: sampleRate, pitch: sub)
        var block = all.frames((c.frames.lowerBound - firstFrame)..<(c.frames.upperBound - firstFrame))
        block.firstFrame = c.frames.lowerBound
        block.sampleCount = c.samplesSoFar
        return block
    }
}

/// Cuts a sample stream into overlapping stretches, one per block of frames, each starting on an aligned sample.
final class AnalysisChunker {
    /// A stretch of signal and the block of frames it is analysed for.
    struct Chunk {
        var samples: [Float]
        /// Index in the signal of `samples[0]` (aligned: frame `firstFrame` lies on it).
        var startSample: Int
        var firstFrame: Int
        /// The block (frame indices in the signal).
        var frames: Range<Int>
        /// Signal length known when the chunk was cut (the whole length for the last chunk).
        var samplesSoFar: Int
        /// The stretch ends at the end of the signal.
        var isLast: Bool
        /// The same stretch at the tracker's rate (nil: the tracker works at the signal's rate).
        var trackerSamples: [Float]?
    }

    let sampleRate: Double
    let framePeriod: Double
    /// Alignment step: `samples` samples are exactly `frames` frames (and whole samples at the tracker's rate).
    let step: (samples: Int, frames: Int)
    let blockFrames: Int
    let context: Int               // samples, a whole number of steps
    let onePiece: Bool             // no aligned grid: the whole signal is one chunk
    /// Rate of the F0 tracker's analysis. The signal is resampled to it here, once, as one stream (libsoxr gives
    /// the same samples as resampling the whole signal at once), so each stretch holds exactly the samples the
    /// tracker works on in a whole-signal analysis; resampling each stretch would round differently near its ends.
    let trackerRate: Double
    /// `step.samples` at the tracker's rate.
    let trackerStep: Int
    private let resampler: Resampler?
    private var tracked: [Float] = []
    private var trackedStart = 0   // tracker-rate index of tracked[0]
    private var trackedIn = 0
    private var buffer: [Float] = []
    private var bufferStart = 0    // signal index of buffer[0]
    private var samplesIn = 0
    private var nextFrame = 0
    private var done = false

    init(sampleRate fs: Double, pitch: PitchTrackerOptions, options: StreamingAnalysisOptions) throws {
        guard options.blockFrames > 0, options.pitchContext >= 0, options.windowContext >= 0,
              options.windowContext <= options.pitchContext else {
            throw AudioError(.invalidArgument, "streaming analysis: need blockFrames > 0 and 0 ≤ windowContext ≤ pitchContext")
        }
        sampleRate = fs
        framePeriod = pitch.framePeriod
        // As PitchTracker.track: the tracker resamples a signal above its analysis rate.
        trackerRate = fs > pitch.analysisRate * 1.01 ? pitch.analysisRate : fs
        resampler = trackerRate == fs ? nil : try Resampler(inputRate: fs, outputRate: trackerRate, channelCount: 1)
        if let s = Self.alignment(sampleRate: fs, framePeriod: pitch.framePeriod, trackerRate: trackerRate) {
            step = s
            onePiece = false
            blockFrames = (options.blockFrames + s.frames - 1) / s.frames * s.frames
            context = Int((options.pitchContext * fs / Double(s.samples)).rounded(.up)) * s.samples
        } else {
            step = (1, 1)
            onePiece = true
            blockFrames = .max / 2
            context = 0
        }
        trackerStep = Int((Double(step.samples) * trackerRate / fs).rounded())
    }

    /// The smallest number of frames spanning a whole number of samples, which at the tracker's rate is whole
    /// too; nil when there is none within 4000 frames.
    static func alignment(sampleRate fs: Double, framePeriod: Double, trackerRate: Double) -> (samples: Int, frames: Int)? {
        func whole(_ v: Double) -> Bool { abs(v - v.rounded()) < 1e-9 * max(1, abs(v)) }
        for frames in 1...4000 {
            let q = Double(frames) * framePeriod * fs
            guard whole(q), q >= 1 else { continue }
            let samples = Int(q.rounded())
            if !whole(Double(samples) * trackerRate / fs) { continue }
            return (samples, frames)
        }
        return nil
    }

    func push(_ audio: AudioBuffer) throws {
        precondition(!done, "push after finish")
        if let bad = audio.firstNonFinite() {
            throw AudioError(.nonFinite, "sample \(samplesIn + bad.frame) of channel \(bad.channel) is \(bad.value)")
        }
        let n = audio.frameCount
        let scale = 1 / Float(audio.channelCount)
        let old = buffer.count
        buffer += [Float](repeating: 0, count: n)
        buffer.withUnsafeMutableBufferPointer { b in
            for c in audio.channels {
                c.withUnsafeBufferPointer { s in
                    if audio.channelCount == 1 { for i in 0..<n { b[old + i] = s[i] } }
                    else { for i in 0..<n { b[old + i] += s[i] * scale } }
                }
            }
        }
        samplesIn += n
        if let resampler {
            let mono = AudioBuffer(channels: [Array(buffer[old...])], sampleRate: sampleRate)
            tracked += resampler.process(mono).channels[0]
            trackedIn = trackedStart + tracked.count
        }
    }

    /// The chunks whose signal is all there (all remaining ones when `final`).
    func ready(final: Bool) throws -> [Chunk] {
        precondition(!done, "finish called twice")
        if final {
            done = true
            guard samplesIn > 0 else { throw AudioError(.empty, "no samples to analyse") }
            if let resampler {
                tracked += resampler.finish().channels[0]
                trackedIn = trackedStart + tracked.count
            }
        }
        let total = final ? worldFrameCount(sampleCount: samplesIn, sampleRate: sampleRate, framePeriod: framePeriod) : Int.max
        var out = [Chunk]()
        while nextFrame < total && (final || !onePiece) {
            let end = min(total, nextFrame + blockFrames)
            // Last sample the block's frames and their context need.
            let need = Int((Double(end - 1) * framePeriod * sampleRate).rounded(.up)) + context + 1
            if !final && need > samplesIn { break }
            let start = max(0, nextFrame / step.frames * step.samples - context)
            let stop = min(samplesIn, need)
            var trackerSamples: [Float]?
            if resampler != nil {
                let from = start / step.samples * trackerStep
                let to = final ? trackedIn : Int((Double(stop) * trackerRate / sampleRate).rounded(.up))
                if !final && to > trackedIn { break }   // the resampler's delay: wait for more input
                trackerSamples = Array(tracked[(from - trackedStart)..<(to - trackedStart)])
            }
            out.append(Chunk(samples: Array(buffer[(start - bufferStart)..<(stop - bufferStart)]), startSample: start,
                             firstFrame: start / step.samples * step.frames, frames: nextFrame..<end,
                             samplesSoFar: samplesIn, isLast: final && stop == samplesIn, trackerSamples: trackerSamples))
            nextFrame = end
            // The next stretch starts at most `context` before the next block.
            let keep = max(0, nextFrame / step.frames * step.samples - context)
            if keep > bufferStart && keep - bufferStart <= buffer.count {
                buffer.removeFirst(keep - bufferStart)
                bufferStart = keep
            }
            let keepTracked = keep / step.samples * trackerStep
            if keepTracked > trackedStart && keepTracked - trackedStart <= tracked.count {
                tracked.removeFirst(keepTracked - trackedStart)
                trackedStart = keepTracked
            }
        }
        if final { buffer = []; tracked = [] }
        return out
    }
}

/// The loudest frame energy of a signal as the F0 tracker's silence gate measures it (mean square over each
/// frame's candidate window, on the tracker's resampled copy), in one streaming pass: the reference that makes a
/// block-wise analysis gate as the whole-signal one does (`StreamingVoiceAnalyzer.loudestFrameEnergy`).
///
/// It mirrors `PitchTracker`'s window arithmetic (the candidate window plus the lag range, centred on the frame),
/// which the streaming-vs-whole-signal tests check.
public final class LoudestFrameMeter {
    private let resampler: Resampler?
    private let frameStart: (Int) -> Int   // first sample (tracker rate) of frame t's window
    private let span: Int
    private let framePeriod: Double
    private let sampleRate: Double
    private var samples: [Double] = []     // squares of the tracker-rate samples from `offset`
    private var offset = 0
    private var inputCount = 0
    private var nextFrame = 0
    private var loudest = 0.0

    public init(tracker o: PitchTrackerOptions, sampleRate fs: Double) throws {
        let rate = fs > o.analysisRate * 1.01 ? o.analysisRate : fs
        resampler = rate == fs ? nil : try Resampler(inputRate: fs, outputRate: rate, channelCount: 1)
        let tauMin = max(2, Int((rate / o.maximumF0).rounded(.down)))
        let tauMax = Int((rate / o.minimumF0).rounded(.up))
        let w = max(Int(o.windowDuration * rate), tauMin * 2)
        span = w + tauMax + 1
        let period = o.framePeriod
        frameStart = { t in Int((Double(t) * period * rate).rounded()) - (w + tauMax / 2) / 2 }
        framePeriod = period
        sampleRate = fs
    }

    /// Adds samples (mean of the channels).
    public func push(_ audio: AudioBuffer) {
        inputCount += audio.frameCount
        let mono = ChannelMixer.remix(audio, to: 1)
        add(resampler.map { $0.process(mono) } ?? mono, final: false)
    }

    /// The loudest frame energy of everything pushed.
    public func finish() -> Double {
        add(resampler.map { $0.finish() } ?? AudioBuffer(frameCount: 0, channelCount: 1, sampleRate: sampleRate), final: true)
        return loudest
    }

    private func add(_ block: AudioBuffer, final: Bool) {
        samples += block.channels[0].map { Double($0) * Double($0) }
        let end = offset + samples.count
        let frames = final ? worldFrameCount(sampleCount: inputCount, sampleRate: sampleRate, framePeriod: framePeriod) : Int.max
        while nextFrame < frames {
            let s = frameStart(nextFrame)
            if !final && s + span > end { break }
            var sum = 0.0
            for i in max(offset, s)..<max(offset, min(end, s + span)) { sum += samples[i - offset] }
            loudest = max(loudest, sum / Double(span))
            nextFrame += 1
        }
        let keep = max(offset, min(end, frameStart(nextFrame)))
        samples.removeFirst(keep - offset)
        offset = keep
    }
}
