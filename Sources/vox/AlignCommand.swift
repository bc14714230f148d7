import ArgumentParser
import Foundation
import VoxAudio
import VoxMix

struct AlignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "align",
        abstract: "Find the offset that lines a take up with a reference (e.g. the separated original vocal).",
        discussion: """
        Cross-correlates onset and energy envelopes (robust to a different voice), then refines on the waveforms to \
        a fraction of a sample when they are the same performance. Prints the offset to give the take in \
        `vox mix TAKE@offset=...ms`: negative when the take is late.
        """)

    @Argument(help: "The take to align.")
    var take: String

    @Option(help: "The reference to align to.")
    var to: String

    @Option(help: "Largest offset searched either way, in seconds.")
    var maxOffset: Double = 30

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        guard maxOffset > 0, maxOffset <= 600 else { throw AudioError(.invalidArgument, "--max-offset must be more than 0 and at most 600 seconds") }
        var options = AlignmentOptions()
        options.maximumOffsetSeconds = maxOffset
        let result = try Aligner.align(takePath: take, referencePath: to, options: options)
        if json {
            try printJSON(result)
        } else {
            let lag = result.lagMilliseconds
            let where_ = lag >= 0 ? String(format: "%.2f ms late", lag) : String(format: "%.2f ms early", -lag)
            print(String(format: "offset %.2f ms", result.offsetMilliseconds)
                  + "  (\(take) is \(where_); \(result.method) match, correlation "
                  + String(format: "%.2f", result.waveformCorrelation ?? result.envelopeCorrelation)
                  + String(format: "; mix it as %@@offset=%.2fms)", take, result.offsetMilliseconds))
        }
    }
}
