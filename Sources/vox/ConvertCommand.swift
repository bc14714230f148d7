import ArgumentParser
import Foundation
import VoxAudio
import VoxProvenance
import VoxVoice

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Turn a performance into a trained voice: pitch and phrasing from the take, timbre from the voice.",
        discussion: """
        The take's F0 contour (vibrato, slides) is kept frame for frame, shifted by --transpose semitones; `auto` \
        picks the whole-octave shift that best fits the voice's trained range, and the report names the notes that \
        fall outside it. Timbre comes from the voice model by frame retrieval (the nearest frames of the voice in a \
        speaker-normalised mel-cepstral space, averaged); level, timing and voicing come from the take. \
        --strength 0 resynthesises the take unchanged in timbre; --formant-shift scales the result's formants. \
        With several takes, -o is a folder and each output is named after its take. Outputs are mono at the take's \
        rate and length (.wav: 32-bit float, .flac: 24-bit). A take with no or under 5 % voiced frames (silence, \
        noise, a pure tone) still converts, with a warning on stderr and in the --json summary's `warnings`.
        """)

    @Argument(help: "Takes to convert (solo voice recordings).")
    var takes: [String]

    @Option(help: "Voice model (.voxvoice) from `vox voice train`.")
    var voice: String

    @Option(name: .shortAndLong, help: "Output file (one take) or folder (several takes).")
    var output: String

    @Option(parsing: .unconditional, help: "Transposition in semitones (−36…36), or `auto` (whole octaves towards the voice's range).")
    var transpose = "0"

    @Option(help: "Formant shift as a frequency ratio (0.5…2).")
    var formantShift = 1.0

    @Option(help: "Conversion strength, 0…1.")
    var strength = 1.0

    @Flag(help: "Do not watermark the converted vocal. Every output is watermarked by default; turning it off is recorded in the output's provenance metadata.")
    var noWatermark = false

    @Flag(help: "Print a JSON report on stdout.")
    var json = false

    @Option(help: ArgumentHelp("Frames per analysis block (tests: forces many small blocks).", visibility: .hidden))
    var blockFrames: Int?

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        if transpose != "auto" {
            guard let t = Double(transpose), (-36...36).contains(t) else { throw ValidationError("--transpose must be −36…36 semitones or auto") }
        }
        guard (0.5...2).contains(formantShift) else { throw ValidationError("--formant-shift must be 0.5…2") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be 0…1") }
        if let blockFrames { guard blockFrames >= 1 else { throw ValidationError("--block-frames must be at least 1") } }
    }

    struct Summary: Encodable {
        var input: String
        var output: String
        var voice: String
        var seconds: Double
        var sampleRate: Int
        var report: ConversionReport
        var wallSeconds: Double
        /// What the user should check (see `conversionWarnings`); empty when nothing is odd.
        var warnings: [String]
    }

    func run() throws {
        let several = takes.count > 1
        let outputs: [String] = try takes.map { take in
            guard several else { return output }
            let stem = URL(fileURLWithPath: take).deletingPathExtension().lastPathComponent
            return URL(fileURLWithPath: output).appendingPathComponent(stem + ".wav").path
        }
        if several {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            guard Set(outputs).count == outputs.count else {
                throw AudioError(.invalidArgument, path: output, "two takes have the same name; convert them separately")
            }
        }
        for out in outputs {
            guard AudioContainer(pathExtensionOf: out) != nil else { throw AudioError(.unsupportedFormat, path: out, "name the output .wav or .flac") }
            try OutputPath.refuseInputs(output: out, inputs: takes + [voice])
        }
        let model = try VoiceModelFile.read(path: voice)
        let bar = ProgressBar(label: "converting", total: Double(takes.count), quiet: progress.quiet || json)
        var summaries = [Summary]()
        for (i, (take, out)) in zip(takes, outputs).enumerated() {
            let t0 = Date()
            var options = VoiceConversionOptions()
            options.formantRatio = formantShift
            options.strength = strength
            var converter = VoiceConverter(model: model, options: options)
            try applyTranspose(transpose, to: &converter)
            let (report, info) = try convertStreaming(converter, take: take, to: out)
            bar.update(Double(i + 1))
            let warnings = reportConversionWarnings(report, take: take, quiet: progress.quiet)
            summaries.append(Summary(input: take, output: out, voice: voice, seconds: Double(info.frames) / Double(info.rate),
                                     sampleRate: info.rate, report: report, wallSeconds: Date().timeIntervalSince(t0),
                                     warnings: warnings))
        }
        bar.finish()
        if json {
            if several { try printJSON(summaries) } else { try printJSON(summaries[0]) }
        } else if !progress.quiet {
            for s in summaries { printConversion(s.report, input: s.input, output: s.output) }
        }
    }

    /// Streams one take through the converter into `out`: the converted samples are watermarked as they come
    /// (unless --no-watermark) and written with the provenance record; a FLAC output is staged as a float WAV and
    /// scaled below full scale once the peak is known (as `vox resynth`). Returns the report, and the take's
    /// length (frames) and rate.
    func convertStreaming(_ converter: VoiceConverter, take: String, to out: String) throws -> (ConversionReport, (frames: Int, rate: Int)) {
        let model = converter.model
        let rate = try AudioFileReader(path: take).info.sampleRate
        let container = AudioContainer(pathExtensionOf: out)!
        let (marker, record) = try convertedVocalProvenance(model: model, sampleRate: Double(rate), watermark: !noWatermark)
        let base = AudioMetadata(title: URL(fileURLWithPath: take).deletingPathExtension().lastPathComponent, artist: model.name)
        let metadata = record.metadata(base: base)
        let floatWAV = try AudioFileFormat(container: .wav, encoding: .float32)
        let stage = container == .wav ? out : try OutputPath.temporarySibling(of: out)
        defer { if stage != out { unlink(stage) } }
        let writer = try AudioFileWriter(path: stage, format: floatWAV, sampleRate: rate, channelCount: 1, inputs: [take, voice],
                                         metadata: container == .wav ? metadata : nil)
        var peak: Float = 0, frames = 0
        func write(_ y: AudioBuffer) throws {
            for v in y.channels[0] { peak = max(peak, abs(v)) }
            frames += y.frameCount
            try writer.write(y)
        }
        let report: ConversionReport
        do {
            var streaming = StreamingAnalysisOptions()
            if let blockFrames { streaming.blockFrames = blockFrames }
            report = try converter.convert(path: take, streaming: streaming) { y in
                let block = AudioBuffer(channels: [y], sampleRate: Double(rate))
                try write(marker?.push(block) ?? block)
            }
        } catch let e as AudioError where e.path == nil { throw AudioError(e.kind, path: take, e.message) }
        if let marker {
            try write(marker.finish())
            guard marker.markedFrames > 0 else {
                throw AudioError(.empty, path: take, "the converted vocal is silent: nothing to watermark")
            }
        }
        try writer.finish()
        if container == .flac { try writeStagedFLAC(stage: stage, to: out, peak: peak, inputs: [take, voice], metadata: metadata) }
        return (report, (frames, rate))
    }
}

