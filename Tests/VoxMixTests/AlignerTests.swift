import Foundation
import XCTest
import VoxAudio
@testable import VoxMix

final class AlignerTests: XCTestCase {
    func addNoise(_ b: AudioBuffer, snrDB: Double, seed: UInt64 = 11) -> AudioBuffer {
        let power = b.channels[0].reduce(0) { $0 + Double($1 * $1) } / Double(b.frameCount)
        // Uniform noise in [-a, a) has power a²/3.
        let a = Float((power / pow(10, snrDB / 10) * 3).squareRoot())
        let n = TestSignals.noise(frames: b.frameCount, channels: 1, amplitude: a, seed: seed, rate: b.sampleRate)
        return AudioBuffer(channels: [zip(b.channels[0], n.channels[0]).map { $0 + $1 }], sampleRate: b.sampleRate)
    }

    /// The case: a take 137.3 ms late (6054.93 samples: not a whole number), with noise.
    func testFindsAKnownOffsetWithNoiseWithinAMillisecond() throws {
        let reference = TestSignals.voice(seconds: 4)
        let take = addNoise(TestSignals.voice(seconds: 4, delay: 0.1373), snrDB: 10)
        let r = try Aligner.align(take: take, reference: reference)
        XCTAssertEqual(r.lagMilliseconds, 137.3, accuracy: 1.0, "\(r)")
        XCTAssertEqual(r.offsetMilliseconds, -137.3, accuracy: 1.0)
        XCTAssertEqual(r.method, "waveform")
        // Sub-sample refinement does much better than the millisecond asked for.
        XCTAssertEqual(r.lagMilliseconds, 137.3, accuracy: 0.05, "\(r)")
    }

    func testEarlyTakeAtAnotherRateAndInStereo() throws {
        let reference = TestSignals.voice(seconds: 4)
        let mono = TestSignals.voice(seconds: 4, delay: -0.25, rate: 48000)
        let take = AudioBuffer(channels: [mono.channels[0], mono.channels[0]], sampleRate: 48000)
        let r = try Aligner.align(take: take, reference: reference)
        XCTAssertEqual(r.lagMilliseconds, -250, accuracy: 0.1, "\(r)")
    }

    /// Another timbre (another singer, a converted voice): the waveforms do not match, the envelopes still do.
    func testDifferentTimbreFallsBackToEnvelopes() throws {
        let reference = TestSignals.voice(seconds: 4, harmonicTilt: 0.6)
        let take = TestSignals.voice(seconds: 4, delay: 0.0807, harmonicTilt: 0.95)
        let r = try Aligner.align(take: addNoise(take, snrDB: 15), reference: reference)
        XCTAssertEqual(r.lagMilliseconds, 80.7, accuracy: 3, "\(r)")
    }

    func testRejectsSilenceAndTinyInputs() {
        let silence = AudioBuffer(frameCount: 44100, channelCount: 1, sampleRate: 44100)
        XCTAssertThrowsError(try Aligner.align(take: silence, reference: TestSignals.voice(seconds: 1)))
        XCTAssertThrowsError(try Aligner.align(take: TestSignals.voice(seconds: 0.01), reference: TestSignals.voice(seconds: 1)))
    }
}
