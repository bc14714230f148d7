import ArgumentParser
import Foundation
import VoxAudio
import VoxSeparation

struct SeparateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separate",
        abstract: "Separate songs into stems (vocals / accompaniment).",
        discussion: """
        Writes DIR/<song name>/<stem>.wav (or .flac) with the input's length, rate and channels. The last stem is \
        the mixture minus the others, so the stems sum to the mixture exactly (float WAV output). Long files are \
        processed in bounded memory.

        Environment: on CPUs with AVX-512 the network's matrix products run on Vox's own kernel; \
        VOX_GEMM=openblas uses OpenBLAS instead (stems differ by at most about 2e-4). VOX_TRACE_SEPARATION=1 prints \
        per-stage timing to stderr.
        """)

    @Argument(help: "Song files.")
    var songs: [String]

    @Option(name: .shortAndLong, help: "Output folder (a sub-folder per song).")
    var output = "separated"

    @Option(help: "Model: an installed model name (spleeter-2stems), a .voxmodel path, or classic (no weights: repetition, percussion and panning cues).")
    var model = "spleeter-2stems"

    @Option(help: "full: masks extended above the model's band (11 kHz for Spleeter) and overlapping windows with context (no seams); spleeter: Spleeter's own behaviour (masks 0 above the band, hard 512-frame segments).")
    var band: String = "full"

    @Option(help: "EM iterations of the multichannel Wiener post-filter (0: soft masks only). Default 1: measured best on the dev songs (median SDR vocals/accompaniment 10.44/10.32 dB with 0, 10.69/10.30 with 1, 10.65/10.32 with 2).")
    var wiener = 1

    @Option(help: "Output format: wav (32-bit float) or flac (24-bit).")
    var format = "wav"

    @Flag(help: "Write the stems straight into the output folder, without a sub-folder per song (one song only).")
    var flat = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    func run() throws {
        guard let maskBand = MaskBand(rawValue: band) else { throw ValidationError("--band must be full or spleeter") }
        guard let container = AudioContainer(rawValue: format) else { throw ValidationError("--format must be wav or flac") }
        guard !flat || songs.count == 1 else { throw ValidationError("--flat takes exactly one song") }
        let fileFormat = try AudioFileFormat(container: container, encoding: container == .wav ? .float32 : .pcm24)
        guard (0...10).contains(wiener) else { throw ValidationError("--wiener must be 0…10") }
        let loadStart = Date()
        // Spleeter mode: its own 512-frame hard segments. Full mode: 2048-frame windows overlapping by 384 frames
        // with cross-faded masks: every mask frame has ≥ 192 frames (the deepest layer's reach) of context, so the
        // result hardly depends on where windows fall (46 dB SNR between grids shifted by 320 frames, 3-minute song).
        let (separator, path) = try makeSeparator(model: model, band: maskBand, wienerIterations: wiener)
        let estimator = separator.estimator
        let loadSeconds = Date().timeIntervalSince(loadStart)
        var summaries = [Separator.FileSummary]()
        var failures = 0
        for song in songs {
            let name = ((song as NSString).lastPathComponent as NSString).deletingPathExtension
            let dir = flat ? output : output + "/" + name
            do {
                _ = try AudioFileReader(path: song)  // fail on bad input before creating folders
                do {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                } catch {
                    throw AudioError(.unwritable, path: dir, "cannot create output folder: \(error.localizedDescription)")
                }
                let bar = ProgressBar(label: "separating \(name)", total: 1, quiet: progress.quiet || json)
                let start = Date()
                let summary = try separator.separateFile(inputPath: song, outputDirectory: dir, format: fileFormat) { done, total in
                    bar.update(Double(done) / Double(max(total, 1)))
                }
                bar.finish()
                summaries.append(summary)
                if !json && !progress.quiet {
                    let seconds = Date().timeIntervalSince(start)
                    FileHandle.standardError.write("\(song): \(estimator.stems.joined(separator: " + ")) → \(dir)/ (\(String(format: "%.1f", summary.seconds)) s of audio in \(String(format: "%.1f", seconds)) s, \(String(format: "%.0f", summary.seconds / max(seconds, 1e-9)))× real time)\n".data(using: .utf8)!)
                }
            } catch let error as AudioError {
                failures += 1
                FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
            }
        }
        if json {
            struct Report: Encodable { var model: String; var band: String; var modelLoadSeconds: Double; var songs: [Separator.FileSummary] }
            try printJSON(Report(model: path, band: band, modelLoadSeconds: loadSeconds, songs: summaries))
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// The separator of `vox separate` and `vox cover`: `model` is an installed model name, a .voxmodel path or
/// "classic"; band `.spleeter` gives Spleeter's own 512-frame hard segments, `.full` 2048-frame windows with 192
/// cross-faded context frames on each side. Returns it with where the model came from.
func makeSeparator(model: String, band: MaskBand, wienerIterations: Int) throws -> (Separator, modelPath: String) {
    let spleeterMode = band == .spleeter
    let estimator: MaskEstimator
    let path: String
    if model == "classic" {
        estimator = try ClassicMaskEstimator()
        path = "classic (built in)"
    } else {
        TransformWarmUp.start()  // FFTW plans on another core while the model loads
        let (m, p) = try ModelStore.load(model)
        estimator = try SpleeterMaskEstimator(model: m, band: band, windowFrames: spleeterMode ? nil : Separator.seamlessWindowFrames, path: p)
        path = p
    }
    let separator = Separator(estimator: estimator, contextFrames: spleeterMode ? 0 : Separator.seamlessContextFrames,
                              wienerIterations: wienerIterations)
    return (separator, path)
}