/// Sets `--transpose` (semitones, or `auto`) on a converter.
/// - Throws: `.invalidArgument` for anything else.
func applyTranspose(_ value: String, to converter: inout VoiceConverter) throws {
    if value == "auto" {
        converter.options.transposeAutomatically = true
    } else if let n = Double(value), (-36...36).contains(n) {
        converter.options.transposeSemitones = n
    } else {
        throw AudioError(.invalidArgument, "--transpose must be −36…36 semitones or auto, not '\(value)'")
    }
}

/// Watermarks a converted vocal (unless `watermark` is false) and returns it with its provenance record: synthetic
/// voice, voice-model id (`name#` + training fingerprint prefix), consent hash, and the key and payload (the model's
/// 16-bit number and the day) of the mark, or `watermarked: false` when it was turned off.
/// - Throws: `.empty` when the vocal is digitally silent (no mark can hide in it).
func markConvertedVocal(_ buffer: AudioBuffer, take: String, model: VoiceModel,
                        watermark: Bool) throws -> (audio: AudioBuffer, record: ProvenanceRecord) {
    let (marker, record) = try convertedVocalProvenance(model: model, sampleRate: buffer.sampleRate, watermark: watermark,
                                                        channelCount: buffer.channelCount)
    guard let marker else { return (buffer, record) }
    var marked = AudioBuffer(frameCount: 0, channelCount: buffer.channelCount, sampleRate: buffer.sampleRate)
    marked.append(marker.push(buffer))
    marked.append(marker.finish())
    guard marker.markedFrames > 0 else {
        throw AudioError(.empty, path: take, "the converted vocal is silent: nothing to watermark")
    }
    return (marked, record)
}

