import Foundation
import XCTest
import VoxAudio
import VoxMix

/// The README's `VoxMix` example (what `vox cover` does), on synthetic audio: it must compile and run.
final class READMEMixExampleTests: XCTestCase {
    func testREADMEMixExampleRuns() throws {
        let dir = try TestSignals.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let separatedVocals = TestSignals.voice(seconds: 3)
        let convertedTake = TestSignals.voice(seconds: 3, delay: 0.1373, harmonicTilt: 0.8)
        let accompaniment = TestSignals.drums(seconds: 3)

        // --- README ---
        let lag = try Aligner.align(take: convertedTake, reference: separatedVocals)       // AudioBuffers
        var options = MixOptions()                      // -14 LUFS, limiter at -1 dBTP, 24-bit WAV
        options.loudnessLUFS = -14
        let report = try Mixer.mix([
            MixTrack(source: .buffer(accompaniment, name: "accompaniment")),
            MixTrack(source: .buffer(convertedTake, name: "take"), gainDB: 0, offsetSeconds: lag.offsetMilliseconds / 1000),
        ], to: dir + "/cover.wav", options: options) { progress in /* stage, pass, fraction */ _ = progress }
        let m = try LoudnessMeter.measure(path: dir + "/cover.wav")
        // --- end ---

        XCTAssertEqual(lag.offsetMilliseconds, -137.3, accuracy: 1)
        XCTAssertEqual(report.tracks.count, 2)
        XCTAssertEqual(m.integratedLUFS, -14, accuracy: 0.05)
        XCTAssertLessThanOrEqual(m.truePeakDBTP, -1)
    }
}
