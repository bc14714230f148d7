import ArgumentParser
import Foundation
import VoxAudio

struct ConvertFormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-format",
        abstract: "Resample, remix channels and requantise an audio file (WAV or FLAC output).",
        discussion: """
        The output container comes from --format or OUT's extension (.wav, .flac). Integer output is dithered \
        (TPDF) whenever samples are requantised; a file copied at the same or a greater bit depth stays bit-exact.
        """)

    @Argument(help: "Input audio file.")
    var input: String

    @Argument(help: "Output file (.wav or .flac); never the input.")
    var output: String

    @Option(help: "Output sample rate in Hz (default: the input's).")
    var rate: Int?

    @Option(help: "Output channel count (default: the input's). Down-mixes average; 5.1 to stereo uses ITU-R BS.775.")
    var channels: Int?

    @Option(help: "Output sample format: 16, 24 or 32f (float; WAV only). Default: the input's 16/24-bit depth, else 32f for WAV and 24 for FLAC.")
    var bits: String?

    @Option(help: "Output container: wav or flac (default: from the output's extension).")
    var format: String?

    @Flag(help: "Never dither (plain rounding) when requantising.")
    var noDither = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    func run() throws {
        var conversion = FileConversion(container: try resolveContainer(output: output, format: format))
        if let bits {
            guard let e = SampleEncoding(rawValue: bits) else {
                throw ValidationError("--bits must be 16, 24 or 32f, not '\(bits)'")
            }
            conversion.encoding = e
        }
        conversion.sampleRate = rate
        conversion.channelCount = channels
        conversion.dither = !noDither
        let bar = ProgressBar(label: "converting", total: 1, quiet: progress.quiet)
        let summary = try conversion.run(inputPath: input, outputPath: output) { done, total in
            bar.update(Double(done) / Double(max(total, 1)))
        }
        bar.finish()
        if json {
            try printJSON(summary)
        } else if !progress.quiet {
            var line = "\(summary.output): \(summary.container.uppercased()) \(summary.encoding == "32f" ? "float 32-bit" : summary.encoding + "-bit"), "
                + "\(summary.outputSampleRate) Hz, \(summary.outputChannels) ch, \(summary.framesWritten) frames"
            if summary.dithered { line += ", TPDF dither" }
            if summary.clippedSamples > 0 { line += ", \(summary.clippedSamples) samples clipped" }
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
    }
}

/// The container for `output`: `--format` if given, else its extension.
func resolveContainer(output: String, format: String?) throws -> AudioContainer {
    if let format {
        guard let c = AudioContainer(rawValue: format.lowercased()) else {
            throw AudioError(.unsupportedFormat, path: output, "unsupported output format '\(format)': Vox writes wav and flac")
        }
        return c
    }
    guard let c = AudioContainer(pathExtensionOf: output) else {
        let ext = URL(fileURLWithPath: output).pathExtension
        throw AudioError(.unsupportedFormat, path: output,
                         ext.isEmpty ? "no extension: name the output .wav or .flac, or pass --format"
                                     : "unsupported output format '.\(ext)': Vox writes .wav and .flac")
    }
    return c
}