/// The watermark embedder (nil when `watermark` is false) and provenance record of a converted vocal: synthetic
/// voice, voice-model id (`name#` + training fingerprint prefix), consent hash, and the key and payload (the
/// model's 16-bit number and the day) of the mark, or `watermarked: false`.
func convertedVocalProvenance(model: VoiceModel, sampleRate: Double, watermark: Bool,
                              channelCount: Int = 1) throws -> (marker: Watermarker?, record: ProvenanceRecord) {
    let modelID = "\(model.name)#\(model.fingerprint.combinedSHA256.prefix(12))"
    guard watermark else {
        return (nil, ProvenanceRecord(containsSyntheticVoice: true, voiceModelID: modelID,
                                      consentSHA256: model.consent.statementSHA256, watermarked: false))
    }
    let payload = WatermarkPayload(voiceModel: WatermarkPayload.voiceModelNumber(forID: modelID))
    let marker = try Watermarker(payload: payload, sampleRate: sampleRate, channelCount: channelCount)
    return (marker, ProvenanceRecord(containsSyntheticVoice: true, voiceModelID: modelID,
                                     consentSHA256: model.consent.statementSHA256, watermarker: marker))
}

/// One conversion's report on stdout.
func printConversion(_ r: ConversionReport, input: String, output: String) {
    let take = r.takeP5Hz.map { String(format: "take %.0f-%.0f Hz", $0, r.takeP95Hz ?? $0) } ?? "take unvoiced"
    print("\(input) -> \(output): transpose \(r.transposeSemitones >= 0 ? "+" : "")\(Int(r.transposeSemitones)) semitones, "
          + take + String(format: ", voice trained %.0f-%.0f Hz", r.trainedLowHz, r.trainedHighHz))
    if !r.notesOutsideRange.isEmpty {
        let list = r.notesOutsideRange.map { "\($0.note) (\(String(format: "%.2f", $0.seconds)) s, \($0.direction))" }.joined(separator: ", ")
        print(String(format: "  %.0f%% of the voiced time is outside the trained range: ", 100 * r.outsideFraction) + list)
    }
}

/// A take that is hardly voiced converts without error but keeps little of the voice: the mapping that carries
/// the voice's timbre works on voiced frames, and the rest keep the take's noise in the voice's spectrum. Silence,
/// a pure tone (no harmonics) or an instrument line lands here; the warning says so instead of a quiet odd result.
func conversionWarnings(_ r: ConversionReport) -> [String] {
    if r.voicedFraction == 0 {
        return ["no voiced frames: nothing sung or spoken was found (silence, a pure tone, noise?), so the output has "
                + "no pitch and little of the voice"]
    }
    if r.voicedFraction < 0.05 {
        return [String(format: "only %.1f%% of the take is voiced: is it a solo voice recording?", 100 * r.voicedFraction)]
    }
    return []
}

/// `conversionWarnings` of one take, each also written to stderr as `warning: TAKE: …` unless `quiet`
/// (`vox convert` and `vox cover`).
func reportConversionWarnings(_ r: ConversionReport, take: String, quiet: Bool) -> [String] {
    let warnings = conversionWarnings(r)
    if !quiet {
        for w in warnings { FileHandle.standardError.write("warning: \(take): \(w)\n".data(using: .utf8)!) }
    }
    return warnings
}
