import ArgumentParser
import Foundation
import VoxAudio
import VoxMix

struct LoudnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loudness",
        abstract: "Measure integrated loudness, loudness range, sample peak and true peak (ITU-R BS.1770-4, EBU R128).")

    @Argument(help: "Audio files.")
    var files: [String]

    @Flag(help: "Print JSON (an array, one object per file) instead of text.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    struct Report: Encodable {
        var path: String
        var integratedLUFS: Double?
        var loudnessRangeLU: Double?
        var samplePeakDBFS: Double?
        var truePeakDBTP: Double?
        var durationSeconds: Double?
        var error: String?
    }

    func run() throws {
        try reportEachFile(files, json: json, failed: { Report(path: $0, error: $1) }) { path in
            let reader = try AudioFileReader(path: path)
            let bar = ProgressBar(label: "measuring \(URL(fileURLWithPath: path).lastPathComponent)", total: 1,
                                  quiet: progress.quiet || json)
            let m = try LoudnessMeter.measure(reader: reader) { done, total in
                bar.update(Double(done) / Double(max(1, total)))
            }
            bar.finish()
            let r = Report(path: path, integratedLUFS: finiteOrNil(m.integratedLUFS), loudnessRangeLU: m.loudnessRangeLU.map { ($0 * 100).rounded() / 100 },
                           samplePeakDBFS: finiteOrNil(m.samplePeakDBFS), truePeakDBTP: finiteOrNil(m.truePeakDBTP),
                           durationSeconds: Double(m.frameCount) / Double(reader.info.sampleRate))
            if !json {
                func v(_ x: Double?, _ unit: String) -> String { x.map { String(format: "%.2f \(unit)", $0) } ?? "-inf \(unit)" }
                print("""
                \(path)
                  integrated:     \(r.integratedLUFS.map { String(format: "%.2f LUFS", $0) } ?? "-inf LUFS (below the -70 LUFS gate)")
                  loudness range: \(v(r.loudnessRangeLU, "LU"))
                  sample peak:    \(v(r.samplePeakDBFS, "dBFS"))
                  true peak:      \(v(r.truePeakDBTP, "dBTP"))
                """)
            }
            return r
        }
    }
}
