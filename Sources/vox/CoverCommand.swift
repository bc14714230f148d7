import ArgumentParser
import Foundation
import VoxAudio
import VoxMix
import VoxProvenance
import VoxSeparation
import VoxVoice

/// `vox cover`: the whole workflow in one command.
///
/// Stages: separate the song (Spleeter 2stems, full band, as `vox separate`) → convert the take into the voice
/// (as `vox convert`, watermarked) → align the take to the song's original vocal (onset envelopes, then waveform) →
/// mix the converted vocal over the accompaniment at that offset → loudness to the target with the true-peak
/// limiter → write with the provenance record. The song and take are held in memory (songs are minutes long).
struct CoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cover",
        abstract: "Make a cover: separate a song, convert a new take into a trained voice, align it and mix it over the accompaniment.")

    @Argument(help: "The song (any format Vox reads).")
    var song: String

    @Option(help: "The new vocal performance to put in place of the original vocal.")
    var take: String

    @Option(help: "Voice model (.voxvoice) from `vox voice train`.")
    var voice: String

    @Option(name: .shortAndLong, help: "Output file (.wav or .flac).")
    var output: String

    @Option(parsing: .unconditional, help: "Transposition of the take in semitones, or `auto` (whole octaves towards the voice's range).")
    var transpose = "auto"

    @Option(parsing: .unconditional, help: "Gain of the converted vocal in the mix (dB; negative values need no `=`).")
    var vocalGain = 0.0

    @Option(parsing: .unconditional, help: "Integrated loudness target (LUFS), or off.")
    var loudness = "-14"

    @Option(help: "Separation model: spleeter-2stems (default), a .voxmodel path, or classic.")
    var model = "spleeter-2stems"

    @Option(help: "Also write the original vocal, the accompaniment and the converted vocal into this folder.")
    var keepStems: String?

    @Flag(help: "Do not watermark the converted vocal (recorded in the output's provenance metadata).")
    var noWatermark = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    struct Summary: Encodable {
        var song: String
        var take: String
        var voice: String
        var output: String
        var stageSeconds: [String: Double]
        var transposeSemitones: Double
        var alignment: AlignmentResult
        var loudnessLUFS: Double?
        var truePeakDBTP: Double?
        var provenance: ProvenanceRecord
        /// The take's conversion warnings (see `conversionWarnings`); empty when nothing is odd.
        var warnings: [String]
    }

    func run() throws {
        guard let container = AudioContainer(pathExtensionOf: output) else {
            throw AudioError(.unsupportedFormat, path: output, "name the output .wav or .flac")
        }
        try OutputPath.refuseInputs(output: output, inputs: [song, take, voice])
        let targetLUFS = try parseLoudnessTarget(loudness)
        if let dir = keepStems {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw AudioError(.fileNotFound, path: dir, "--keep-stems folder does not exist")
            }
        }
        // Load everything that can fail fast before the long stages.
        let voiceModel = try VoiceModelFile.read(path: voice)
        var converter = VoiceConverter(model: voiceModel)
        try applyTranspose(transpose, to: &converter)
        let takeAudio = try AudioFileReader.read(path: take)
        let songAudio = try AudioFileReader.read(path: song)
        var stageSeconds = [String: Double]()
        func stage<T>(_ name: String, _ work: () throws -> T) rethrows -> T {
            if !progress.quiet && !json { FileHandle.standardError.write("cover: \(name)…\n".data(using: .utf8)!) }
            let t0 = Date()
            let result = try work()
            stageSeconds[name] = Date().timeIntervalSince(t0)
            return result
        }

        // 1. Separation.
        let stems = try stage("separating") { () -> [String: AudioBuffer] in
            // As `vox separate` by default: full band, seamless windows, one Wiener iteration.
            try makeSeparator(model: model, band: .full, wienerIterations: 1).0.separate(songAudio)
        }
        guard let originalVocal = stems["vocals"], let accompaniment = stems.first(where: { $0.key != "vocals" })?.value else {
            throw AudioError(.invalidArgument, "the separation model has no vocals stem")
        }

        // 2. Conversion (watermarked).
        let (converted, report, record) = try stage("converting") { () -> (AudioBuffer, ConversionReport, ProvenanceRecord) in
            let result: (audio: AudioBuffer, report: ConversionReport)
            do { result = try converter.convert(takeAudio) } catch let e as AudioError { throw AudioError(e.kind, path: take, e.message) }
            let (marked, record) = try markConvertedVocal(result.audio, take: take, model: voiceModel, watermark: !noWatermark)
            return (marked, result.report, record)
        }

        let warnings = reportConversionWarnings(report, take: take, quiet: progress.quiet)

        // 3. Alignment of the take (its own timing is the converted vocal's) to the original vocal.
        let alignment = try stage("aligning") { try Aligner.align(take: takeAudio, reference: originalVocal) }

        // 4. Mix and finish.
        var options = MixOptions()
        options.sampleRate = Int(songAudio.sampleRate)
        options.frameCount = Int64(songAudio.frameCount)  // the song's length, whatever the take's
        options.channelCount = min(2, songAudio.channelCount)
        options.loudnessLUFS = targetLUFS
        if targetLUFS == nil { options.limiter = nil }
        options.format = try AudioFileFormat(container: container, encoding: .pcm24)
        var base = AudioMetadata(title: URL(fileURLWithPath: song).deletingPathExtension().lastPathComponent + " (cover)",
                                 artist: voiceModel.name)
        base.comment = "Cover of \(URL(fileURLWithPath: song).lastPathComponent) with the take \(URL(fileURLWithPath: take).lastPathComponent)."
        options.metadata = record.metadata(base: base)
        let tracks = [
            MixTrack(source: .buffer(accompaniment, name: "accompaniment")),
            MixTrack(source: .buffer(converted, name: "converted vocal"), gainDB: vocalGain,
                     offsetSeconds: alignment.offsetMilliseconds / 1000),
        ]
        let mix = try stage("mixing") { try Mixer.mix(tracks, to: output, options: options) }

        if let dir = keepStems {
            try stage("writing stems") {
                let float = try AudioFileFormat(container: .wav, encoding: .float32)
                try AudioFileWriter.write(originalVocal, to: dir + "/original-vocals.wav", format: float, inputs: [song, take])
                try AudioFileWriter.write(accompaniment, to: dir + "/accompaniment.wav", format: float, inputs: [song, take])
                try AudioFileWriter.write(converted, to: dir + "/converted-vocals.wav", format: float, inputs: [song, take],
                                          metadata: record.metadata())
            }
        }
        let summary = Summary(song: song, take: take, voice: voice, output: output, stageSeconds: stageSeconds,
                              transposeSemitones: report.transposeSemitones, alignment: alignment,
                              loudnessLUFS: mix.loudness?.integratedLUFS, truePeakDBTP: mix.loudness?.truePeakDBTP,
                              provenance: record, warnings: warnings)
        if json {
            try printJSON(summary)
        } else if !progress.quiet {
            let stages = ["separating", "converting", "aligning", "mixing"].compactMap { name in
                stageSeconds[name].map { "\(name) \(String(format: "%.1f", $0)) s" }
            }.joined(separator: ", ")
            print("\(output): \(stages)")
            print(String(format: "  take offset %+.1f ms (%@), transpose %+.0f semitones", alignment.offsetMilliseconds,
                         alignment.method, report.transposeSemitones))
            if let l = mix.loudness {
                print(String(format: "  loudness %.1f LUFS, true peak %.1f dBTP", l.integratedLUFS, l.truePeakDBTP))
            }
            print("  provenance: synthetic voice \(record.voiceModelID ?? "?"), watermark \(record.watermarked ? "on" : "off")")
        }
    }
}
