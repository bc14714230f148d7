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
        var reports = [Report]()
        var failures = 0
        for path in files {
            do {
                let bar = ProgressBar(label: "measuring \(URL(fileURLWithPath: path).lastPathComponent)", total: 1,
                                      quiet: progress.quiet || json)
                var rate = 1.0
                let m = try LoudnessMeter.measure(path: path) { done, total in
                    bar.update(Double(done) / Double(max(1, total)))
                }
                bar.finish()
                rate = Double(try AudioFileReader(path: path).info.sampleRate)
                let r = Report(path: path, integratedLUFS: finiteOrNil(m.integratedLUFS), loudnessRangeLU: m.loudnessRangeLU.map { ($0 * 100).rounded() / 100 },
                               samplePeakDBFS: finiteOrNil(m.samplePeakDBFS), truePeakDBTP: finiteOrNil(m.truePeakDBTP),
                               durationSeconds: Double(m.frameCount) / rate)
                reports.append(r)
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
            } catch let error as AudioError {
                failures += 1
                reports.append(Report(path: path, error: error.message))
                FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
            }
        }
        if json { try printJSON(reports) }
        if failures > 0 { throw ExitCode(1) }
    }
}
