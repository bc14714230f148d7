import ArgumentParser
import Foundation
import VoxAudio
import VoxMix
import VoxProvenance

struct MixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mix",
        abstract: "Mix tracks into a finished file: resampling, panning, offsets, loudness, true-peak limiting, dither.",
        discussion: """
        Each TRACK is a file, optionally followed by settings: PATH@gain=-3dB,pan=-0.2,offset=120ms,mute \
        (offset in ms, s or smp; fractional samples are honoured; negative offsets cut the track's start). Tracks of \
        any rate and channel count are resampled (libsoxr) onto a stereo bus; mono tracks are panned with the \
        constant-power law, stereo tracks balanced. The bus's integrated loudness (ITU-R BS.1770-4) is brought to \
        --loudness and a 4x-oversampled look-ahead limiter holds the true peak at --true-peak; the loudness is \
        re-measured after limiting and the gain re-solved until it is within 0.02 LU. --loudness off sums the tracks \
        at unity with no limiter (unless --true-peak is given). 16/24-bit output gets TPDF dither unless every \
        sample is already on the grid. Long tracks are streamed in bounded memory.
        """)

    @Argument(help: "Tracks: PATH[@gain=DB,pan=P,offset=T,mute].")
    var tracks: [String]

    @Option(name: .shortAndLong, help: "Output file (.wav or .flac).")
    var output: String

    @Option(parsing: .unconditional, help: "Integrated loudness target in LUFS, or 'off' for unity gain.")
    var loudness: String = "-14"

    @Option(name: .customLong("true-peak"), parsing: .unconditional, help: "True-peak ceiling in dBTP (default -1 with a loudness target; 'off' for no limiter).")
    var truePeak: String?

    @Option(help: "Output sample rate in Hz (default: the first track's).")
    var rate: Int?

    @Option(help: "Output channels: 2 or 1.")
    var channels: Int = 2

    @Option(help: "Output sample format: 16, 24 or 32f (float; WAV only).")
    var bits: String = "24"

    @Flag(help: "With --loudness off and no --true-peak: skip measuring the output (loudness, range, true peak) for the summary.")
    var noMeasure = false

    @Flag(help: "Never dither (plain rounding) when quantising.")
    var noDither = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    func run() throws {
        var options = MixOptions()
        options.sampleRate = rate
        options.channelCount = channels
        options.dither = !noDither
        options.measuresOutput = !noMeasure
        guard let encoding = SampleEncoding(rawValue: bits) else {
            throw AudioError(.invalidArgument, "--bits must be 16, 24 or 32f, not '\(bits)'")
        }
        do {
            options.format = try AudioFileFormat(container: try resolveContainer(output: output, format: nil), encoding: encoding)
        } catch let error as AudioError {
            throw AudioError(error.kind, path: output, error.message)
        }
        options.loudnessLUFS = try parseLoudnessTarget(loudness)
        if options.loudnessLUFS == nil { options.limiter = nil }
        if let tp = truePeak {
            if tp.lowercased() == "off" {
                options.limiter = nil
            } else {
                guard let c = Double(tp) else {
                    throw AudioError(.invalidArgument, "--true-peak must be a number of dBTP (e.g. -1) or off, not '\(tp)'")
                }
                options.limiter = LimiterOptions(ceilingDBTP: c)
            }
        }
        let parsed = try tracks.map { try MixTrack(spec: $0, sampleRate: rate.map(Double.init)) }
        options.metadata = try mixProvenance(parsed).metadata()
        var bar: ProgressBar?
        var stage = ""
        let report = try Mixer.mix(parsed, to: output, options: options) { p in
            let label = p.stage == "mixing" ? "mixing" : p.pass > 1 ? "rendering (pass \(p.pass))" : "rendering"
            if label != stage {
                bar?.finish()
                bar = ProgressBar(label: label, total: 1, quiet: progress.quiet || json)
                stage = label
            }
            bar?.update(p.fraction)
        }
        bar?.finish()
        if json {
            try printJSON(report)
        } else if !progress.quiet {
            FileHandle.standardError.write((summaryLine(report) + "\n").data(using: .utf8)!)
        }
    }
}

/// One line on what a mix wrote: format, length, loudness, peaks, limiter, dither.
func summaryLine(_ r: MixReport) -> String {
    func f(_ v: Double, _ digits: Int = 1) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "-inf" }
    var line = "\(r.output): \(r.sampleRate) Hz, \(r.channels) ch, \(r.encoding == "32f" ? "float" : r.encoding + "-bit"), "
        + "\(formatTime(r.durationSeconds))"
    if let m = r.loudness {
        line += "; \(f(m.integratedLUFS, 2)) LUFS, true peak \(f(m.truePeakDBTP, 2)) dBTP"
        if let lra = m.loudnessRangeLU { line += ", LRA \(f(lra)) LU" }
    }
    if let target = r.targetLoudnessLUFS {
        line += "; gain \(f(r.gainDB, 2)) dB"
        if let m = r.loudness, abs(m.integratedLUFS - target) > 0.1 {
            line += " (the limiter could not reach \(f(target)) LUFS within \(r.passes) passes: raise --true-peak or lower --loudness)"
        }
    }
    if r.limitedFraction > 0 {
        line += ", limiter up to \(f(r.limiterMaxReductionDB)) dB on \(f(r.limitedFraction * 100)) % of frames"
    }
    if r.passes > 1 { line += ", \(r.passes) passes" }
    if r.dithered { line += ", TPDF dither" }
    if r.clippedSamples > 0 { line += ", \(r.clippedSamples) samples CLIPPED (lower the gain or use --true-peak)" }
    return line
}

/// The provenance of a mix: a synthetic voice in any unmuted input (as its own provenance record says) makes the
/// mix one too, carrying that input's voice model, consent hash and watermark facts.
func mixProvenance(_ tracks: [MixTrack]) throws -> ProvenanceRecord {
    for track in tracks where !track.muted {
        guard case .file(let path) = track.source, let record = try ProvenanceRecord.read(path: path),
              record.containsSyntheticVoice else { continue }
        var mixed = record
        mixed.tool = "Vox"
        mixed.toolVersion = VoxVersion.string
        mixed.created = ProvenanceRecord(containsSyntheticVoice: true, watermarked: record.watermarked).created
        return mixed
    }
    return ProvenanceRecord(containsSyntheticVoice: false, watermarked: false)
}
