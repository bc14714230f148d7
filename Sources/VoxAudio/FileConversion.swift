/// Streams one audio file into another: channel remix, sample-rate conversion and requantisation.
///
/// Memory is bounded by the block size whatever the file length. Integer output is dithered (TPDF) whenever the
/// samples are not already on the output grid: after resampling or remixing, or from a float, lossy or deeper
/// source. A failure at any point removes the partial output.
public struct FileConversion: Sendable {
    /// Output sample rate (Hz); nil keeps the input's.
    public var sampleRate: Int?
    /// Output channel count; nil keeps the input's.
    public var channelCount: Int?
    /// Output container and encoding; nil encoding picks the input's 16/24-bit depth, else 32-bit float for WAV
    /// and 24-bit for FLAC.
    public var container: AudioContainer
    public var encoding: SampleEncoding?
    /// Allow TPDF dither when requantising (default true).
    public var dither = true
    /// Frames per processing block.
    public var blockFrames = 1 << 16

    public init(container: AudioContainer, encoding: SampleEncoding? = nil, sampleRate: Int? = nil, channelCount: Int? = nil) {
        self.container = container
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.channelCount = channelCount
    }

    /// What a conversion did.
    public struct Summary: Sendable, Encodable {
        public var input: String
        public var output: String
        public var inputSampleRate: Int
        public var outputSampleRate: Int
        public var inputChannels: Int
        public var outputChannels: Int
        public var encoding: String
        public var container: String
        public var framesWritten: Int64
        public var dithered: Bool
        public var clippedSamples: Int
    }

    /// Converts `inputPath` to `outputPath`. `progress` receives (input frames read, input frames expected).
    public func run(inputPath: String, outputPath: String,
                    progress: (Int64, Int64) -> Void = { _, _ in }) throws -> Summary {
        if let r = sampleRate, !(1000...768_000).contains(r) {
            throw AudioError(.invalidArgument, "sample rate \(r) Hz is out of range (1000 to 768000)")
        }
        if let c = channelCount, !(1...64).contains(c) {
            throw AudioError(.invalidArgument, "channel count \(c) is out of range (1 to 64)")
        }
        let reader = try AudioFileReader(path: inputPath)
        let info = reader.info
        let outRate = sampleRate ?? info.sampleRate
        let outChannels = channelCount ?? info.channelCount
        let chosenEncoding = encoding ?? FileConversion.defaultEncoding(for: info, container: container)
        let format: AudioFileFormat
        do {
            format = try AudioFileFormat(container: container, encoding: chosenEncoding)
        } catch let error as AudioError {
            throw AudioError(error.kind, path: outputPath, error.message)
        }
        let resampler = outRate == info.sampleRate ? nil
            : try Resampler(inputRate: Double(info.sampleRate), outputRate: Double(outRate), channelCount: outChannels)
        let onGrid = !info.isLossy && !info.isFloat && (info.integerBits ?? 99) <= (chosenEncoding.integerBits ?? 0)
            && resampler == nil && outChannels == info.channelCount
        let useDither = dither && chosenEncoding.integerBits != nil && !onGrid
        let writer = try AudioFileWriter(path: outputPath, format: format, sampleRate: outRate, channelCount: outChannels,
                                         dither: useDither, inputs: [inputPath],
                                         expectedFrames: resampler?.expectedOutputFrames(forInputFrames: info.frameCount) ?? info.frameCount)
        do {
            while let block = try reader.read(maxFrames: blockFrames) {
                let mixed = ChannelMixer.remix(block, to: outChannels)
                try writer.write(resampler?.process(mixed) ?? mixed)
                progress(reader.framesRead, info.frameCount)
            }
            if let resampler { try writer.write(resampler.finish()) }
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        return Summary(input: inputPath, output: outputPath, inputSampleRate: info.sampleRate, outputSampleRate: outRate,
                       inputChannels: info.channelCount, outputChannels: outChannels, encoding: chosenEncoding.rawValue,
                       container: container.rawValue, framesWritten: writer.framesWritten, dithered: useDither,
                       clippedSamples: writer.clippedSamples)
    }

    /// The encoding a processed copy of `info`'s file gets when none is asked for: its 16/24-bit depth, else
    /// 32-bit float for WAV and 24-bit for FLAC.
    public static func defaultEncoding(for info: AudioFileInfo, container: AudioContainer) -> SampleEncoding {
        if info.integerBits == 16 { return .pcm16 }
        if info.integerBits == 24 { return .pcm24 }
        return container == .wav ? .float32 : .pcm24
    }
}
