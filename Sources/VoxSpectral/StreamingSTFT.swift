import VoxAudio

/// STFT of a signal that arrives in blocks, with bounded memory.
///
/// Emits each frame as soon as all of its samples have arrived; `finish()` emits the frames that overlap the end
/// (zero-padded). The frames, concatenated, equal `ShortTimeFourierTransform.forward` of the whole signal bit for
/// bit, whatever the block sizes. Memory: `fftSize` samples per channel plus the block being pushed.
public final class StreamingSTFT {
    public let configuration: STFTConfiguration
    public let channelCount: Int
    public let sampleRate: Double
    /// Frames emitted so far.
    public private(set) var framesEmitted = 0
    /// Samples per channel received so far.
    public private(set) var samplesReceived = 0

    private let fft: RealFFT
    private let window: [Float]
    /// Per channel, the received samples from absolute index `historyStart` on.
    private var history: [[Float]]
    private var historyStart = 0
    private var finished = false

    /// - Parameter measure: plan the FFT by measurement (see `RealFFT.init(size:measure:)`); `false` saves
    ///   FFTW's planning time (~0.2 s per process for 512 points on a loaded core) where a stream is short.
    public init(configuration: STFTConfiguration, channelCount: Int, sampleRate: Double, measure: Bool = true) {
        self.configuration = configuration
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        fft = RealFFT(size: configuration.fftSize, measure: measure)
        window = configuration.window.samples(size: configuration.fftSize)
        history = Array(repeating: [], count: channelCount)
    }

    /// Adds samples; returns the frames that became complete (possibly none).
    public func push(_ buffer: AudioBuffer) -> ComplexSpectrogram {
        precondition(!finished, "push after finish")
        precondition(buffer.channelCount == channelCount, "channel count differs")
        for c in 0..<channelCount { history[c].append(contentsOf: buffer.channels[c]) }
        samplesReceived += buffer.frameCount
        var ready = framesEmitted
        while configuration.frameStart(ready) + configuration.fftSize <= samplesReceived { ready += 1 }
        return emit(upTo: ready)
    }

    /// Emits the remaining frames of a signal of `samplesReceived` samples.
    public func finish() -> ComplexSpectrogram {
        precondition(!finished, "finish called twice")
        finished = true
        return emit(upTo: configuration.frameCount(forSamples: samplesReceived))
    }

    private func emit(upTo end: Int) -> ComplexSpectrogram {
        let count = max(0, end - framesEmitted)
        var spec = ComplexSpectrogram(configuration: configuration, channelCount: channelCount, frameCount: count,
                                      sampleRate: sampleRate)
        let bins = configuration.binCount
        spec.data.withUnsafeMutableBufferPointer { out in
            window.withUnsafeBufferPointer { w in
                for c in 0..<channelCount {
                    history[c].withUnsafeBufferPointer { h in
                        for i in 0..<count {
                            analyzeFrame(signal: h, signalOffset: historyStart, start: configuration.frameStart(framesEmitted + i),
                                         window: w, fft: fft, into: out.baseAddress! + 2 * ((c * count + i) * bins))
                        }
                    }
                }
            }
        }
        framesEmitted += count
        // Drop samples no future frame needs.
        let keepFrom = max(historyStart, min(samplesReceived, configuration.frameStart(framesEmitted)))
        if keepFrom > historyStart {
            for c in 0..<channelCount { history[c].removeFirst(keepFrom - historyStart) }
            historyStart = keepFrom
        }
        return spec
    }
}

/// Inverse STFT of frames that arrive in blocks, with bounded memory.
///
/// Emits each output sample once no later frame can touch it. With the same frames, the concatenated output
/// equals `ShortTimeFourierTransform.inverse` bit for bit. Pass the signal's `length` when known so that no
/// sample past it is ever emitted; `finish()` pads or trims to it.
public final class StreamingISTFT {
    public let configuration: STFTConfiguration
    public let channelCount: Int
    public let sampleRate: Double
    /// Total output length, when known (in advance, or from `limit(length:)` once the input has ended).
    public private(set) var length: Int?
    /// Frames received so far.
    public private(set) var framesReceived = 0
    /// Samples per channel emitted so far.
    public private(set) var samplesEmitted = 0

