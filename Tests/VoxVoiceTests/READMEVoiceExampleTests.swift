import Foundation
import XCTest
import VoxAudio
import VoxVoice

/// The README's VoxVoice example, run as written (on a synthetic voice instead of a file).
final class READMEVoiceExampleTests: XCTestCase {
    func testReadmeVoiceExample() throws {
        let take = AudioBuffer(channels: [harmonicTone(seconds: 0.5, sampleRate: 22050) { _ in 220 }], sampleRate: 22050)

        // --- README example begins ---
        // Analysis: F0 (with voicing and confidence), CheapTrick envelope, D4C band aperiodicity, 5 ms frames.
        let features = try VoiceAnalyzer().analyze(take)          // multichannel input: the mean of the channels
        print(features.frameCount, features.f0[50], features.confidence[50], features.envelope(frame: 50).count)

        // Edits at feature level: up a fifth keeping the formants, formants 10 % up, 20 % slower.
        let edited = features.shiftingPitch(semitones: 7).warpingFormants(ratio: 1.1).stretchingTime(ratio: 1.2)

        // Synthesis at any rate, exact duration (round(samples · 1.2) here).
        let voice = try Synthesizer().synthesize(edited, sampleRate: 44_100)

        // The F0 track alone (what `vox pitch` prints).
        let pitch = try PitchTracker().track(take)
        // --- README example ends ---

        XCTAssertEqual(voice.frameCount, Int((Double(take.frameCount) * 1.2 * 44_100 / 22_050).rounded()))
        XCTAssertEqual(pitch.frameCount, features.frameCount)
    }
}
