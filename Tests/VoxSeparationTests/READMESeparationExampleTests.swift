import Foundation
import XCTest
import VoxAudio
import VoxSeparation

/// The README's separation example, on a short file made here. Needs the installed model.
final class READMESeparationExampleTests: XCTestCase {
    func testREADMESeparationExampleRuns() throws {
        guard FileManager.default.fileExists(atPath: ModelStore.path(for: "spleeter-2stems")) else {
            throw XCTSkip("spleeter-2stems is not installed (bash tools/setup.sh installs it)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-readme-sep-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/stems", withIntermediateDirectories: true)
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        let tone = (0..<88200).map { Float(0.2 * sin(Double($0) * 0.05) + 0.1 * sin(Double($0) * 0.013)) }
        let song = AudioBuffer(channels: [tone, tone], sampleRate: 44100)
        try AudioFileWriter.write(song, to: "song.flac", format: try AudioFileFormat(container: .flac, encoding: .pcm16))

        // --- README ---
        let (model, path) = try ModelStore.load("spleeter-2stems")
        let estimator = try SpleeterMaskEstimator(model: model, band: .full,
                                                  windowFrames: Separator.seamlessWindowFrames, path: path)
        let separator = Separator(estimator: estimator, contextFrames: Separator.seamlessContextFrames,
                                  wienerIterations: 1)
        let stems = try separator.separate(song)
        _ = try separator.separateFile(inputPath: "song.flac", outputDirectory: "stems",
                                       format: try AudioFileFormat(container: .wav, encoding: .float32))
        // --- end ---
        XCTAssertEqual(Set(stems.keys), ["vocals", "accompaniment"])
        XCTAssertEqual(stems["vocals"]!.frameCount, song.frameCount)
        XCTAssertEqual(try AudioFileReader(path: "stems/vocals.wav").info.frameCount, Int64(song.frameCount))
        XCTAssertEqual(try AudioFileReader(path: "stems/accompaniment.wav").info.frameCount, Int64(song.frameCount))
    }
}