    private let fft: RealFFT
    private let synthesisWindow: [Float]
    private let envelope: OverlapAddEnvelope
    /// Per channel, overlap-add accumulators for absolute samples from `samplesEmitted` on.
    private var accumulators: [[Float]]
    private var finished = false

    /// - Parameter measure: as `StreamingSTFT.init`'s.
    public init(configuration: STFTConfiguration, channelCount: Int, sampleRate: Double, length: Int? = nil,
                measure: Bool = true) {
        self.configuration = configuration
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        self.length = length
        fft = RealFFT(size: configuration.fftSize, measure: measure)
        let transform = ShortTimeFourierTransform(configuration: configuration)
        synthesisWindow = transform.synthesisWindow
        envelope = transform.envelope
        accumulators = Array(repeating: [], count: channelCount)
    }

    /// Adds frames (the next ones in order); returns the samples that became final.
    public func push(_ spec: ComplexSpectrogram) -> AudioBuffer {
        precondition(!finished, "push after finish")
        precondition(spec.configuration == configuration && spec.channelCount == channelCount)
        let cfg = configuration
        let lastEnd = cfg.frameStart(framesReceived + spec.frameCount - 1) + cfg.fftSize
        grow(to: lastEnd - samplesEmitted)
        for t in 0..<spec.frameCount {
            let start = cfg.frameStart(framesReceived + t)
            for c in 0..<channelCount {
                accumulators[c].withUnsafeMutableBufferPointer { y in
                    synthesisWindow.withUnsafeBufferPointer { w in
                        spec.data.withUnsafeBufferPointer { d in
                            synthesizeFrame(d.baseAddress! + spec.offset(channel: c, frame: t), fft: fft, window: w,
                                            start: start, into: y, outputOffset: samplesEmitted)
                        }
                    }
                }
            }
        }
        framesReceived += spec.frameCount
        var final = max(samplesEmitted, cfg.frameStart(framesReceived))
        if let length { final = min(final, length) }
        return emit(count: final - samplesEmitted)
    }

    /// Sets the total output length once it is known (e.g. when the input ends), so that frames pushed after this
    /// never emit samples past it.
    public func limit(length newLength: Int) {
        precondition(newLength >= samplesEmitted, "length \(newLength) is shorter than what was already emitted")
        length = newLength
    }

    /// Emits the rest, up to `length` (the init's if given, else this one's).
    public func finish(length finalLength: Int? = nil) -> AudioBuffer {
        precondition(!finished, "finish called twice")
        finished = true
        guard let total = length ?? finalLength else { preconditionFailure("the output length is unknown") }
        precondition(total >= samplesEmitted, "length \(total) is shorter than what was already emitted")
        grow(to: total - samplesEmitted)
        return emit(count: total - samplesEmitted)
    }

    private func grow(to count: Int) {
        let extra = count - accumulators[0].count
        guard extra > 0 else { return }
        for c in 0..<channelCount { accumulators[c].append(contentsOf: repeatElement(0, count: extra)) }
    }

    private func emit(count: Int) -> AudioBuffer {
        // Samples being emitted are covered only by frames already received.
        var env = [Float](repeating: 0, count: count)
        env.withUnsafeMutableBufferPointer { envelope.fill($0, first: samplesEmitted, frameCount: framesReceived) }
        var out = [[Float]]()
        for c in 0..<channelCount {
            var y = Array(accumulators[c][0..<count])
            y.withUnsafeMutableBufferPointer { yp in
                env.withUnsafeBufferPointer { e in normalize(yp, by: e) }
            }
            out.append(y)
            accumulators[c].removeFirst(count)
        }
        samplesEmitted += count
        return AudioBuffer(channels: out, sampleRate: sampleRate)
    }
}
