import ArgumentParser
import Foundation
import VoxAudio
import VoxVoice

struct ResynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resynth",
        abstract: "Analyse a voice and resynthesise it, optionally pitch-shifted (formants kept), formant-shifted or time-stretched.",
        discussion: """
        A WORLD-style vocoder: F0, spectral envelope (CheapTrick) and band aperiodicity (D4C), then pulse + noise \
        synthesis. --pitch-shift moves the notes and keeps the formants (the voice still sounds like itself); \
        --formant-shift scales the envelope's frequency axis (>1: smaller, brighter; <1: bigger, darker); \
        --time-stretch makes it R times as long with pitch kept. The output is mono (multichannel input is mixed \
        down), at the input's rate unless --sample-rate is given, and exactly R times the input's length.
        """)

    @Argument(help: "Input audio file (a solo voice or a vocal stem).")
    var input: String

    @Option(name: .shortAndLong, help: "Output file (.wav: 32-bit float, .flac: 24-bit).")
    var output: String

    @Option(parsing: .unconditional, help: "Pitch shift in semitones (−24…24; negative values need no `=`).")
    var pitchShift = 0.0

    @Option(help: "Formant shift as a frequency ratio (0.5…2).")
    var formantShift = 1.0

    @Option(help: "Time stretch ratio: output duration / input duration (0.25…4).")
    var timeStretch = 1.0

    @Option(help: "Output sample rate (Hz); default: the input's.")
    var sampleRate: Int?

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Option(help: ArgumentHelp("Frames per analysis block (tests: forces many small blocks).", visibility: .hidden))
    var blockFrames: Int?

    @Option(help: ArgumentHelp("Experiments: use this F0 track (CSV time_s,f0_hz,…; one row per frame, 0 = unvoiced) instead of the tracker's; whole-file analysis.", visibility: .hidden))
    var f0Csv: String?

    @Option(help: ArgumentHelp("Experiments: write the analysed features as raw float32 files PREFIX.{f0,sp,bap}.f32 (frames × bins).", visibility: .hidden))
    var featuresOut: String?

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard (-24...24).contains(pitchShift) else { throw ValidationError("--pitch-shift must be −24…24 semitones") }
        guard (0.5...2).contains(formantShift) else { throw ValidationError("--formant-shift must be 0.5…2") }
        guard (0.25...4).contains(timeStretch) else { throw ValidationError("--time-stretch must be 0.25…4") }
        if let sampleRate { guard (8000...384_000).contains(sampleRate) else { throw ValidationError("--sample-rate must be 8000…384000") } }
        if let blockFrames { guard blockFrames >= 1 else { throw ValidationError("--block-frames must be at least 1") } }
        if f0Csv != nil || featuresOut != nil, pitchShift != 0 || formantShift != 1 || timeStretch != 1 {
            throw ValidationError("--f0-csv and --features-out resynthesise without edits")
        }
    }

    struct Summary: Encodable {
        var input: String
        var output: String
        var inputSeconds: Double
        var outputSeconds: Double
        var sampleRate: Int
        var voicedFraction: Double
        var medianF0Hz: Double?
        var analysisSeconds: Double
        var synthesisSeconds: Double
    }

    /// Streams the input through analysis → edits → synthesis → writer in blocks, so memory stays bounded on any
    /// length. A FLAC output is first written as a float WAV next to it: a vocoder can overshoot full scale, and
    /// the whole output is scaled down once its peak is known.
    func run() throws {
        guard let container = AudioContainer(pathExtensionOf: output) else {
            throw AudioError(.unsupportedFormat, path: output, "name the output .wav or .flac")
        }
        try OutputPath.refuseInputs(output: output, inputs: [input])
        if f0Csv != nil || featuresOut != nil { return try runExperiment() }
        let reader = try AudioFileReader(path: input)
        let fs = Double(reader.info.sampleRate)
        let rate = Double(sampleRate ?? reader.info.sampleRate)
        var streaming = StreamingAnalysisOptions()
        if let blockFrames { streaming.blockFrames = blockFrames }
        let analyzer = try namingInput { try StreamingVoiceAnalyzer(sampleRate: fs, options: streaming) }
        let t0 = Date()
        // A first pass for the F0 tracker's silence gate (the whole file's loudest frame), as a whole-file analysis.
        try namingInput { try analyzer.measureLoudestFrame(path: input) }
        var analysisTime = Date().timeIntervalSince(t0), synthesisTime = 0.0
        let stretcher = timeStretch != 1 ? TimeStretcher(ratio: timeStretch) : nil
        let synthesizer = try StreamingSynthesizer(sampleRate: fs, framePeriod: analyzer.framePeriod, outputRate: rate)
        let floatWAV = try AudioFileFormat(container: .wav, encoding: .float32)
        let stage = container == .wav ? output : try OutputPath.temporarySibling(of: output)
        defer { if stage != output { unlink(stage) } }
        let expected = Int64(Double(reader.info.frameCount) * timeStretch * rate / fs) + 1
        let writer = try AudioFileWriter(path: stage, format: floatWAV, sampleRate: Int(rate), channelCount: 1,
                                         inputs: [input], expectedFrames: expected)
        let bar = ProgressBar(label: "resynthesising", total: Double(reader.info.frameCount), quiet: progress.quiet || json)
        var f0 = [Float]()   // for the summary: 4 bytes per 5 ms frame
        var peak: Float = 0

        func synthesize(_ block: VoiceFeatures?, finalCount: Int? = nil) throws {
            let t0 = Date()
            var y = [Float]()
            if let block {
                f0 += block.f0
                y = try synthesizer.push(block)
            }
            if let finalCount { y += try synthesizer.finish(sampleCount: finalCount) }
            synthesisTime += Date().timeIntervalSince(t0)
            for v in y { peak = max(peak, abs(v)) }
            try writer.write(AudioBuffer(channels: [y], sampleRate: rate))
        }
        func edit(_ blocks: [VoiceFeatures]) throws {
            for var b in blocks {
                if pitchShift != 0 { b = b.shiftingPitch(semitones: pitchShift) }
                if formantShift != 1 { b = b.warpingFormants(ratio: formantShift) }
                if let stretcher { b = stretcher.push(b) }
                try synthesize(b)
            }
        }
        func analyse(_ step: () throws -> [VoiceFeatures]) throws -> [VoiceFeatures] {
            let t0 = Date()
            defer { analysisTime += Date().timeIntervalSince(t0) }
            return try namingInput(step)
        }

        while let block = try reader.read(maxFrames: 1 << 15) {
            try edit(analyse { try analyzer.push(block) })
            bar.update(Double(reader.framesRead))
        }
        try edit(analyse { try analyzer.finish() })
        let inputCount = Int(reader.framesRead)
        if let stretcher {
            try synthesize(stretcher.finish(sampleCount: inputCount), finalCount: stretcher.stretchedSampleCount(inputCount))
        } else {
            try synthesize(nil, finalCount: inputCount)
        }
        try writer.finish()
        if container == .flac { try writeStagedFLAC(stage: stage, to: output, peak: peak, inputs: [input]) }
        bar.finish()
        if json {
            let voiced = f0.filter { $0 > 0 }.sorted()
            try printJSON(Summary(input: input, output: output, inputSeconds: Double(inputCount) / fs,
                                  outputSeconds: Double(writer.framesWritten) / rate, sampleRate: Int(rate),
                                  voicedFraction: Double(voiced.count) / Double(max(1, f0.count)),
                                  medianF0Hz: voiced.isEmpty ? nil : Double(voiced[voiced.count / 2]),
                                  analysisSeconds: analysisTime, synthesisSeconds: synthesisTime))
        }
    }

    /// Whole-file analysis with an optional external F0 track and a dump of the features (component-swap
    /// experiments against other vocoders, e.g. Vox's envelope with another tracker's F0); no edits.
    private func runExperiment() throws {
        let take = try AudioFileReader.read(path: input)
        let analyzer = VoiceAnalyzer()
        var track: PitchTrack?
        if let f0Csv {
            let rows = try String(contentsOfFile: f0Csv, encoding: .utf8).split(separator: "\n").dropFirst()
            let f0 = rows.compactMap { r in r.split(separator: ",").dropFirst().first.flatMap { Float($0) } }
            track = PitchTrack(framePeriod: analyzer.options.pitch.framePeriod, f0: f0, confidence: [Float](repeating: 1, count: f0.count))
        }
        let features = try namingInput { try analyzer.analyze(take, pitch: track) }
        if let featuresOut {
            func dump(_ v: [Float], _ ext: String) throws {
                try v.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: featuresOut + "." + ext))
            }
            try dump(features.f0, "f0.f32"); try dump(features.envelope, "sp.f32"); try dump(features.bandAperiodicity, "bap.f32")
        }
        let y = try Synthesizer().synthesize(features, sampleRate: Double(sampleRate ?? Int(take.sampleRate)))
        let writer = try AudioFileWriter(path: output, format: try AudioFileFormat(container: .wav, encoding: .float32),
                                         sampleRate: Int(y.sampleRate), channelCount: 1, inputs: [input])
        try writer.write(y)
        try writer.finish()
    }

    private func namingInput<T>(_ body: () throws -> T) throws -> T { try naming(input, body) }
}

