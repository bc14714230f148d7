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
        rate and length (.wav: 32-bit float, .flac: 24-bit).
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

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        if transpose != "auto" {
            guard let t = Double(transpose), (-36...36).contains(t) else { throw ValidationError("--transpose must be −36…36 semitones or auto") }
        }
        guard (0.5...2).contains(formantShift) else { throw ValidationError("--formant-shift must be 0.5…2") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be 0…1") }
    }

    struct Summary: Encodable {
        var input: String
        var output: String
        var voice: String
        var seconds: Double
        var sampleRate: Int
        var report: ConversionReport
        var wallSeconds: Double
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
            let audio = try AudioFileReader.read(path: take)
            var options = VoiceConversionOptions()
            options.formantRatio = formantShift
            options.strength = strength
            var converter = VoiceConverter(model: model, options: options)
            try applyTranspose(transpose, to: &converter)
            let result: (audio: AudioBuffer, report: ConversionReport)
            do { result = try converter.convert(audio) } catch let e as AudioError { throw AudioError(e.kind, path: take, e.message) }
            let container = AudioContainer(pathExtensionOf: out)!
            let format = try AudioFileFormat(container: container, encoding: container == .wav ? .float32 : .pcm24)
            let finished = try finalizeConvertedOutput(result.audio, take: take, model: model, report: result.report)
            let y = container == .flac ? scaledBelowFullScale(finished.audio) : finished.audio
            try AudioFileWriter.write(y, to: out, format: format, dither: container == .flac, inputs: [take, voice],
                                      metadata: finished.metadata)
            bar.update(Double(i + 1))
            summaries.append(Summary(input: take, output: out, voice: voice, seconds: audio.duration, sampleRate: Int(audio.sampleRate),
                                     report: result.report, wallSeconds: Date().timeIntervalSince(t0)))
        }
        bar.finish()
        if json {
            if several { try printJSON(summaries) } else { try printJSON(summaries[0]) }
        } else if !progress.quiet {
            for s in summaries { printConversion(s.report, input: s.input, output: s.output) }
        }
    }

    /// The one place every converted buffer passes through before it is written (see `markConvertedVocal`).
    func finalizeConvertedOutput(_ buffer: AudioBuffer, take: String, model: VoiceModel,
                                 report: ConversionReport) throws -> (audio: AudioBuffer, metadata: AudioMetadata) {
        let (audio, record) = try markConvertedVocal(buffer, take: take, model: model, watermark: !noWatermark)
        let base = AudioMetadata(title: URL(fileURLWithPath: take).deletingPathExtension().lastPathComponent,
                                 artist: model.name)
        return (audio, record.metadata(base: base))
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
    let modelID = "\(model.name)#\(model.fingerprint.combinedSHA256.prefix(12))"
    guard watermark else {
        return (buffer, ProvenanceRecord(containsSyntheticVoice: true, voiceModelID: modelID,
                                         consentSHA256: model.consent.statementSHA256, watermarked: false))
    }
    let payload = WatermarkPayload(voiceModel: WatermarkPayload.voiceModelNumber(forID: modelID))
    let marker = try Watermarker(payload: payload, sampleRate: buffer.sampleRate, channelCount: buffer.channelCount)
    var marked = AudioBuffer(frameCount: 0, channelCount: buffer.channelCount, sampleRate: buffer.sampleRate)
    marked.append(marker.push(buffer))
    marked.append(marker.finish())
    guard marker.markedFrames > 0 else {
        throw AudioError(.empty, path: take, "the converted vocal is silent: nothing to watermark")
    }
    return (marked, ProvenanceRecord(containsSyntheticVoice: true, voiceModelID: modelID,
                                     consentSHA256: model.consent.statementSHA256, watermarker: marker))
}

/// One conversion's report on stdout.
func printConversion(_ r: ConversionReport, input: String, output: String) {
    print("\(input) -> \(output): transpose \(r.transposeSemitones >= 0 ? "+" : "")\(Int(r.transposeSemitones)) semitones, "
          + String(format: "take %.0f-%.0f Hz, voice trained %.0f-%.0f Hz", r.takeP5Hz ?? 0, r.takeP95Hz ?? 0, r.trainedLowHz, r.trainedHighHz))
    if !r.notesOutsideRange.isEmpty {
        let list = r.notesOutsideRange.map { "\($0.note) (\(String(format: "%.2f", $0.seconds)) s, \($0.direction))" }.joined(separator: ", ")
        print(String(format: "  %.0f%% of the voiced time is outside the trained range: ", 100 * r.outsideFraction) + list)
    }
}
