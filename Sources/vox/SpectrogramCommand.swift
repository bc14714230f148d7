import ArgumentParser
import Foundation
import VoxAudio
import VoxSpectral

struct SpectrogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrogram",
        abstract: "Draw a spectrogram PNG: dB colour map, time and frequency axes, colour bar.",
        discussion: "Channels are pooled by power. Works on any length in bounded memory.")

    @Argument(help: "Input audio file.")
    var input: String

    @Option(name: .shortAndLong, help: "Output PNG file.")
    var output: String

    @Flag(help: "Logarithmic frequency axis (30 Hz to Nyquist).")
    var logFrequency = false

    @Option(help: "Plot width in pixels.")
    var width = 1200

    @Option(help: "Plot height in pixels.")
    var height = 480

    @Option(help: "FFT size in samples.")
    var fft = 4096

    @Option(help: "Dynamic range of the colour map in dB.")
    var range = 90.0

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard (100...8000).contains(width), (100...4000).contains(height) else {
            throw ValidationError("--width must be 100…8000 and --height 100…4000")
        }
        guard (64...65536).contains(fft) else { throw ValidationError("--fft must be 64…65536") }
        guard range >= 10 && range <= 200 else { throw ValidationError("--range must be 10…200 dB") }
    }

    func run() throws {
        guard URL(fileURLWithPath: output).pathExtension.lowercased() == "png" else {
            throw AudioError(.unsupportedFormat, path: output, "the spectrogram is a PNG image: name the output .png")
        }
        try OutputPath.refuseInputs(output: output, inputs: [input])
        let reader = try AudioFileReader(path: input)
        let info = reader.info
        // About two frames per pixel column, never coarser than fft/4.
        let hop = max(16, min(fft / 4, Int(info.frameCount) / (2 * width)))
        let cfg = try STFTConfiguration(fftSize: fft, hopSize: hop)
        var options = SpectrogramImageOptions()
        options.plotWidth = width
        options.plotHeight = height
        options.logFrequency = logFrequency
        options.dynamicRangeDB = range
        options.title = URL(fileURLWithPath: input).lastPathComponent
        let builder = SpectrogramImageBuilder(configuration: cfg, sampleRate: Double(info.sampleRate),
                                              expectedFrames: cfg.frameCount(forSamples: Int(info.frameCount)), options: options)
        let stft = StreamingSTFT(configuration: cfg, channelCount: info.channelCount, sampleRate: Double(info.sampleRate))
        let bar = ProgressBar(label: "analysing", total: Double(info.frameCount), quiet: progress.quiet)
        while let block = try reader.read(maxFrames: 1 << 16) {
            builder.add(stft.push(block))
            bar.update(Double(reader.framesRead))
        }
        builder.add(stft.finish())
        bar.finish()
        let png = try builder.render().pngData()
        try OutputPath.writeAtomically(png, to: output)
    }
}