/// Runs `body`, naming `path` in an `AudioError` that names no file (analysis errors of a command's input).
func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as AudioError where e.path == nil {
        throw AudioError(e.kind, path: path, e.message)
    }
}

/// A vocoder can overshoot its input's peak slightly. Integer files (FLAC) would clip, so a buffer whose peak is
/// above full scale is scaled down to it as a whole (float WAV keeps such peaks and is written unchanged).
func scaledBelowFullScale(_ buffer: AudioBuffer) -> AudioBuffer {
    scaledBelowFullScale(buffer, peak: buffer.channels.reduce(Float(0)) { m, c in c.reduce(m) { max($0, abs($1)) } })
}

/// A block of a longer output whose peak (`peak`, over the whole output) is known: scaled as the whole would be.
func scaledBelowFullScale(_ buffer: AudioBuffer, peak: Float) -> AudioBuffer {
    guard peak > 1 else { return buffer }
    return AudioBuffer(channels: buffer.channels.map { $0.map { $0 / peak } }, sampleRate: buffer.sampleRate)
}

/// Copies a staged float WAV (a vocoder's whole output, peak `peak`) to a 24-bit FLAC at `output`, scaled below
/// full scale as a whole (`scaledBelowFullScale`), with TPDF dither.
func writeStagedFLAC(stage: String, to output: String, peak: Float, inputs: [String], metadata: AudioMetadata? = nil) throws {
    let pcm24 = try AudioFileFormat(container: .flac, encoding: .pcm24)
    let staged = try AudioFileReader(path: stage)
    let flac = try AudioFileWriter(path: output, format: pcm24, sampleRate: staged.info.sampleRate, channelCount: 1,
                                   dither: true, inputs: inputs, metadata: metadata)
    while let block = try staged.read(maxFrames: 1 << 16) { try flac.write(scaledBelowFullScale(block, peak: peak)) }
    try flac.finish()
}
