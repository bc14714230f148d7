import Foundation
import XCTest
@testable import VoxVoice

/// F0 under low-frequency disturbances that are periodic to the difference function: rumble between words (the
/// voice-range prior) and mains hum under the voice (the hum notches).
final class PitchTrackerNoiseTests: XCTestCase {
    let rate = 16000.0

    /// Narrow-band noise: `count` sinusoids 1 Hz apart from `lowHz`, deterministic pseudo-random phases, RMS `rms`.
    func bandNoise(_ n: Int, lowHz: Double, count: Int, rms: Double) -> [Float] {
        let phases = whiteNoise(count, amplitude: Float.pi)
        let a = rms * (2 / Double(count)).squareRoot()
        return (0..<n).map { i in
            let t = Double(i) / rate
            var v = 0.0
            for k in 0..<count { v += sin(2 * .pi * (lowHz + Double(k)) * t + Double(phases[k])) }
            return Float(a * v)
        }
    }

    func rms(_ x: [Float]) -> Double { (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot() }

    func testRumbleBetweenWordsIsNotTheF0() throws {
        // A 200 Hz voice, a 0.4 s pause, the voice again; 55–85 Hz rumble 30 dB below the voice throughout. With the
        // vocoder's liberal voicing the pause was voiced at the rumble's 57–82 Hz (LibriSpeech 1998 between words).
        let n = Int(1.2 * rate)
        let voice = harmonicTone(seconds: 1.2, sampleRate: rate) { t in t < 0.4 || t >= 0.8 ? 200 : 0 }
        let rumble = bandNoise(n, lowHz: 55, count: 31, rms: rms(voice) * pow(10, -30.0 / 20))
        let x = (0..<n).map { voice[$0] + rumble[$0] }
        var o = PitchTrackerOptions()
        o.voicedOdds = 100
        let track = try PitchTracker(options: o).track(samples: x, sampleRate: rate)
        let pause = (0..<track.frameCount).filter { (0.45...0.75).contains(track.time(ofFrame: $0)) }
        let low = pause.filter { track.f0[$0] > 0 && track.f0[$0] < 141 }
        XCTAssertEqual(low.count, 0, "pause frames voiced at the rumble: \(low.map { track.f0[$0] })")
        for segment in [0.05...0.35, 0.85...1.15] {
            let f = (0..<track.frameCount).filter { segment.contains(track.time(ofFrame: $0)) }.map { Double(track.f0[$0]) }
            XCTAssertTrue(f.allSatisfy { $0 > 0 && abs(cents($0, 200)) < 50 }, "segment \(segment)")
        }
    }

    func testHumUnderTheVoiceIsNotTheF0() throws {
        // 60 Hz mains hum 10 dB below a 200 Hz voice, in the voice's syllables and the pauses between them: the
        // difference function dipped at a compromise of voice and hum periods (63 Hz) throughout the syllables.
        let n = Int(3.0 * rate)
        let voice = harmonicTone(seconds: 3.0, sampleRate: rate) { t in (0.5..<1.2).contains(t) || (1.8..<2.5).contains(t) ? 200 : 0 }
        let voiceRMS = rms(Array(voice[Int(0.5 * rate)..<Int(1.2 * rate)]))
        let humAmplitude = voiceRMS * pow(10, -10.0 / 20) * 2.0.squareRoot()
        let x = (0..<n).map { voice[$0] + Float(humAmplitude * sin(2 * .pi * 60 * Double($0) / rate)) }
        for odds in [1.0, 100.0] {
            var o = PitchTrackerOptions()
            o.voicedOdds = odds
            let track = try PitchTracker(options: o).track(samples: x, sampleRate: rate)
            for segment in [0.6...1.1, 1.9...2.4] {
                let f = (0..<track.frameCount).filter { segment.contains(track.time(ofFrame: $0)) }.map { Double(track.f0[$0]) }
                let right = f.filter { $0 > 0 && abs(cents($0, 200)) < 50 }.count
                XCTAssertGreaterThan(Double(right) / Double(f.count), 0.95, "voiced odds \(odds), segment \(segment): \(f.prefix(8))")
            }
        }
    }

    func testHeldNoteIsNotTakenForHum() throws {
        // A 3 s note held throughout (no quiet frames): it is stationary, but with nothing quieter around it the
        // hum detector must not notch it away.
        let x = harmonicTone(seconds: 3.0, sampleRate: rate) { _ in 110 }
        XCTAssertEqual(HumFilter().tones(x, rate: rate), [])
        let track = try PitchTracker().track(samples: x, sampleRate: rate)
        let f = (0..<track.frameCount).filter { (0.1...2.9).contains(track.time(ofFrame: $0)) }.map { Double(track.f0[$0]) }
        XCTAssertTrue(f.allSatisfy { $0 > 0 && abs(cents($0, 110)) < 20 })
    }
}
